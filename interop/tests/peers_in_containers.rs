//! Peers in containers against a localserve on the host: Postfix 3.7 relays mail
//! into it (with STARTTLS, as Postfix does by default), and Dovecot 2.3's doveadm,
//! with its imapc backend, reads it back over IMAP. The containers share the
//! host's network and reach localserve on 127.0.0.1.

use std::time::{Duration, Instant};

use interop::containers::{engine, sh, start};
use interop::server::PASSWORD;
use interop::store::{StoredMessage, header};
use interop::{Gannet, TempDir};
use testcontainers::core::WaitFor;

/// What arrived in `account` once something has, within 30 s (Postfix delivers
/// from its queue, after the submission that the test waited for).
fn wait_for_mail(server: &Gannet, account: &str) -> Vec<StoredMessage> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stored = server.stored_in(account);
        if !stored.is_empty() || Instant::now() > deadline {
            return stored;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn postfix_in_a_container_relays_into_localserve() {
    if !engine() {
        return;
    }
    let tmp = TempDir::new("postfix-container");
    let server = Gannet::start(&tmp);
    // No listening service (the host's network is shared); the relay host is
    // localserve's SMTP port; TLS when offered, without verification.
    let setup = format!(
        "postconf -e 'relayhost = [127.0.0.1]:{}' 'master_service_disable = inet' \
         'smtp_tls_security_level = may' && exec postfix start-fg",
        server.smtp_port()
    );
    let postfix = start(
        "postfix",
        &["sh".to_string(), "-c".to_string(), setup],
        WaitFor::message_on_stdout("daemon started"),
    );
    println!(
        "ran postfix: {}",
        sh(&postfix, "postconf -h mail_version").trim()
    );
    sh(
        &postfix,
        "printf 'From: App <app@example.org>\\nTo: relayed@localhost\\nSubject: through postfix\\n\\n.a dotted line\\nbody from postfix\\n' \
         | sendmail -f app@example.org relayed@localhost",
    );
    let stored = wait_for_mail(&server, "gannet");
    assert_eq!(stored.len(), 1, "{}", server.log());
    let message = &stored[0].content;
    assert_eq!(header(message, "Subject"), Some("through postfix"));
    assert_eq!(header(message, "Delivered-To"), Some("relayed@localhost"));
    assert!(
        message
            .contains("Received: from mx.test.example ([127.0.0.1])\r\n\tby localhost with ESMTPS"),
        "Postfix's EHLO name and STARTTLS in our trace field:\n{message}"
    );
    assert!(
        message.ends_with("\r\n\r\n.a dotted line\r\nbody from postfix\r\n"),
        "{message}"
    );
}

#[test]
fn dovecot_doveadm_in_a_container_reads_from_localserve_over_imap() {
    if !engine() {
        return;
    }
    let tmp = TempDir::new("dovecot-container");
    let server = Gannet::start(&tmp);
    server.deliver("for dovecot", "read by doveadm over imapc");
    let dovecot = start("dovecot", &[], WaitFor::message_on_stderr("starting up"));
    println!("ran dovecot: {}", sh(&dovecot, "dovecot --version").trim());
    let fetched = sh(
        &dovecot,
        &format!(
            "doveadm -o mail_location=imapc:~/imapc -o imapc_host=127.0.0.1 \
             -o imapc_port={} -o imapc_user=gannet@localhost -o imapc_password={PASSWORD} \
             -o imapc_ssl=no fetch -u reader 'hdr body' mailbox INBOX all",
            server.imap_port()
        ),
    );
    let stored = server.stored();
    assert_eq!(stored.len(), 1);
    let (headers, body) = stored[0].content.split_once("\r\n\r\n").unwrap();
    // doveadm prints "hdr:", the header block as stored (with its empty line),
    // "body:" and the body: byte for byte what the store holds.
    let expected = format!("hdr:\n{headers}\r\n\r\nbody:\n{body}");
    assert_eq!(fetched, expected);
}
