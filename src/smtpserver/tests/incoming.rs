//! Message authentication through whole sessions: for incoming mail, the fields
//! stored on top of the message, the verified domains kept with it, and what
//! DMARC policies do to the reply and the mailbox; for submitted mail, DKIM
//! signing. The client is 192.0.2.7.

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
    let fixture = Fixture::new(data);
    let zone = zone();
    let mut backend = LocalDelivery {
        resolver: Some(&zone),
        ..fixture.backend()
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

#[test]
fn submitted_mail_is_dkim_signed_with_each_key_of_its_from_domain() {
    use crate::dkim::{PrivateKey, SigningKey, SigningKeys};
    let dir = tempfile::tempdir().unwrap();
    let (ed, rsa) = (
        PrivateKey::generate_ed25519().unwrap(),
        PrivateKey::generate_rsa().unwrap(),
    );
    let mut zone = StaticZone::new();
    for (selector, key) in [("ed", &ed), ("rsa", &rsa)] {
        let record = key.key_record().unwrap().to_text();
        let txt = crate::dns::Record::Txt(vec![record.into_bytes()]);
        zone.add(&format!("{selector}._domainkey.example.org"), txt);
    }
    let mut keys = SigningKeys::default();
    for (selector, key) in [("ed", ed), ("rsa", rsa)] {
        keys.add(
            "example.org",
            SigningKey {
                selector: selector.into(),
                key,
                lifetime: None,
            },
        );
    }
    let fixture = Fixture::new(dir.path());
    let auth = authenticator(dir.path());
    let mut backend = LocalDelivery {
        authenticator: Some(&auth),
        dkim: Some(&keys),
        ..fixture.backend()
    };
    let settings = Settings {
        submission: true,
        plaintext_auth: true,
        ..settings(Leniencies::PEDANTIC)
    };
    let auth_plain = format!("AUTH PLAIN {}\r\n", b64("\0alice@example.org\0secret"));
    let script = [
        "EHLO c.example\r\n",
        &auth_plain,
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
        "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: signed\r\n\r\nhello\r\n.\r\n",
    ];
    let t = run_with(&mut backend, settings, None, &script);
    assert!(t.contains("250 2.0.0 delivered as ID"), "{t}");
    drop(fixture); // the accounts are opened again below
    let stored = inbox(dir.path(), "bob").remove(0);
    // Our trace fields go on top after signing; DKIM does not sign them.
    assert!(
        stored.find("Received: ") < stored.find("DKIM-Signature: v=1; a=ed25519-sha256"),
        "{stored}"
    );
    let results = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(crate::dkim::verify(
            &zone,
            stored.as_bytes(),
            crate::message::now_unsigned(),
        ));
    let summary: Vec<(crate::dkim::DkimResult, &str)> = results
        .iter()
        .map(|r| (r.result, r.selector.as_str()))
        .collect();
    use crate::dkim::DkimResult::Pass;
    assert_eq!(summary, [(Pass, "ed"), (Pass, "rsa")], "{stored}");
}
