//! Python's imaplib against gannet: a full mail-program session on the plaintext
//! port, IDLE push to a second connection, and TLS both ways (IMAPS and STARTTLS)
//! with the generated certificate as the only trust anchor.

use std::process::Command;
use std::time::Duration;

use interop::{Gannet, TempDir, require, run, script};

const TIMEOUT: Duration = Duration::from_secs(30);

fn python() -> std::path::PathBuf {
    require("python3", "python3")
}

#[test]
fn imaplib_selects_appends_searches_fetches_stores_copies_moves_and_expunges() {
    let tmp = TempDir::new("imaplib-session");
    let server = Gannet::start(&tmp);
    for subject in ["first delivered", "second delivered"] {
        server.deliver(subject, "hello");
    }

    let out = run(
        Command::new(python())
            .arg(script("imaplib_session.py"))
            .arg(server.imap_port().to_string()),
        TIMEOUT,
    );
    out.assert_success();
    assert_eq!(
        out.stdout.trim(),
        r#"{"Archive": ["first delivered"], "INBOX": ["first delivered"], "Trash": ["appended multipart"]}"#,
        "{out}"
    );

    // The store agrees: the copy and the move kept their flags (the export writes
    // the keyword $Label1 as the letter a), the expunged message is gone.
    let stored: Vec<(String, String, String)> = server
        .stored()
        .iter()
        .map(|m| (m.mailbox.clone(), m.subject().to_string(), m.flags.clone()))
        .collect();
    let expected = |mailbox: &str, subject: &str, flags: &str| {
        (mailbox.to_string(), subject.to_string(), flags.to_string())
    };
    assert_eq!(
        stored,
        [
            expected("INBOX", "first delivered", "Sa"),
            expected("Archive", "first delivered", "Sa"),
            expected("Trash", "appended multipart", "FS"),
        ]
    );
    assert!(
        server.stop().success(),
        "localserve exits cleanly on SIGTERM"
    );
}

#[test]
fn an_idling_connection_sees_appends_deliveries_flag_changes_and_expunges() {
    let tmp = TempDir::new("imaplib-idle");
    let server = Gannet::start(&tmp);
    let out = run(
        Command::new(python())
            .arg(script("imap_idle.py"))
            .arg(server.imap_port().to_string())
            .arg(server.smtp_port().to_string()),
        TIMEOUT,
    );
    out.assert_success();
    for event in ["APPEND", "delivery over SMTP", "STORE", "EXPUNGE"] {
        assert!(out.stdout.contains(event), "{out}");
    }
    let stored = server.stored();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].subject(), "delivered while idling");
}

#[test]
fn imaplib_over_imaps_and_starttls_trusting_only_the_generated_certificate() {
    let tmp = TempDir::new("imaplib-tls");
    let server = Gannet::start(&tmp);
    server.deliver("over tls", "secret");
    let out = run(
        Command::new(python())
            .arg(script("imaplib_tls.py"))
            .arg(server.imaps_port().to_string())
            .arg(server.imap_port().to_string())
            .arg(server.cert()),
        TIMEOUT,
    );
    out.assert_success();
    assert!(out.stdout.contains("IMAPS to localhost: TLSv1."), "{out}");
    assert!(out.stdout.contains("STARTTLS: TLSv1."), "{out}");
    let subjects: Vec<String> = server
        .stored()
        .iter()
        .map(|m| m.subject().to_string())
        .collect();
    assert_eq!(subjects, ["over tls", "appended after starttls"]);
}
