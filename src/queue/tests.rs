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
/// Keeps the messages it took. With `tls` it offers STARTTLS and then, with
/// `login`, AUTH PLAIN, and takes mail only after a login.
#[derive(Default)]
struct Receiver {
    flaky_seen: Mutex<bool>,
    taken: Mutex<Vec<(Vec<String>, String)>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    login: Option<(String, String)>,
    /// The user names that logged in.
    logins: Mutex<Vec<String>>,
}

/// One session's state: what the client did so far.
#[derive(Default)]
struct Session {
    encrypted: bool,
    user: Option<String>,
    rcpts: Vec<String>,
}

impl Receiver {
    async fn start(self: &Arc<Self>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Arc::clone(self);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let receiver = Arc::clone(&receiver);
                tokio::spawn(async move { receiver.session(Box::new(stream)).await });
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

    fn ehlo(&self, s: &Session) -> String {
        let mut lines = vec!["receiver", "PIPELINING"];
        if self.tls.is_some() && !s.encrypted {
            lines.push("STARTTLS");
        }
        if self.login.is_some() && s.encrypted {
            lines.push("AUTH PLAIN");
        }
        lines.push("ENHANCEDSTATUSCODES");
        let last = lines.len() - 1;
        let line =
            |(i, l): (usize, &&str)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' });
        lines.iter().enumerate().map(line).collect()
    }

    /// AUTH PLAIN with an initial response, checked against `login`.
    fn auth(&self, line: &str, s: &mut Session) -> &'static str {
        use base64::Engine;
        let decoded = line
            .strip_prefix("AUTH PLAIN ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default();
        let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        match (&self.login, parts.as_slice()) {
            (Some((user, pass)), [_, u, p]) if *u == user.as_bytes() && *p == pass.as_bytes() => {
                self.logins.lock().unwrap().push(user.clone());
                s.user = Some(user.clone());
                "235 2.7.0 welcome\r\n"
            }
            _ => "535 5.7.8 wrong\r\n",
        }
    }

    async fn session(&self, stream: Box<dyn crate::smtpclient::Stream>) {
        let mut io = BufReader::new(stream);
        let mut s = Session::default();
        let _ = io.write_all(b"220 receiver ESMTP\r\n").await;
        while let Some(line) = read_line(&mut io).await {
            let reply = match line.split(' ').next().unwrap_or("") {
                "EHLO" => self.ehlo(&s),
                "STARTTLS" => {
                    let _ = io.write_all(b"220 2.0.0 go ahead\r\n").await;
                    let config = Arc::clone(self.tls.as_ref().unwrap());
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    let Ok(tls) = acceptor.accept(io.into_inner()).await else {
                        return;
                    };
                    io = BufReader::new(Box::new(tls));
                    s.encrypted = true;
                    continue;
                }
                "AUTH" => self.auth(&line, &mut s).into(),
                "MAIL" if self.login.is_some() && s.user.is_none() => {
                    "530 5.7.0 log in first\r\n".into()
                }
                "RCPT" => {
                    let reply = self.rcpt_reply(&line);
                    if reply.starts_with('2') {
                        s.rcpts.push(line[9..].trim_end_matches('>').to_string());
                    }
                    reply.into()
                }
                "DATA" if s.rcpts.is_empty() => "554 5.5.1 no valid recipients\r\n".into(),
                "DATA" => {
                    let _ = io.write_all(b"354 go on\r\n").await;
                    let mut data = String::new();
                    while let Some(l) = read_line(&mut io).await {
                        if l == "." {
                            break;
                        }
                        data.push_str(&l);
                        data.push('\n');
                    }
                    self.taken
                        .lock()
                        .unwrap()
                        .push((std::mem::take(&mut s.rcpts), data));
                    "250 2.0.0 taken\r\n".into()
                }
                "QUIT" => {
                    let _ = io.write_all(b"221 2.0.0 bye\r\n").await;
                    return;
                }
                _ => "250 2.0.0 ok\r\n".into(),
            };
            let _ = io.write_all(reply.as_bytes()).await;
        }
    }

    /// The recipients of the messages taken, in order.
    fn recipients(&self) -> Vec<String> {
        let taken = self.taken.lock().unwrap();
        taken.iter().flat_map(|(rcpts, _)| rcpts.clone()).collect()
    }
}

/// A line without its CRLF; none at the end of the stream.
async fn read_line(io: &mut BufReader<Box<dyn crate::smtpclient::Stream>>) -> Option<String> {
    let mut line = String::new();
    match io.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
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
    let relay = Relay::opportunistic("127.0.0.1", port);
    let routes = Routes::all_through(Named {
        name: "test".into(),
        kind: "relay",
        transport: Transport::Relay(relay),
    });
    let (queue, reports, dir) = started(config, routes, None, 25);
    Setup {
        queue,
        receiver,
        reports,
        _dir: dir,
    }
}

/// A running queue with `routes`, MX records from `zone`, and direct delivery to
/// `direct_port`; its DSNs for local senders are kept.
fn started(
    config: QueueConfig,
    routes: Routes,
    zone: Option<StaticZone>,
    direct_port: u16,
) -> (Arc<Queue>, Arc<Reports>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let reports = Arc::new(Reports::default());
    let settings = Settings {
        hostname: "mail.example.org".into(),
        routes,
        config,
        direct_port,
        client_timeout: Some(Duration::from_secs(10)),
    };
    let resolver = zone.map(|z| Arc::new(z) as Arc<dyn crate::dns::Resolver>);
    let queue = Queue::new(
        Outbox::open(dir.path()).unwrap(),
        settings,
        resolver,
        Arc::clone(&reports) as Arc<dyn LocalMail>,
    );
    tokio::spawn(Arc::clone(&queue).run());
    (queue, reports, dir)
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
async fn mx_lookups_follow_cnames_for_the_domain_and_its_hosts() {
    let zone = StaticZone::from_zone_file(
        "$ORIGIN example.\n\
         alias     CNAME real.example.\n\
         real      MX 10 mx.real.example.\n\
         mx.real   CNAME box.example.\n\
         box       A 192.0.2.7\n\
         bare      CNAME box.example.\n",
    )
    .unwrap();
    // The domain's MX records through its CNAME (RFC 5321 5.1).
    let hosts = mx::hosts(&zone, "alias.example").await.unwrap();
    assert_eq!(
        (hosts.names, hosts.implicit),
        (vec!["mx.real.example".to_string()], false)
    );
    // An MX host that is an alias (RFC 2181 10.3 says not to, servers do it anyway).
    let addresses = mx::addresses(&zone, "mx.real.example").await.unwrap();
    assert_eq!(
        addresses,
        ["192.0.2.7".parse::<std::net::IpAddr>().unwrap()]
    );
    // No MX: the implicit MX is the name itself, its address through the CNAME.
    let hosts = mx::hosts(&zone, "bare.example").await.unwrap();
    assert_eq!(
        (hosts.names, hosts.implicit),
        (vec!["bare.example".to_string()], true)
    );
    let addresses = mx::addresses(&zone, "bare.example").await.unwrap();
    assert_eq!(addresses.len(), 1);
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
    let (queue, _, _dir) = started(quick(), Routes::default(), Some(zone), port);
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

/// The routes of a gannet.toml with `extra` (transports, routes) and of the
/// domains.toml `domains`, both in `dir`; certificates verify against `trusted`.
fn configured(dir: &std::path::Path, extra: &str, domains: &str, trusted: &[Vec<u8>]) -> Routes {
    let text = format!("hostname = \"mail.example.org\"\n{extra}");
    let config = crate::config::Config::from_text(dir, &text, domains).unwrap();
    let trusted: Vec<_> = trusted.iter().map(|c| c.clone().into()).collect();
    Routes::from_config(&config, &move || crate::tls::client_config(&trusted, None)).unwrap()
}

/// dest.example and other.example, both with their MX on loopback.
fn zone() -> StaticZone {
    StaticZone::from_zone_file(
        "$ORIGIN example.\n\
         dest     MX 10 mx.dest.example.\n\
         mx.dest  A 127.0.0.1\n\
         other    MX 10 mx.other.example.\n\
         mx.other A 127.0.0.1\n",
    )
    .unwrap()
}

/// Each attempt's host and result for the retired recipient `address`.
fn history(queue: &Queue, address: &str) -> Vec<(String, String)> {
    let retired = queue.outbox().retired().unwrap();
    let Some(r) = retired.iter().find(|r| r.address == address) else {
        panic!("{address} is not retired: {retired:?}");
    };
    let history = queue.outbox().history(r.recipient).unwrap();
    history
        .into_iter()
        .map(|(_, host, result)| (host, result))
        .collect()
}

fn hosts(queue: &Queue, address: &str) -> Vec<String> {
    history(queue, address)
        .into_iter()
        .map(|(host, _)| host)
        .collect()
}

/// A port on loopback where nothing listens.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_relay_route_takes_one_domain_while_another_goes_direct() {
    let (mx, smarthost) = (Arc::new(Receiver::default()), Arc::new(Receiver::default()));
    let mx_port = mx.start().await;
    let relay_port = smarthost.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gannet_toml = format!(
        r#"
        [transports.smarthost]
        kind = "relay"
        host = "127.0.0.1"
        port = {relay_port}

        [[routes]]
        to_domains = ["other.example"]
        transport = "smarthost"
        "#
    );
    let routes = configured(dir.path(), &gannet_toml, "", &[]);
    let (queue, _, _queue_dir) = started(quick(), routes, Some(zone()), mx_port);
    let to = [("ok@dest.example", ""), ("ok@other.example", "")];
    queue
        .enqueue(&message("mjones@example.org", &to), DATA)
        .unwrap();
    drained(&queue).await;

    assert_eq!(mx.recipients(), ["ok@dest.example"]);
    assert_eq!(smarthost.recipients(), ["ok@other.example"]);
    assert_eq!(hosts(&queue, "ok@dest.example"), ["mx.dest.example"]);
    assert_eq!(
        hosts(&queue, "ok@other.example"),
        ["127.0.0.1 via relay smarthost"]
    );
}

#[tokio::test]
async fn a_route_for_later_attempts_takes_over_after_a_failure() {
    let fallback = Arc::new(Receiver::default());
    let relay_port = fallback.start().await;
    let dir = tempfile::tempdir().unwrap();
    let gannet_toml = format!(
        r#"
        [transports.fallback]
        kind = "relay"
        host = "127.0.0.1"
        port = {relay_port}

        [[routes]]
        to_domains = ["dest.example"]
        min_attempt = 2
        transport = "fallback"
        "#
    );
    let routes = configured(dir.path(), &gannet_toml, "", &[]);
    // The MX host takes no connections.
    let mx_port = closed_port().await;
    let (queue, _, _queue_dir) = started(quick(), routes, Some(zone()), mx_port);
    let new = message("mjones@example.org", &[("ok@dest.example", "")]);
    queue.enqueue(&new, DATA).unwrap();
    drained(&queue).await;

    let history = history(&queue, "ok@dest.example");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].0, "mx.dest.example");
    assert!(
        history[0].1.starts_with(
            "temporary failure (4.4.1): connecting: connecting to mx.dest.example (127.0.0.1:"
        ),
        "{}",
        history[0].1
    );
    assert_eq!(history[1].0, "127.0.0.1 via relay fallback");
    assert!(
        history[1].1.starts_with("delivered: 250"),
        "{}",
        history[1].1
    );
    assert_eq!(fallback.recipients(), ["ok@dest.example"]);
}

/// A submission service on loopback with a certificate for "localhost" and the
/// login mjones@provider.example with `s3cret`; its certificate, for trusting.
async fn provider() -> (Arc<Receiver>, u16, Vec<u8>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cert = crate::tls::self_signed::load_or_generate(dir.path(), &["localhost"]).unwrap();
    let config = crate::tls::server_config_from_files(&cert.cert_file, &cert.key_file).unwrap();
    let trusted = crate::tls::read_chain(&cert.cert_file).unwrap()[0].to_vec();
    let receiver = Arc::new(Receiver {
        tls: Some(config),
        login: Some(("mjones@provider.example".into(), "s3cret".into())),
        ..Receiver::default()
    });
    let port = receiver.start().await;
    (receiver, port, trusted, dir)
}

/// The account mjones's mail goes out through the submission transport
/// "provider" at `port`, its password in the file provider.pass of `dir`.
fn submission_routes(dir: &std::path::Path, port: u16, password: &str, trusted: Vec<u8>) -> Routes {
    std::fs::write(dir.join("provider.pass"), format!("{password}\n")).unwrap();
    let gannet_toml = format!(
        r#"
        [transports.provider]
        kind = "submission"
        host = "localhost"
        port = {port}
        username = "mjones@provider.example"
        password_file = "provider.pass"
        "#
    );
    let domains_toml = r#"
        [domains."example.org"]

        [accounts.mjones]
        domain = "example.org"
        destinations = ["mjones"]

        [[accounts.mjones.routes]]
        transport = "provider"
    "#;
    configured(dir, &gannet_toml, domains_toml, &[trusted])
}

#[tokio::test]
async fn a_submission_transport_logs_in_over_verified_tls() {
    let (provider, port, trusted, _certs) = provider().await;
    let dir = tempfile::tempdir().unwrap();
    let routes = submission_routes(dir.path(), port, "s3cret", trusted);
    let (queue, _, _queue_dir) = started(quick(), routes, None, 25);
    let new = message("mjones@example.org", &[("ok@dest.example", "")]);
    queue.enqueue(&new, DATA).unwrap();
    drained(&queue).await;

    assert_eq!(
        *provider.logins.lock().unwrap(),
        ["mjones@provider.example"]
    );
    assert_eq!(provider.recipients(), ["ok@dest.example"]);
    assert_eq!(
        hosts(&queue, "ok@dest.example"),
        ["localhost via submission provider"]
    );
}

#[tokio::test]
async fn a_refused_login_is_retried_not_bounced() {
    let (provider, port, trusted, _certs) = provider().await;
    let dir = tempfile::tempdir().unwrap();
    let routes = submission_routes(dir.path(), port, "wrong", trusted);
    let config = QueueConfig {
        max_attempts: 2,
        ..quick()
    };
    let (queue, _, _queue_dir) = started(config, routes, None, 25);
    let new = message("mjones@example.org", &[("ok@dest.example", "")]);
    queue.enqueue(&new, DATA).unwrap();
    drained(&queue).await;

    let history = history(&queue, "ok@dest.example");
    assert_eq!(history.len(), 2, "{history:?}");
    for (_, result) in &history {
        assert!(
            result.starts_with(
                "temporary failure (5.7.8): AUTH: the server replied: 535 5.7.8 wrong"
            ),
            "{result}"
        );
    }
    assert!(
        history[1].1.ends_with("giving up after 2 attempts"),
        "{}",
        history[1].1
    );
    assert!(provider.taken.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_socks5_transport_delivers_to_the_mx_through_the_proxy() {
    use crate::socks5::{Target, mock};
    let mx = Arc::new(Receiver::default());
    let mx_port = mx.start().await;
    let proxy = Arc::new(mock::Proxy {
        login: Some(("gannet".into(), "pw".into())),
        ..mock::Proxy::default()
    });
    let proxy_port = proxy.start().await.port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("proxy.pass"), "pw").unwrap();
    let gannet_toml = format!(
        r#"
        [transports.outbound]
        kind = "socks5"
        host = "127.0.0.1"
        port = {proxy_port}
        username = "gannet"
        password_file = "proxy.pass"

        [[routes]]
        transport = "outbound"
        "#
    );
    let routes = configured(dir.path(), &gannet_toml, "", &[]);
    let (queue, _, _queue_dir) = started(quick(), routes, Some(zone()), mx_port);
    let new = message("mjones@example.org", &[("ok@dest.example", "")]);
    queue.enqueue(&new, DATA).unwrap();
    drained(&queue).await;

    assert_eq!(mx.recipients(), ["ok@dest.example"]);
    let mx_address = std::net::SocketAddr::from(([127, 0, 0, 1], mx_port));
    assert_eq!(*proxy.targets.lock().unwrap(), [Target::Ip(mx_address)]);
    assert_eq!(
        hosts(&queue, "ok@dest.example"),
        ["mx.dest.example via socks5 outbound"]
    );
}

#[tokio::test]
async fn a_socks5_refusal_shows_in_the_history() {
    use crate::socks5::mock;
    let proxy = Arc::new(mock::Proxy {
        connect_reply: Some(vec![5, 2, 0, 1, 0, 0, 0, 0, 0, 0]),
        ..mock::Proxy::default()
    });
    let proxy_port = proxy.start().await.port();
    let dir = tempfile::tempdir().unwrap();
    let gannet_toml = format!(
        r#"
        [transports.outbound]
        kind = "socks5"
        host = "127.0.0.1"
        port = {proxy_port}

        [[routes]]
        transport = "outbound"
        "#
    );
    let routes = configured(dir.path(), &gannet_toml, "", &[]);
    let config = QueueConfig {
        max_attempts: 1,
        ..quick()
    };
    let (queue, _, _queue_dir) = started(config, routes, Some(zone()), 25);
    let new = message("mjones@example.org", &[("ok@dest.example", "")]);
    queue.enqueue(&new, DATA).unwrap();
    drained(&queue).await;

    let history = history(&queue, "ok@dest.example");
    assert_eq!(history[0].0, "mx.dest.example via socks5 outbound");
    let want = format!(
        "connecting to mx.dest.example (127.0.0.1:25): through the SOCKS5 proxy 127.0.0.1 \
         (127.0.0.1:{proxy_port}): SOCKS5 proxy refused: connection not allowed by ruleset (2)"
    );
    assert!(history[0].1.contains(&want), "{}", history[0].1);
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

#[tokio::test]
async fn recipients_a_crash_left_never_due_fail_or_go_out_at_start() {
    let s = setup(quick()).await;
    let outbox = s.queue.outbox();
    for address in ["gone@example.net", "back@example.net"] {
        let entry = crate::store::outbox::Suppressed {
            account: "mjones".into(),
            address: address.into(),
            reason: "test".into(),
            manual: true,
            created: 1,
        };
        outbox.suppress(&entry).unwrap();
    }
    // Queued as a crash would leave it: before the suppressed ones failed.
    let new = message(
        "mjones@example.org",
        &[("gone@example.net", ""), ("back@example.net", "")],
    );
    outbox.enqueue(&new, DATA, crate::message::now()).unwrap();
    outbox.unsuppress("mjones", "back@example.net").unwrap();
    assert!(
        outbox
            .list()
            .unwrap()
            .iter()
            .all(|q| q.next_attempt == i64::MAX)
    );

    s.queue.fail_stranded();
    drained(&s.queue).await;
    let retired = outbox.retired().unwrap();
    let outcome = |address: &str| {
        let r = retired.iter().find(|r| r.address == address).unwrap();
        (r.delivered, r.last_result.contains("suppression list"))
    };
    assert_eq!(outcome("gone@example.net"), (false, true));
    assert_eq!(outcome("back@example.net"), (true, false));
    let taken = s.receiver.taken.lock().unwrap().clone();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0, ["back@example.net"]);
}
