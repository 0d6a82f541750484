//! Transcript tests: the client against a server that follows a script and
//! checks every line the client sends.

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::*;
use crate::sasl::ClientCredentials;
use crate::smtp::{Enhanced, Notify, Orcpt, RcptParams, Ret};

/// A scripted server. Script lines: `S: text` is sent (consecutive ones in one
/// write); `C: text` is the line the client must send next; `C: <message>`
/// reads dot-stuffed data through the final "."; `C: <chunk N>` reads N octets;
/// `TLS` does the server side of a handshake; `CLOSE` closes.
struct Scripted {
    stream: Box<dyn Stream>,
    buffer: Vec<u8>,
    /// The message data received, for checks.
    received: Vec<Vec<u8>>,
}

impl Scripted {
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(lf) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buffer.drain(..lf + 2).take(lf).collect();
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            let mut chunk = [0; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    async fn octets(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() < n {
            let mut chunk = [0; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(k) => self.buffer.extend_from_slice(&chunk[..k]),
            }
        }
        self.buffer.drain(..n.min(self.buffer.len())).collect()
    }

    /// Runs the script; the first difference from it is the error.
    async fn run(
        mut self,
        script: &str,
        tls: Option<Arc<ServerConfig>>,
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut pending = String::new();
        for step in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(reply) = step.strip_prefix("S: ") {
                pending.push_str(reply);
                pending.push_str("\r\n");
                continue;
            }
            if !pending.is_empty() {
                let _ = self.stream.write_all(pending.as_bytes()).await;
                pending.clear();
            }
            match step {
                "TLS" => {
                    let config = tls.clone().ok_or("no TLS config")?;
                    // A dead pipe stands in while the stream is handed to TLS.
                    let plain =
                        std::mem::replace(&mut self.stream, Box::new(tokio::io::duplex(1).0));
                    let tls = TlsAcceptor::from(config)
                        .accept(plain)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.stream = Box::new(tls);
                }
                "CLOSE" => return Ok(self.received),
                "C: <message>" => {
                    let mut data = Vec::new();
                    loop {
                        let line = self.line().await.ok_or("closed in data")?;
                        if line == "." {
                            break;
                        }
                        data.extend_from_slice(line.as_bytes());
                        data.extend_from_slice(b"\r\n");
                    }
                    self.received.push(data);
                }
                _ => {
                    let want = step.strip_prefix("C: ").ok_or(format!("bad step {step}"))?;
                    if let Some(n) = want
                        .strip_prefix("<chunk ")
                        .and_then(|n| n.strip_suffix('>'))
                    {
                        let data = self.octets(n.parse().map_err(|_| "bad chunk size")?).await;
                        self.received.push(data);
                        continue;
                    }
                    let got = self
                        .line()
                        .await
                        .ok_or(format!("closed; expected {want:?}"))?;
                    if got != want {
                        return Err(format!("expected {want:?}, got {got:?}"));
                    }
                }
            }
        }
        if !pending.is_empty() {
            let _ = self.stream.write_all(pending.as_bytes()).await;
        }
        // Wait for the client to finish (QUIT or close).
        while self.line().await.is_some() {}
        Ok(self.received)
    }
}

fn options() -> Options {
    Options {
        ehlo_name: "client.example".into(),
        server_name: "mx.example.org".into(),
        tls: Tls::Off,
        auth: None,
        timeout: Some(Duration::from_secs(5)),
    }
}

/// Runs the client with `drive` against a server following `script`; returns
/// what `drive` gave and the message data the server received.
async fn against<T>(
    script: impl Into<String>,
    tls: Option<Arc<ServerConfig>>,
    options: Options,
    drive: impl AsyncFnOnce(Result<Client, ClientError>) -> T,
) -> (T, Vec<Vec<u8>>) {
    let (client_io, server_io) = tokio::io::duplex(256 * 1024);
    let server = Scripted {
        stream: Box::new(server_io),
        buffer: Vec::new(),
        received: Vec::new(),
    };
    let script = script.into();
    let server = tokio::spawn(async move { server.run(&script, tls).await });
    let result = drive(Client::start(client_io, options).await).await;
    let received = server
        .await
        .expect("server task")
        .expect("the client followed the script");
    (result, received)
}

fn rcpts(addresses: &[&str]) -> Vec<(String, RcptParams)> {
    addresses
        .iter()
        .map(|a| (a.to_string(), RcptParams::default()))
        .collect()
}

async fn send_and_quit(client: Result<Client, ClientError>, out: Outgoing<'_>) -> Vec<Delivery> {
    let mut client = client.expect("session set up");
    let results = client.send(&out).await;
    client.quit().await;
    results
}

const EHLO_FULL: &str = "
    S: 220 mx.example.org ESMTP
    C: EHLO client.example
    S: 250-mx.example.org
    S: 250-PIPELINING
    S: 250-SIZE 1000000
    S: 250-8BITMIME
    S: 250-DSN
    S: 250 ENHANCEDSTATUSCODES
";

/// Sends a small message from a@client.example to b@ and c@example.org.
async fn send_to_b_and_c(script: String) -> Vec<Delivery> {
    let recipients = rcpts(&["b@example.org", "c@example.org"]);
    let out = Outgoing {
        from: "a@client.example",
        recipients: &recipients,
        message: b"x\r\n\r\ny\r\n",
        ..Outgoing::default()
    };
    let run = async |c| send_and_quit(c, out).await;
    against(script, None, options(), run).await.0
}

#[tokio::test]
async fn a_pipelined_transaction_with_dsn_parameters_and_one_refused_recipient() {
    let script = format!(
        "{EHLO_FULL}
        C: MAIL FROM:<a@client.example> SIZE=28 BODY=8BITMIME RET=HDRS ENVID=id+2B1
        C: RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.org
        C: RCPT TO:<nobody@example.org>
        C: DATA
        S: 250 2.1.0 ok
        S: 250 2.1.5 ok
        S: 550-5.1.1 no such user here
        S: 550 5.1.1 see https://example.org/help
        S: 354 go ahead
        C: <message>
        S: 250 2.0.0 queued as X1
        C: QUIT
        S: 221 2.0.0 bye
    "
    );
    let mut recipients = rcpts(&["b@example.org", "nobody@example.org"]);
    recipients[0].1 = RcptParams {
        notify: Some(Notify::On {
            success: false,
            failure: true,
            delay: true,
        }),
        orcpt: Some(Orcpt {
            addr_type: "rfc822".into(),
            address: "b@example.org".into(),
        }),
    };
    let message = "Subject: x\r\n\r\n.dot\r\nd\u{e9}j\u{e0}\r\n";
    let out = Outgoing {
        from: "a@client.example",
        recipients: &recipients,
        message: message.as_bytes(),
        ret: Some(Ret::Hdrs),
        envid: Some("id+1".into()),
        ..Outgoing::default()
    };
    let (results, received) = against(script, None, options(), async |c| {
        send_and_quit(c, out).await
    })
    .await;
    assert_eq!(results[0].as_ref().unwrap().lines, ["queued as X1"]);
    let refused = results[1].as_ref().unwrap_err();
    assert!(refused.is_permanent());
    assert_eq!(refused.status(), Enhanced(5, 1, 1));
    let reply = refused.reply().unwrap();
    assert_eq!(
        reply.lines,
        ["no such user here", "see https://example.org/help"]
    );
    // Dot-stuffed on the wire, as sent once unstuffed.
    assert_eq!(
        received,
        [b"Subject: x\r\n\r\n..dot\r\nd\xc3\xa9j\xc3\xa0\r\n".to_vec()]
    );
}

#[tokio::test]
async fn an_old_server_gets_helo_and_one_command_at_a_time_without_parameters() {
    let script = "
        S: 220 old.example.org SMTP
        C: EHLO client.example
        S: 502 command not implemented
        C: HELO client.example
        S: 250 old.example.org
        C: MAIL FROM:<>
        S: 250 ok
        C: RCPT TO:<b@example.org>
        S: 250 ok
        C: DATA
        S: 354 go ahead
        C: <message>
        S: 250 ok
        C: QUIT
        S: 221 bye
    ";
    let recipients = vec![(
        "b@example.org".to_string(),
        RcptParams {
            notify: Some(Notify::Never),
            orcpt: None,
        },
    )];
    let out = Outgoing {
        recipients: &recipients,
        message: b"Subject: bounce\r\n\r\nbody\r\n",
        ret: Some(Ret::Full),
        ..Outgoing::default()
    };
    let (results, received) = against(script, None, options(), async |c| {
        send_and_quit(c, out).await
    })
    .await;
    assert_eq!(results.len(), 1);
    assert!(results[0].is_ok());
    assert_eq!(received, [b"Subject: bounce\r\n\r\nbody\r\n".to_vec()]);
}

#[tokio::test]
async fn a_server_that_refuses_mail_from_and_closes_is_reported_by_its_reply() {
    let script = format!(
        "{EHLO_FULL}
            C: MAIL FROM:<a@client.example> SIZE=8
            S: 550-5.7.1 your domain is blocked here
            S: 550 5.7.1 for spam
            CLOSE"
    );
    let results = send_to_b_and_c(script).await;
    for result in results {
        let e = result.unwrap_err();
        assert!(
            matches!(
                e,
                ClientError::Rejected {
                    stage: Stage::MailFrom,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.is_permanent());
        assert_eq!(
            e.reply().unwrap().lines,
            ["your domain is blocked here", "for spam"]
        );
    }
}

#[tokio::test]
async fn a_connection_lost_during_data_is_temporary_for_the_accepted_recipients_only() {
    let script = format!(
        "{EHLO_FULL}
            C: MAIL FROM:<a@client.example> SIZE=8
            C: RCPT TO:<b@example.org>
            C: RCPT TO:<c@example.org>
            C: DATA
            S: 250 ok
            S: 250 ok
            S: 450 4.2.1 mailbox busy
            S: 354 go ahead
            CLOSE"
    );
    let results = send_to_b_and_c(script).await;
    let lost = results[0].as_ref().unwrap_err();
    assert!(!lost.is_permanent());
    assert_eq!(lost.status(), Enhanced(4, 4, 2));
    let busy = results[1].as_ref().unwrap_err();
    assert!(!busy.is_permanent());
    assert_eq!(busy.status(), Enhanced(4, 2, 1));
}

#[tokio::test]
async fn chunking_sends_one_bdat_and_rcptmax_splits_transactions() {
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250-CHUNKING
        S: 250 LIMITS RCPTMAX=2
        C: MAIL FROM:<a@client.example>
        S: 250 ok
        C: RCPT TO:<b@example.org>
        S: 250 ok
        C: RCPT TO:<c@example.org>
        S: 250 ok
        C: BDAT 9 LAST
        C: <chunk 9>
        S: 250 first
        C: MAIL FROM:<a@client.example>
        S: 250 ok
        C: RCPT TO:<d@example.org>
        S: 550 no
        C: RSET
        S: 250 ok
        C: QUIT
        S: 221 bye
    ";
    let recipients = rcpts(&["b@example.org", "c@example.org", "d@example.org"]);
    let out = Outgoing {
        from: "a@client.example",
        recipients: &recipients,
        message: b"x\r\n\r\n.y\r\n",
        ..Outgoing::default()
    };
    let (results, received) = against(script, None, options(), async |c| {
        send_and_quit(c, out).await
    })
    .await;
    assert_eq!(received, [b"x\r\n\r\n.y\r\n".to_vec()]);
    assert_eq!(results[0].as_ref().unwrap().lines, ["first"]);
    assert!(results[1].is_ok());
    assert!(results[2].as_ref().unwrap_err().is_permanent());
}

#[tokio::test]
async fn what_the_server_cannot_take_fails_before_mail_from() {
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250 SIZE 10
        C: QUIT
        S: 221 bye
    ";
    let recipients = rcpts(&["b@example.org"]);
    let cases: [(&[u8], bool, bool, Enhanced); 4] = [
        (b"caf\xc3\xa9\r\n", false, false, Enhanced(5, 6, 3)),
        (b"12345678901\r\n", false, false, Enhanced(5, 3, 4)),
        (b"x\r\n", true, false, Enhanced(5, 6, 7)),
        (b"x\r\n", false, true, Enhanced(5, 7, 30)),
    ];
    for (message, smtputf8, requiretls, status) in cases {
        let out = Outgoing {
            from: "a@client.example",
            recipients: &recipients,
            message,
            smtputf8,
            requiretls,
            ..Outgoing::default()
        };
        let (results, _) = against(script, None, options(), async |c| {
            send_and_quit(c, out).await
        })
        .await;
        let e = results[0].as_ref().unwrap_err();
        assert!(e.is_permanent(), "{e}");
        assert_eq!(e.status(), status, "{e}");
    }
}

#[tokio::test]
async fn a_silent_server_times_out_and_a_bad_greeting_is_kept() {
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
    ";
    let mut quick = options();
    quick.timeout = Some(Duration::from_millis(200));
    let (result, _) = against(script, None, quick, async |c| c.err()).await;
    assert!(
        matches!(
            result,
            Some(ClientError::Timeout {
                stage: Stage::Ehlo,
                ..
            })
        ),
        "{result:?}"
    );

    let script = "
        S: 554-5.7.1 no service for you
        S: 554 5.7.1 ever
        C: QUIT
    ";
    let (result, _) = against(script, None, options(), async |c| c.err()).await;
    let e = result.unwrap();
    assert_eq!(e.reply().unwrap().lines, ["no service for you", "ever"]);
    assert!(
        !e.is_permanent(),
        "a refusing host is not the message's fault"
    );
}

#[tokio::test]
async fn a_reply_that_breaks_the_grammar_is_a_protocol_error() {
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 251 mixed codes
    ";
    let (result, _) = against(script, None, options(), async |c| c.err()).await;
    assert!(
        matches!(
            result,
            Some(ClientError::Protocol {
                stage: Stage::Ehlo,
                ..
            })
        ),
        "{result:?}"
    );
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: hello?
    ";
    let (result, _) = against(script, None, options(), async |c| c.err()).await;
    let e = result.unwrap().to_string();
    assert!(e.contains("malformed reply line \"hello?\""), "{e}");
}

fn tls_server() -> (tempfile::TempDir, Arc<ServerConfig>) {
    let dir = tempfile::tempdir().unwrap();
    let cert = crate::tls::self_signed::load_or_generate(dir.path(), &["localhost"]).unwrap();
    let config = crate::tls::server_config_from_files(&cert.cert_file, &cert.key_file).unwrap();
    (dir, config)
}

fn credentials() -> ClientCredentials {
    ClientCredentials {
        username: "mjones".into(),
        password: "secret".into(),
        authzid: None,
    }
}

#[tokio::test]
async fn starttls_then_a_new_ehlo_then_auth_plain() {
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250-AUTH CRAM-MD5
        S: 250 STARTTLS
        C: STARTTLS
        S: 220 go ahead
        TLS
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250 AUTH LOGIN PLAIN
        C: AUTH PLAIN AG1qb25lcwBzZWNyZXQ=
        S: 235 2.7.0 ok
        C: QUIT
        S: 221 bye
    ";
    let (_dir, config) = tls_server();
    let mut opts = options();
    opts.tls = Tls::StartTls {
        config: crate::tls::opportunistic_client_config(),
        required: true,
    };
    opts.auth = Some(credentials());
    let (tls, _) = against(script, Some(config), opts, async |c| {
        let c = c.expect("session");
        let tls = c.tls().map(str::to_string);
        c.quit().await;
        tls
    })
    .await;
    assert!(tls.unwrap().starts_with("version=TLS1.3"));
}

#[tokio::test]
async fn tls_required_but_not_offered_and_data_injected_after_starttls_fail() {
    let mut opts = options();
    opts.tls = Tls::StartTls {
        config: crate::tls::opportunistic_client_config(),
        required: true,
    };
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250 mx.example.org
    ";
    let (result, _) = against(script, None, opts.clone(), async |c| c.err()).await;
    assert!(matches!(result, Some(ClientError::Tls(_))), "{result:?}");
    assert_eq!(result.unwrap().status(), Enhanced(4, 7, 5));

    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250 STARTTLS
        C: STARTTLS
        S: 220 go ahead
        S: 250 injected
    ";
    let (result, _) = against(script, None, opts, async |c| c.err()).await;
    assert!(
        matches!(
            result,
            Some(ClientError::Protocol {
                stage: Stage::StartTls,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_password_is_not_sent_in_the_clear() {
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250 AUTH PLAIN LOGIN
    ";
    let mut opts = options();
    opts.auth = Some(credentials());
    let (result, _) = against(script, None, opts, async |c| c.err()).await;
    let e = result.unwrap().to_string();
    assert!(e.contains("PLAIN and LOGIN need TLS"), "{e}");
}

#[tokio::test]
async fn cram_md5_works_without_tls_and_a_refused_login_keeps_the_reply() {
    // RFC 2195's example challenge and answer.
    let script = "
        S: 220 mx.example.org ESMTP
        C: EHLO client.example
        S: 250-mx.example.org
        S: 250 AUTH CRAM-MD5
        C: AUTH CRAM-MD5
        S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
        C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
        S: 535 5.7.8 authentication failed
        C: QUIT
        S: 221 bye
    ";
    let mut opts = options();
    opts.auth = Some(ClientCredentials {
        username: "tim".into(),
        password: "tanstaaftanstaaf".into(),
        authzid: None,
    });
    let (result, _) = against(script, None, opts, async |c| c.err()).await;
    let e = result.unwrap();
    assert!(
        matches!(
            e,
            ClientError::Rejected {
                stage: Stage::Auth,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.status(), Enhanced(5, 7, 8));
}
