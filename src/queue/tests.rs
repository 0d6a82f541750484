//! The queue against a small SMTP server that answers by recipient: retries,
//! giving up, DSNs, and where mail goes (MX, implicit MX, null MX).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::dsn::{self, Action};
use super::*;
use crate::dns::StaticZone;
use crate::smtp::Enhanced;
use crate::store::outbox::NewOutgoing;

/// A receiving server: RCPT TO a local part with "perm" gets 550, with "temp"
/// 451, with "flaky" 451 the first time only; everything else is taken.
/// Keeps the messages it took.
#[derive(Default)]
struct Receiver {
    flaky_seen: Mutex<bool>,
    taken: Mutex<Vec<(Vec<String>, String)>>,
}

impl Receiver {
    async fn start(self: &Arc<Self>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Arc::clone(self);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let receiver = Arc::clone(&receiver);
                tokio::spawn(async move { receiver.session(stream).await });
            }
        });
        port
    }

    fn rcpt_reply(&self, to: &str) -> &'static str {
        if to.contains("perm") {
            return "550-5.1.1 no such user\r\n550 5.1.1 here\r\n";
        }
        if to.contains("temp") {
            return "451 4.2.0 mailbox busy\r\n";
        }
        if to.contains("flaky") && !std::mem::replace(&mut *self.flaky_seen.lock().unwrap(), true) {
            return "451 4.3.0 try again\r\n";
        }
        "250 2.1.5 ok\r\n"
    }

    async fn session(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 receiver ESMTP\r\n").await;
        let mut rcpts = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply = match line.split(' ').next().unwrap_or("") {
                "EHLO" => "250-receiver\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n",
                "MAIL" => "250 2.1.0 ok\r\n",
                "RCPT" => {
                    let reply = self.rcpt_reply(&line);
                    if reply.starts_with('2') {
                        rcpts.push(line[9..].trim_end_matches('>').to_string());
                    }
                    reply
                }
                "DATA" if rcpts.is_empty() => "554 5.5.1 no valid recipients\r\n",
                "DATA" => {
                    let _ = write.write_all(b"354 go on\r\n").await;
                    let mut data = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        data.push_str(&l);
                        data.push('\n');
                    }
                    self.taken
                        .lock()
                        .unwrap()
                        .push((std::mem::take(&mut rcpts), data));
                    "250 2.0.0 taken\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                    return;
                }
                _ => "250 2.0.0 ok\r\n",
            };
            let _ = write.write_all(reply.as_bytes()).await;
        }
    }
}

/// DSNs for local senders, kept.
#[derive(Default)]
struct Reports(Mutex<Vec<(String, Vec<u8>)>>);

impl LocalMail for Reports {
    fn deliver_local(&self, to: &str, message: &[u8]) -> Result<bool, String> {
        self.0
            .lock()
            .unwrap()
            .push((to.to_string(), message.to_vec()));
        Ok(true)
    }
}

struct Setup {
    queue: Arc<Queue>,
    receiver: Arc<Receiver>,
    reports: Arc<Reports>,
    _dir: tempfile::TempDir,
}

async fn setup(config: QueueConfig) -> Setup {
    let receiver = Arc::new(Receiver::default());
    let port = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = Arc::new(Reports::default());
    let settings = Settings {
        hostname: "mail.example.org".into(),
        transport: Transport::Relay {
            host: "127.0.0.1".into(),
            port,
        },
        config,
        direct_port: 25,
        client_timeout: Some(Duration::from_secs(10)),
    };
    let outbox = Outbox::open(dir.path()).unwrap();
    let queue = Queue::new(
        outbox,
        settings,
        None,
        Arc::clone(&reports) as Arc<dyn LocalMail>,
    );
    tokio::spawn(Arc::clone(&queue).run());
    Setup {
        queue,
        receiver,
        reports,
        _dir: dir,
    }
}

fn quick() -> QueueConfig {
    QueueConfig {
        first_retry_seconds: 1,
        max_attempts: 3,
        delay_dsn_after: 1,
        ..QueueConfig::default()
    }
}

fn message(sender: &str, recipients: &[(&str, &str)]) -> NewOutgoing {
    NewOutgoing {
        account: "mjones".into(),
        sender: sender.into(),
        header_message_id: "<m1@example.org>".into(),
        recipients: recipients
            .iter()
            .map(|(address, params)| {
                let to = Address::parse(address, crate::leniency::Leniencies::PEDANTIC).unwrap();
                let mut p = RcptParams::default();
                for param in params.split_whitespace() {
                    let (k, v) = param.split_once('=').unwrap();
                    p.add(k, Some(v)).unwrap();
                }
                recipient(&to, &p)
            })
            .collect(),
        first_attempt: crate::message::now(),
        ..NewOutgoing::default()
    }
}

const DATA: &[u8] =
    b"From: mjones@example.org\r\nMessage-ID: <m1@example.org>\r\nSubject: hi\r\n\r\nhello\r\n";

/// Waits until the queue is empty (each attempt is bounded by the client's
/// timeout, so this ends).
async fn drained(queue: &Queue) {
    while !queue.outbox().list().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_recipient_delivered_and_one_refused_gives_a_failure_dsn_with_the_whole_reply() {
    let s = setup(quick()).await;
    let new = message(
        "mjones@example.org",
        &[("ok@example.net", ""), ("perm@example.net", "")],
    );
    s.queue.enqueue(&new, DATA).unwrap();
    drained(&s.queue).await;

    let taken = s.receiver.taken.lock().unwrap().clone();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0, ["ok@example.net"]);
    assert!(taken[0].1.contains("Subject: hi\n"));

    let retired = s.queue.outbox().retired().unwrap();
    let by_address = |a: &str| retired.iter().find(|r| r.address == a).unwrap().clone();
    assert!(by_address("ok@example.net").delivered);
    let perm = by_address("perm@example.net");
    assert!(!perm.delivered);
    assert!(
        perm.last_result.contains("550 5.1.1 no such user here"),
        "{}",
        perm.last_result
    );

    let reports = s.reports.0.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "one DSN, for the refused recipient only");
    assert_eq!(reports[0].0, "mjones@example.org");
    let parsed = dsn::parse(&reports[0].1).unwrap();
    assert_eq!(parsed.recipients.len(), 1);
    let r = &parsed.recipients[0];
    assert_eq!(r.action, Action::Failed);
    assert_eq!(r.status, Enhanced(5, 1, 1));
    let text = String::from_utf8_lossy(&reports[0].1);
    assert!(
        text.contains("no such user") && text.contains("here"),
        "{text}"
    );
}

#[tokio::test]
async fn temporary_failures_are_retried_then_delayed_and_failed_dsns_go_out() {
    let s = setup(quick()).await;
    let new = message("mjones@example.org", &[("temp@example.net", "")]);
    s.queue.enqueue(&new, DATA).unwrap();
    drained(&s.queue).await;

    let retired = s.queue.outbox().retired().unwrap();
    assert_eq!(retired.len(), 1);
    assert_eq!((retired[0].delivered, retired[0].attempts), (false, 3));
    assert!(
        retired[0]
            .last_result
            .contains("giving up after 3 attempts")
    );
    let history = s.queue.outbox().history(retired[0].recipient).unwrap();
    assert_eq!(history.len(), 3);
    // Each retry waited twice as long as the one before: 1 s, then 2 s.
    assert!(
        history[1].0 - history[0].0 >= 1 && history[2].0 - history[1].0 >= 2,
        "{history:?}"
    );

    let reports = s.reports.0.lock().unwrap().clone();
    let actions: Vec<Action> = reports
        .iter()
        .map(|(_, m)| dsn::parse(m).unwrap().recipients[0].action)
        .collect();
    assert_eq!(actions, [Action::Delayed, Action::Failed]);
    let delayed = dsn::parse(&reports[0].1).unwrap();
    assert!(delayed.recipients[0].will_retry_until.is_some());
}

#[tokio::test]
async fn a_temporary_failure_then_success_and_notify_never_stays_quiet() {
    let s = setup(quick()).await;
    let new = message(
        "mjones@example.org",
        &[("flaky@example.net", "NOTIFY=NEVER")],
    );
    s.queue.enqueue(&new, DATA).unwrap();
    let bounce = message("", &[("perm@example.net", "")]);
    s.queue.enqueue(&bounce, DATA).unwrap();
    drained(&s.queue).await;

    let retired = s.queue.outbox().retired().unwrap();
    let flaky = retired
        .iter()
        .find(|r| r.address == "flaky@example.net")
        .unwrap();
    assert_eq!((flaky.delivered, flaky.attempts), (true, 2));
    assert_eq!(s.receiver.taken.lock().unwrap().len(), 1);
    assert!(
        s.reports.0.lock().unwrap().is_empty(),
        "no DSN for NOTIFY=NEVER or the null sender"
    );
}

#[tokio::test]
async fn success_is_reported_when_asked_and_the_receiver_does_not_do_dsn() {
    let s = setup(quick()).await;
    let new = message(
        "mjones@example.org",
        &[("ok@example.net", "NOTIFY=SUCCESS")],
    );
    s.queue.enqueue(&new, DATA).unwrap();
    drained(&s.queue).await;
    let reports = s.reports.0.lock().unwrap().clone();
    assert_eq!(reports.len(), 1);
    let parsed = dsn::parse(&reports[0].1).unwrap();
    assert_eq!(parsed.recipients[0].action, Action::Relayed);
}

#[tokio::test]
async fn mx_hosts_in_preference_order_implicit_mx_and_null_mx() {
    let zone = StaticZone::from_zone_file(
        "$ORIGIN example.\n\
         multi  MX 20 backup.example.\n\
         multi  MX 10 primary.example.\n\
         plain  A 192.0.2.1\n\
         nomail MX 0 .\n",
    )
    .unwrap();
    let hosts = mx::hosts(&zone, "multi.example").await.unwrap();
    assert_eq!(hosts.names, ["primary.example", "backup.example"]);
    assert!(!hosts.implicit);
    let hosts = mx::hosts(&zone, "plain.example").await.unwrap();
    assert_eq!(
        (hosts.names, hosts.implicit),
        (vec!["plain.example".to_string()], true)
    );
    let null = mx::hosts(&zone, "nomail.example").await.unwrap_err();
    assert_eq!((null.permanent, null.status), (true, Enhanced(5, 1, 10)));
    let missing = mx::hosts(&zone, "missing.example").await.unwrap_err();
    assert_eq!(
        (missing.permanent, missing.status),
        (true, Enhanced(5, 1, 2))
    );
    let literal = mx::hosts(&zone, "[IPv6:2001:db8::1]").await.unwrap();
    assert_eq!(literal.names, ["2001:db8::1"]);
}

#[tokio::test]
async fn direct_delivery_follows_the_mx_records() {
    let receiver = Arc::new(Receiver::default());
    let port = receiver.start().await;
    let zone = StaticZone::from_zone_file(
        "$ORIGIN example.\n\
         dest   MX 10 mx.dest.example.\n\
         mx.dest A 127.0.0.1\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        hostname: "mail.example.org".into(),
        transport: Transport::Direct,
        config: quick(),
        direct_port: port,
        client_timeout: Some(Duration::from_secs(10)),
    };
    let reports: Arc<dyn LocalMail> = Arc::new(Reports::default());
    let queue = Queue::new(
        Outbox::open(dir.path()).unwrap(),
        settings,
        Some(Arc::new(zone)),
        reports,
    );
    tokio::spawn(Arc::clone(&queue).run());
    queue
        .enqueue(
            &message("mjones@example.org", &[("ok@dest.example", "")]),
            DATA,
        )
        .unwrap();
    drained(&queue).await;
    let retired = queue.outbox().retired().unwrap();
    assert!(retired[0].delivered, "{}", retired[0].last_result);
    assert_eq!(
        queue.outbox().history(retired[0].recipient).unwrap()[0].1,
        "mx.dest.example"
    );
    assert_eq!(receiver.taken.lock().unwrap().len(), 1);
}

#[test]
fn notify_decides_which_dsns_are_sent() {
    use crate::smtp::Notify;
    assert!(report::wanted(None, Action::Failed) && report::wanted(None, Action::Delayed));
    assert!(!report::wanted(None, Action::Relayed));
    assert!(!report::wanted(Some(Notify::Never), Action::Failed));
    let success = Some(Notify::On {
        success: true,
        failure: false,
        delay: false,
    });
    assert!(report::wanted(success, Action::Relayed) && !report::wanted(success, Action::Failed));
}
