//! Message authentication of incoming mail through whole sessions: the fields
//! stored on top of the message, the verified domains kept with it, and what
//! DMARC policies do to the reply and the mailbox. The client is 192.0.2.7.

use super::*;
use crate::dns::{RecordType, StaticZone};

const ZONE: &str = r#"
7.2.0.192.in-addr.arpa.  PTR  mx.example.net.
$ORIGIN example.net.
@          TXT  "v=spf1 ip4:192.0.2.7 -all"
_dmarc     TXT  "v=DMARC1; p=reject"
mx         A    192.0.2.7
$ORIGIN example.com.
@          TXT  "v=spf1 -all"
_dmarc     TXT  "v=DMARC1; p=reject"
$ORIGIN quarantined.example.
@          TXT  "v=spf1 -all"
_dmarc     TXT  "v=DMARC1; p=quarantine"
"#;

fn zone() -> StaticZone {
    let mut zone = StaticZone::from_zone_file(ZONE).unwrap();
    zone.fail("_dmarc.down.example", Some(RecordType::Txt));
    zone
}

/// Sends one message from `mail_from` with header `from` to alice on port 25.
fn send(data: &Path, mail_from: &str, message: &str) -> String {
    let recipients = Recipients::new(&toml::from_str(DOMAINS).unwrap());
    let store = Store::new(data.to_path_buf());
    let hostname = Domain::parse("mail.example.org", Leniencies::PEDANTIC).unwrap();
    let zone = zone();
    let mut backend = LocalDelivery {
        recipients: &recipients,
        store: &store,
        hostname: &hostname,
        authenticator: None,
        local: None,
        resolver: Some(&zone),
    };
    let mail = format!("MAIL FROM:<{mail_from}>\r\n");
    let script = [
        "EHLO mx.example.net\r\n",
        &mail,
        "RCPT TO:<alice@example.org>\r\n",
        "DATA\r\n",
        message,
    ];
    run_with(&mut backend, settings(Leniencies::PEDANTIC), None, &script)
}

fn verified(data: &Path, mailbox: &str) -> Vec<String> {
    let store = Store::new(data.to_path_buf());
    let shared = store.account("alice").unwrap();
    let account = shared.lock().unwrap();
    let id = account.mailbox(mailbox).unwrap().id;
    let message = account.messages(id).unwrap()[0].id;
    account.received(message).unwrap().verified_domains
}

#[test]
fn a_passing_message_gets_authentication_results_and_its_domains_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let t = send(
        dir.path(),
        "news@example.net",
        "From: News <news@example.net>\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
    );
    assert!(t.contains("250 2.0.0 delivered as ID"), "{t}");
    let stored = &inbox(dir.path(), "alice")[0];
    let expected = "Authentication-Results: mail.example.org;\r\n\
        \tiprev=pass (mx.example.net) policy.iprev=192.0.2.7;\r\n\
        \tspf=pass (192.0.2.7 matched ip4:192.0.2.7 in the record of example.net) smtp.mailfrom=news@example.net;\r\n\
        \tdkim=none (no signature);\r\n\
        \tdmarc=pass (SPF pass of example.net aligned with example.net) header.from=example.net\r\n\
        Received-SPF: pass (mail.example.org: 192.0.2.7 matched ip4:192.0.2.7 in the record of example.net)\r\n\
        \tclient-ip=192.0.2.7;\r\n\tenvelope-from=\"news@example.net\";\r\n\thelo=mx.example.net;\r\n\
        \treceiver=mail.example.org;\r\n\tidentity=mailfrom;\r\n\
        Received: from mx.example.net";
    assert!(stored.contains(expected), "{stored}");
    assert_eq!(
        verified(dir.path(), "Inbox"),
        ["example.net", "mx.example.net"]
    );
}

#[test]
fn dmarc_reject_is_refused_and_quarantine_goes_to_junk() {
    let dir = tempfile::tempdir().unwrap();
    // SPF passes for example.net, which is not the From domain.
    let t = send(
        dir.path(),
        "bounce@example.net",
        "From: boss@example.com\r\nSubject: pay this\r\n\r\nbody\r\n.\r\n",
    );
    // The transcript shortens long lines, giving their length.
    let reply = "550 5.7.1 rejected by the DMARC policy of example.com: no SPF or DKIM pass aligned with example.com\r\n";
    assert!(
        t.contains(&format!(
            "S: {}... ({} characters)",
            &reply[..72],
            reply.len()
        )),
        "{t}"
    );
    assert!(inbox(dir.path(), "alice").is_empty());

    let t = send(
        dir.path(),
        "bounce@example.net",
        "From: x@quarantined.example\r\nSubject: maybe\r\n\r\nbody\r\n.\r\n",
    );
    assert!(t.contains("250 2.0.0 delivered as ID"), "{t}");
    assert!(inbox(dir.path(), "alice").is_empty());
    let junk = stored(dir.path(), "alice", "Junk");
    assert!(
        junk[0].contains("\tdmarc=fail (no SPF or DKIM pass aligned with quarantined.example; p=quarantine disposition=quarantine) header.from=quarantined.example\r\n"),
        "{}",
        junk[0]
    );
    assert_eq!(
        verified(dir.path(), "Junk"),
        ["example.net", "mx.example.net"]
    );
}

#[test]
fn a_dns_failure_defers_and_never_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let t = send(
        dir.path(),
        "bounce@example.net",
        "From: a@down.example\r\nSubject: later\r\n\r\nbody\r\n.\r\n",
    );
    assert!(
        t.contains("S: 451 4.4.3 DMARC could not be evaluated for now (looking up _dmarc.down.e"),
        "{t}"
    );
    assert!(inbox(dir.path(), "alice").is_empty());
}

#[test]
fn results_claiming_to_be_ours_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let t = send(
        dir.path(),
        "news@example.net",
        "Authentication-Results: mail.example.org; dmarc=pass header.from=example.com\r\n\
         Authentication-Results: other.example; spf=pass smtp.mailfrom=example.net\r\n\
         From: news@example.net\r\n\r\nbody\r\n.\r\n",
    );
    assert!(t.contains("250 2.0.0 delivered as ID"), "{t}");
    let stored = &inbox(dir.path(), "alice")[0];
    assert_eq!(
        stored
            .matches("Authentication-Results: mail.example.org;")
            .count(),
        1,
        "{stored}"
    );
    assert!(!stored.contains("header.from=example.com"), "{stored}");
    assert!(
        stored.contains("Authentication-Results: other.example; spf=pass"),
        "{stored}"
    );
}
