//! Verification of the RFC 8463 example, signing and verifying round trips, and
//! each way a signature can fail, over a static zone.

use super::*;
use crate::dns::{Record, StaticZone};

const RFC8463_ZONE: &str = r#"
$ORIGIN football.example.com.
brisbane._domainkey TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
test._domainkey TXT ( "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2E"
                      "eC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB" )
"#;

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn crlf(text: &[u8]) -> Vec<u8> {
    crate::message::crlf_line_ends(text).0
}

fn rfc8463_message() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rfc-vectors/rfc8463/rfc6376.signed.msg"
    );
    crlf(&std::fs::read(path).unwrap())
}

const NOW: u64 = 1_700_000_000;

#[test]
fn both_signatures_of_the_rfc_8463_example_pass() {
    let zone = StaticZone::from_zone_file(RFC8463_ZONE).unwrap();
    let results = block_on(verify(&zone, &rfc8463_message(), NOW));
    let summary: Vec<(DkimResult, &str, Option<Algorithm>)> = results
        .iter()
        .map(|r| (r.result, r.selector.as_str(), r.algorithm))
        .collect();
    assert_eq!(
        summary,
        vec![
            (DkimResult::Pass, "brisbane", Some(Algorithm::Ed25519Sha256)),
            (DkimResult::Pass, "test", Some(Algorithm::RsaSha256)),
        ],
        "{results:#?}"
    );
    assert_eq!(
        results[0].identity.as_deref(),
        Some("@football.example.com")
    );
}

#[test]
fn changed_bodies_and_headers_fail_with_the_reason() {
    let zone = StaticZone::from_zone_file(RFC8463_ZONE).unwrap();
    let message = rfc8463_message();
    let text = String::from_utf8(message).unwrap();
    let body_changed = text.replace("Are you hungry yet?", "Are you hungry now?");
    let results = block_on(verify(&zone, body_changed.as_bytes(), NOW));
    assert_eq!(results[0].result, DkimResult::Fail);
    assert_eq!(
        results[0].reason,
        "the body hash does not match (the body was changed)"
    );
    let subject_changed = text.replace("Subject: Is dinner ready?", "Subject: Is lunch ready?");
    let results = block_on(verify(&zone, subject_changed.as_bytes(), NOW));
    assert!(
        results
            .iter()
            .all(|r| r.result == DkimResult::Fail && r.reason == "the signature does not verify")
    );
}

fn message() -> Vec<u8> {
    crlf(
        b"From: Alice <alice@example.org>\n\
          To: bob@example.net\n\
          Subject:  odd   spacing\t here \n\
          Date: Mon, 23 Nov 2026 04:00:00 +0000\n\
          Message-ID: <1@example.org>\n\
          X-Not-Signed: yes\n\
          \n\
          Hello  there \t\n\
          \n\
          \n",
    )
}

/// A zone publishing `key` at sel._domainkey.example.org.
fn zone_for(key: &PrivateKey) -> StaticZone {
    let mut zone = StaticZone::new();
    let record = key.key_record().unwrap().to_text();
    let strings = record.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
    zone.add("sel._domainkey.example.org", Record::Txt(strings));
    zone
}

fn signed(key: &PrivateKey, header_canon: Canon, body_canon: Canon, message: &[u8]) -> Vec<u8> {
    let signer = Signer {
        domain: "Example.org".into(),
        selector: "sel".into(),
        key,
        header_canon,
        body_canon,
        now: NOW,
        lifetime: Some(3600),
    };
    let mut out = signer.sign(message).unwrap().into_bytes();
    out.extend_from_slice(message);
    out
}

#[test]
fn signed_messages_verify_with_either_key_and_canonicalization() {
    for key in [
        PrivateKey::generate_rsa().unwrap(),
        PrivateKey::generate_ed25519().unwrap(),
    ] {
        let zone = zone_for(&key);
        for canon in [Canon::Simple, Canon::Relaxed] {
            for body_canon in [Canon::Simple, Canon::Relaxed] {
                let message = signed(&key, canon, body_canon, &message());
                let results = block_on(verify(&zone, &message, NOW + 10));
                assert_eq!(results.len(), 1);
                assert_eq!(
                    results[0].result,
                    DkimResult::Pass,
                    "{canon:?}/{body_canon:?}: {results:?}"
                );
                assert_eq!(results[0].domain, "example.org");
                let value = String::from_utf8_lossy(&message);
                assert!(
                    value
                        .replace("\r\n\t", "")
                        .contains("h=From:From:Subject:Subject:Date:To:To:Message-ID;"),
                    "{value}"
                );
                assert!(value.lines().all(|l| l.len() <= 78), "{value}");
            }
        }
    }
}

#[test]
fn oversigning_stops_added_fields_and_relaxed_survives_rewrapping() {
    let key = PrivateKey::generate_ed25519().unwrap();
    let zone = zone_for(&key);
    let message = signed(&key, Canon::Relaxed, Canon::Relaxed, &message());
    let text = String::from_utf8(message).unwrap();
    let added_from = text.replacen(
        "From: Alice",
        "From: Mallory <m@evil.example>\r\nFrom: Alice",
        1,
    );
    let results = block_on(verify(&zone, added_from.as_bytes(), NOW));
    assert_eq!(results[0].result, DkimResult::Fail);
    let respaced = text
        .replace(
            "Subject:  odd   spacing\t here ",
            "subject: odd spacing\r\n here",
        )
        .replace("Hello  there \t", "Hello there")
        .replace("X-Not-Signed: yes", "X-Not-Signed: changed");
    let results = block_on(verify(&zone, respaced.as_bytes(), NOW));
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}");
}

/// A signature over `message()` with `tags` replacing the real ones (the
/// signature itself is not valid; these fail before it is checked).
fn verify_with(zone: &StaticZone, tags: &str) -> SignatureResult {
    let mut signed = format!("DKIM-Signature: {tags}\r\n").into_bytes();
    signed.extend_from_slice(&message());
    let mut results = block_on(verify(zone, &signed, NOW));
    results.remove(0)
}

#[test]
fn each_problem_has_its_result_and_reason() {
    let key = PrivateKey::generate_rsa().unwrap();
    let mut zone = zone_for(&key);
    zone.add(
        "revoked._domainkey.example.org",
        Record::Txt(vec![b"v=DKIM1; p=".to_vec()]),
    );
    zone.fail("down._domainkey.example.org", None);
    let base = "v=1; a=rsa-sha256; d=example.org; h=From; bh=AAAA; b=AAAA";
    let cases = [
        (
            format!("{base}; s=sel; a=rsa-sha1"),
            DkimResult::Permerror,
            "invalid signature: tag a= appears more than once",
        ),
        (
            base.replace("rsa-sha256", "rsa-sha1") + "; s=sel",
            DkimResult::Policy,
            "rsa-sha1 is not accepted (RFC 8301 3.1)",
        ),
        (
            format!("{base}; s=revoked"),
            DkimResult::Permerror,
            "the key at revoked._domainkey.example.org was revoked (empty p=)",
        ),
        (
            format!("{base}; s=down"),
            DkimResult::Temperror,
            "looking up the key at down._domainkey.example.org",
        ),
        (
            format!("{base}; s=gone"),
            DkimResult::Permerror,
            "no key record at gone._domainkey.example.org",
        ),
        (
            format!("{base}; s=sel; t=1; x=2"),
            DkimResult::Permerror,
            "the signature expired (x=2)",
        ),
        (
            format!("{base}; s=sel; l=3"),
            DkimResult::Policy,
            "l=3 leaves",
        ),
        (
            format!("{base}; s=sel"),
            DkimResult::Fail,
            "the body hash does not match",
        ),
        (
            base.replace("h=From", "h=To") + "; s=sel",
            DkimResult::Permerror,
            "invalid signature: tag h=: the From field is not signed",
        ),
        (
            format!("{base}; s=sel; i=@other.example"),
            DkimResult::Permerror,
            "invalid signature: tag i=: domain other.example is not d=example.org",
        ),
        (
            format!("{base}; s=sel; c=fancy"),
            DkimResult::Permerror,
            "invalid signature: tag c=: unknown canonicalization \"fancy\"",
        ),
        (
            base.replace("v=1", "v=2") + "; s=sel",
            DkimResult::Permerror,
            "invalid signature: tag v=: version \"2\" is not 1",
        ),
        (
            base.replace("; b=AAAA", "") + "; s=sel",
            DkimResult::Permerror,
            "invalid signature: tag b= is required",
        ),
        (
            format!("{base}; s=sel;;"),
            DkimResult::Permerror,
            "invalid signature: syntax error in the tag list",
        ),
    ];
    for (tags, result, reason) in cases {
        let r = verify_with(&zone, &tags);
        assert_eq!(r.result, result, "{tags}: {r:?}");
        assert!(r.reason.starts_with(reason), "{tags}: {}", r.reason);
    }
}

#[test]
fn key_records_and_signature_values_read_back() {
    for key in [
        PrivateKey::generate_rsa().unwrap(),
        PrivateKey::generate_ed25519().unwrap(),
    ] {
        let record = key.key_record().unwrap();
        assert_eq!(KeyRecord::parse(&record.to_text()).unwrap(), record);
        let pem = key.to_pem().unwrap();
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.key_record().unwrap(), record);
    }
    let record =
        KeyRecord::parse("v=DKIM1; h=sha256:sha512; k=ed25519; s=email; t=y:s; p=AAAA").unwrap();
    assert_eq!(
        record.to_text(),
        "v=DKIM1; k=ed25519; h=sha256:sha512; t=y:s; p=AAAA"
    );
    for bad in [
        "k=rsa; v=DKIM1; p=AAAA",
        "v=DKIM1; k=dsa; p=AAAA",
        "v=DKIM1; s=tlsrpt; p=AAAA",
        "v=DKIM1",
    ] {
        assert!(KeyRecord::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn white_space_around_the_b_value_is_not_signed() {
    let key = PrivateKey::generate_ed25519().unwrap();
    let zone = zone_for(&key);
    let message = signed(&key, Canon::Simple, Canon::Simple, &message());
    let text = String::from_utf8(message).unwrap();
    // RFC 6376 3.7 deletes b='s value with the white space around it.
    let respaced = text.replacen("\tb=", "\tb=\r\n\t  ", 1);
    assert_ne!(respaced, text);
    let results = block_on(verify(&zone, respaced.as_bytes(), NOW));
    assert_eq!(results[0].result, DkimResult::Pass, "{results:?}");
}
