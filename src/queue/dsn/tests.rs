//! Generated DSNs (insta snapshots in `snapshots/`), read back with `parse`, and
//! `parse` on hand-made reports: what it accepts and how it says what is wrong.

use super::*;
use crate::smtp::Ret;

/// Sun, 22 Nov 2026 17:23:03 +0000.
const ARRIVAL: i64 = 1795368183;

const ORIGINAL: &[u8] = b"From: Alice <alice@example.com>\r\n\
    To: Bob <bob@example.org>\r\n\
    Subject: Lunch\r\n\
    Message-ID: <lunch-1@example.com>\r\n\
    Date: Sun, 22 Nov 2026 17:23:00 +0000\r\n\
    \r\n\
    Shall we meet at noon?\r\n";

fn reply(code: u16, enhanced: Enhanced, lines: &[&str]) -> Reply {
    Reply {
        code,
        enhanced: Some(enhanced),
        lines: lines.iter().map(|l| l.to_string()).collect(),
    }
}

fn recipient(address: &str, action: Action, status: Enhanced) -> RecipientStatus {
    RecipientStatus {
        final_recipient: address.into(),
        original_recipient: None,
        action,
        status,
        remote_mta: None,
        diagnostic: None,
        reason: None,
        last_attempt: None,
        will_retry_until: None,
    }
}

fn report(recipients: Vec<RecipientStatus>) -> Report {
    Report {
        reporting_mta: "mx.example.com".into(),
        envid: None,
        arrival: ARRIVAL,
        smtputf8: false,
        recipients,
    }
}

/// A failure with the remote server's three-line reply.
fn failure() -> Report {
    let mut bob = recipient("bob@example.org", Action::Failed, Enhanced(5, 1, 1));
    bob.original_recipient = Some(Orcpt {
        addr_type: "rfc822".into(),
        address: "Bob@Example.org".into(),
    });
    bob.remote_mta = Some("mx1.example.org".into());
    bob.diagnostic = Some(reply(
        550,
        Enhanced(5, 1, 1),
        &[
            "The mailbox you tried to reach does not exist here. Please check the",
            "address for typing errors, and see https://help.example.org/nosuchuser",
            "for more.",
        ],
    ));
    bob.last_attempt = Some(ARRIVAL + 65);
    let mut report = report(vec![bob]);
    report.envid = Some("QQ314159".into());
    report
}

fn compose_test(report: &Report, original: &[u8], ret: Option<Ret>) -> Vec<u8> {
    compose(
        report,
        "postmaster@mx.example.com",
        "alice@example.com",
        original,
        ret,
        ARRIVAL + 120,
        "dsn-1@mx.example.com",
    )
}

/// The DSN as text for a snapshot, after checking its lines: CRLF only, none over
/// 998 octets, and header-like lines (all but the returned message's body) within 78
/// characters unless they cannot be folded.
fn shown(dsn: &[u8]) -> String {
    let text = String::from_utf8(dsn.to_vec()).expect("these DSNs are UTF-8");
    let lines: Vec<&str> = text.split("\r\n").collect();
    for line in &lines {
        assert!(!line.contains(['\r', '\n']), "bare CR or LF in {line:?}");
        assert!(line.len() <= 998, "line over 998 octets: {line:?}");
    }
    assert_eq!(lines.last(), Some(&""), "the DSN ends in CRLF");
    text.replace("\r\n", "\n")
}

/// Checks that `parse` reads back what `compose` wrote about `report`.
pub(super) fn assert_reads_back(report: &Report, dsn: &[u8], global: bool) {
    let parsed = parse(dsn).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(dsn)));
    assert_eq!(parsed.global, global);
    assert_eq!(parsed.envid, report.envid);
    assert_eq!(parsed.reporting_mta, typed("dns", &report.reporting_mta));
    assert_eq!(parsed.arrival, Some(report.arrival));
    assert_eq!(parsed.recipients.len(), report.recipients.len());
    for (got, sent) in parsed.recipients.iter().zip(&report.recipients) {
        let kind = if sent.final_recipient.is_ascii() {
            "rfc822"
        } else {
            "utf-8"
        };
        assert_eq!(got.final_recipient, typed(kind, &sent.final_recipient));
        let orcpt = sent.original_recipient.as_ref().map(|o| {
            let kind = o.addr_type.to_ascii_lowercase();
            let address = match kind.as_str() {
                "utf-8" => read::decode_utf8_address(&o.address),
                _ => o.address.clone(),
            };
            typed(&kind, &address)
        });
        assert_eq!(got.original_recipient, orcpt);
        assert_eq!((got.action, got.status), (sent.action, sent.status));
        assert_eq!(
            got.remote_mta,
            sent.remote_mta.as_deref().map(|m| typed("dns", m))
        );
        assert_eq!(
            got.diagnostic.as_ref().map(|d| d.smtp_reply()),
            sent.diagnostic.clone().map(Some)
        );
        assert_eq!(got.last_attempt, sent.last_attempt);
        let until = sent
            .will_retry_until
            .filter(|_| sent.action == Action::Delayed);
        assert_eq!(got.will_retry_until, until);
        assert_eq!(got.final_log_id, None);
    }
}

fn typed(kind: &str, value: &str) -> Typed {
    Typed {
        kind: kind.into(),
        value: value.into(),
    }
}

#[test]
fn a_failure_quotes_the_whole_reply_and_returns_the_message() {
    let report = failure();
    let dsn = compose_test(&report, ORIGINAL, None);
    insta::assert_snapshot!("failure_multiline_reply", shown(&dsn));
    assert_reads_back(&report, &dsn, false);
    let parsed = parse(&dsn).unwrap();
    assert_eq!(
        parsed.original_message_id.as_deref(),
        Some("lunch-1@example.com")
    );
}

#[test]
fn a_delay_says_until_when_and_returns_the_header() {
    let mut carol = recipient("carol@example.net", Action::Delayed, Enhanced(4, 4, 1));
    carol.remote_mta = Some("mx.example.net".into());
    carol.diagnostic = Some(reply(421, Enhanced(4, 4, 1), &["Connection timed out"]));
    carol.last_attempt = Some(ARRIVAL + 4 * 3600);
    carol.will_retry_until = Some(ARRIVAL + 5 * 86400);
    let report = report(vec![carol]);
    let dsn = compose_test(&report, ORIGINAL, None);
    insta::assert_snapshot!("delay_will_retry_until", shown(&dsn));
    assert_reads_back(&report, &dsn, false);
}

#[test]
fn ret_hdrs_returns_only_the_header() {
    let report = failure();
    let dsn = compose_test(&report, ORIGINAL, Some(Ret::Hdrs));
    insta::assert_snapshot!("failure_ret_hdrs", shown(&dsn));
    assert_reads_back(&report, &dsn, false);
    let parsed = parse(&dsn).unwrap();
    assert_eq!(
        parsed.original_message_id.as_deref(),
        Some("lunch-1@example.com")
    );
    assert!(!shown(&dsn).contains("Shall we meet"));
}

#[test]
fn smtputf8_reports_take_the_global_forms() {
    let mut jorg = recipient("jörg@bücher.example", Action::Failed, Enhanced(5, 2, 2));
    jorg.original_recipient = Some(Orcpt {
        addr_type: "utf-8".into(),
        address: "J\\x{F6}rg+buch@b\\x{FC}cher.example".into(),
    });
    jorg.remote_mta = Some("mx.bücher.example".into());
    jorg.diagnostic = Some(reply(
        552,
        Enhanced(5, 2, 2),
        &["Postfach von Jörg ist voll"],
    ));
    let mut report = report(vec![jorg]);
    report.smtputf8 = true;
    let original = "From: Zoë <zoë@example.com>\r\nMessage-ID: <ü@example.com>\r\n\r\nGrüße\r\n";
    let dsn = compose(
        &report,
        "postmaster@mx.example.com",
        "zoë@example.com",
        original.as_bytes(),
        None,
        ARRIVAL + 120,
        "dsn-2@mx.example.com",
    );
    insta::assert_snapshot!("smtputf8_global", shown(&dsn));
    assert_reads_back(&report, &dsn, true);
    assert_eq!(
        parse(&dsn).unwrap().original_message_id.as_deref(),
        Some("ü@example.com")
    );
}

#[test]
fn several_recipients_each_get_a_group() {
    let mut failed = recipient("dave@example.org", Action::Failed, Enhanced(5, 7, 1));
    failed.remote_mta = Some("mx.example.org".into());
    failed.diagnostic = Some(reply(554, Enhanced(5, 7, 1), &["Relay access denied"]));
    let mut delayed = recipient("erin@example.net", Action::Delayed, Enhanced(4, 2, 2));
    delayed.diagnostic = Some(Reply {
        code: 452,
        enhanced: None,
        lines: vec!["Mailbox full, try later".into()],
    });
    delayed.will_retry_until = Some(ARRIVAL + 86400);
    let mut report = report(vec![
        failed,
        recipient("frank@example.com", Action::Delivered, Enhanced(2, 0, 0)),
        delayed,
        recipient("grace@example.com", Action::Relayed, Enhanced(2, 0, 0)),
        recipient("list@example.com", Action::Expanded, Enhanced(2, 0, 0)),
        recipient("heidi@example.org", Action::Failed, Enhanced(5, 1, 2)),
    ]);
    report.envid = Some("batch 7".into());
    let dsn = compose_test(&report, ORIGINAL, Some(Ret::Full));
    insta::assert_snapshot!("several_recipients", shown(&dsn));
    assert_reads_back(&report, &dsn, false);
}

#[test]
fn large_or_binary_messages_go_back_as_their_header() {
    let report = failure();
    let mut large = ORIGINAL.to_vec();
    large.extend(b"0123456789abcdef0123456789abcdef0123456789abcdef\r\n".repeat(6000));
    let dsn = shown(&compose_test(&report, &large, Some(Ret::Full)));
    assert!(
        dsn.contains("larger than 256 KiB, so only its header"),
        "{dsn}"
    );
    assert!(dsn.contains("Content-Type: text/rfc822-headers"));
    let binary = b"Subject: bin\r\n\r\nraw\nbytes\0\r\n";
    let dsn = shown(&compose_test(&report, binary, None));
    assert!(dsn.contains("its body has lines a report"), "{dsn}");
    assert!(dsn.contains("Subject: bin\n\n--"), "{dsn}");
    let bare_header = b"Subject: a\nb\r\n\r\nbody\r\n";
    let dsn = shown(&compose_test(&report, bare_header, None));
    assert!(dsn.contains("cannot be attached"), "{dsn}");
    assert_eq!(
        parse(dsn.replace('\n', "\r\n").as_bytes())
            .unwrap()
            .original_message_id,
        None
    );
}

#[test]
fn remote_text_cannot_add_fields_or_end_parts() {
    let mut report = failure();
    let bob = &mut report.recipients[0];
    bob.remote_mta = Some("evil.example\r\nX-Injected: 1".into());
    bob.diagnostic = Some(reply(
        550,
        Enhanced(5, 0, 0),
        &["no\r\nX-Injected: 2", "--=_dsn_ and more\r\n\r\nBody"],
    ));
    bob.final_recipient = "bob@example.org\r\nBcc: victim@example.net".into();
    let dsn = compose_test(&report, ORIGINAL, None);
    let text = shown(&dsn);
    for line in text.lines() {
        assert!(
            !line.starts_with("X-Injected") && !line.starts_with("Bcc"),
            "{line}"
        );
    }
    let parsed = parse(&dsn).unwrap();
    let got = &parsed.recipients[0];
    assert_eq!(
        got.remote_mta,
        Some(typed("dns", "evil.example  X-Injected: 1"))
    );
    let lines = got
        .diagnostic
        .as_ref()
        .and_then(Typed::smtp_reply)
        .unwrap()
        .lines;
    assert_eq!(lines, ["no  X-Injected: 2", "--=_dsn_ and more    Body"]);
    assert_eq!(
        parsed.original_message_id.as_deref(),
        Some("lunch-1@example.com")
    );
}

#[test]
fn a_boundary_found_in_the_content_is_not_used() {
    let report = failure();
    let first = shown(&compose_test(&report, ORIGINAL, None));
    let boundary = first
        .lines()
        .find_map(|l| l.strip_prefix(" boundary=\""))
        .and_then(|b| b.strip_suffix('"'))
        .unwrap()
        .to_string();
    let mut original = ORIGINAL.to_vec();
    original.extend(format!("--{boundary}--\r\n").as_bytes());
    let dsn = compose_test(&report, &original, None);
    assert_reads_back(&report, &dsn, false);
    assert!(!shown(&dsn).contains(&format!("boundary=\"{boundary}\"")));
}

/// A report as other MTAs write them: fields in another order, folded, commented,
/// with X- fields and LF line ends.
const HAND_MADE: &str = "From: MAILER-DAEMON@relay.example\n\
    MIME-Version: 1.0\n\
    Content-Type: multipart/mixed; boundary=outer\n\
    \n\
    --outer\n\
    Content-Type: multipart/report; boundary=\"b\"\n\
    \n\
    --b\n\
    Content-Type: text/plain\n\
    \n\
    It bounced.\n\
    --b\n\
    Content-Type: message/delivery-status\n\
    Content-Transfer-Encoding: quoted-printable\n\
    \n\
    X-Queue-ID: 4Ab=\n\
    C\n\
    reporting-mta : DNS ; relay.example (relay)\n\
    Arrival-Date: Thu, 1 Jan 2026 00:00:00 -0500 (EST)\n\
    \n\
    \n\
    Action: Delayed (still trying)\n\
    Status: 4.4.7\n\
    Final-Recipient: RFC822; <ivan@example.org>\n\
    Diagnostic-Code: X-Postfix; connect to mx.example.org[192.0.2.1]:25:\n\
    \tConnection refused\n\
    Final-Log-ID: 1234 (local)\n\
    Will-Retry-Until: Fri, 2 Jan 2026 00:00:00 -0500\n\
    --b\n\
    Content-Type: text/rfc822-headers\n\
    \n\
    Message-Id: <x-1@example.com> (a comment)\n\
    --b--\n\
    --outer--\n";

#[test]
fn other_mtas_reports_read_with_their_quirks() {
    let parsed = parse(HAND_MADE.as_bytes()).unwrap();
    assert!(!parsed.global);
    assert_eq!(parsed.reporting_mta, typed("dns", "relay.example (relay)"));
    assert_eq!(parsed.arrival, Some(1767243600));
    let [ivan] = &parsed.recipients[..] else {
        panic!("{parsed:?}")
    };
    assert_eq!(ivan.final_recipient, typed("rfc822", "ivan@example.org"));
    assert_eq!(
        (ivan.action, ivan.status),
        (Action::Delayed, Enhanced(4, 4, 7))
    );
    let diagnostic = ivan.diagnostic.as_ref().unwrap();
    assert_eq!(diagnostic.kind, "x-postfix");
    assert_eq!(
        diagnostic.value,
        "connect to mx.example.org[192.0.2.1]:25:\tConnection refused"
    );
    assert_eq!(diagnostic.smtp_reply(), None);
    assert_eq!(ivan.final_log_id.as_deref(), Some("1234 (local)"));
    assert_eq!(ivan.will_retry_until, Some(1767330000));
    assert_eq!(
        parsed.original_message_id.as_deref(),
        Some("x-1@example.com")
    );
}

#[test]
fn smtp_diagnostics_split_into_reply_lines() {
    let reply = |value: &str| typed("smtp", value).smtp_reply();
    let gmail_like = "550-5.1.1 The account does not exist. Please try 550-5.1.1 \
                      checking the address. 550 5.1.1 https://x.example/?p=NoSuchUser";
    assert_eq!(
        reply(gmail_like),
        Some(Reply {
            code: 550,
            enhanced: Some(Enhanced(5, 1, 1)),
            lines: vec![
                "The account does not exist. Please try".into(),
                "checking the address.".into(),
                "https://x.example/?p=NoSuchUser".into(),
            ],
        })
    );
    let single = reply("550 5.1.1 <x@y>: Recipient address rejected 550-like text").unwrap();
    assert_eq!(
        single.lines,
        ["<x@y>: Recipient address rejected 550-like text"]
    );
    assert_eq!(reply("550-a 550-b").unwrap().lines, ["a", "b"]);
    assert_eq!(reply("mailbox unavailable"), None);
    // A line that says more follow when none does (a cut reply) ends the reply.
    assert_eq!(reply("550-a 551 b").unwrap().lines, ["a 551 b"]);
    assert_eq!(reply("550 a").unwrap().enhanced, None);
    assert_eq!(typed("x-unix", "550 a").smtp_reply(), None);
}

/// `HAND_MADE` with its delivery-status content replaced.
fn with_status(content: &str) -> String {
    format!(
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\n{content}\r\n--b--\r\n"
    )
}

#[test]
fn errors_say_what_is_wrong_where() {
    let error = |content: &str| {
        parse(with_status(content).as_bytes())
            .unwrap_err()
            .to_string()
    };
    let good_message = "Reporting-MTA: dns; a.example\r\n\r\n";
    let cases = [
        (
            "Final-Recipient: rfc822; b@x\r\nAction: failed\r\nStatus: 5.0.0",
            "delivery-status line 1: the per-message fields there have no Reporting-MTA \
             field, which RFC 3464 2.1 requires",
        ),
        (
            "Reporting-MTA: dns; a.example",
            "delivery-status: no per-recipient fields (RFC 3464 2.1 asks for at least one group)",
        ),
        (
            "Reporting-MTA: dns; a.example\r\n\r\nFinal-Recipient: rfc822; b@x\r\nAction: failed",
            "delivery-status line 3: the per-recipient fields there have no Status field, \
             which RFC 3464 2.1 requires",
        ),
        (
            "Reporting-MTA: dns; a\r\nReporting-MTA: dns; b\r\n\r\nX: y",
            "delivery-status line 2: Reporting-MTA appears twice in one group (RFC 3464 2.1)",
        ),
        (
            " folded: nothing\r\nReporting-MTA: dns; a",
            "delivery-status line 1: a continuation line without a field before it",
        ),
        (
            "Reporting-MTA dns; a",
            "delivery-status line 1: not a field: unexpected 'd' at 15, expected ':'",
        ),
        (
            "Reporting-MTA: a.example",
            "delivery-status line 1: Reporting-MTA: unexpected '.' at 17, expected ';'",
        ),
    ];
    for (content, expected) in cases {
        assert_eq!(error(content), expected, "{content}");
    }
    let status =
        format!("{good_message}Final-Recipient: rfc822; b@x\r\nAction: failed\r\nStatus: 5.1");
    assert_eq!(
        error(&status),
        "delivery-status line 5: Status: unexpected end at 12, expected 1 to 3 digits or '.'"
    );
    let long = format!("{good_message}X-Long: {}", "x".repeat(1000));
    assert_eq!(
        error(&long),
        "delivery-status line 3: longer than 998 octets"
    );
    let mut latin1 = with_status("Reporting-MTA: dns; a\r\n\r\nX: ").into_bytes();
    let at = latin1.windows(3).position(|w| w == b"X: ").unwrap() + 3;
    latin1.insert(at, 0xe9);
    assert_eq!(
        parse(&latin1).unwrap_err().to_string(),
        "delivery-status line 3: not UTF-8 at octet 4"
    );
    assert_eq!(
        parse(b"Subject: hi\r\n\r\nhello\r\n"),
        Err(DsnError::NotAReport)
    );
    let encoded = with_status("x").replace(
        "delivery-status\r\n",
        "delivery-status\r\nContent-Transfer-Encoding: x-uuencode\r\n",
    );
    assert_eq!(
        parse(encoded.as_bytes()),
        Err(DsnError::Encoding("x-uuencode".into()))
    );
}
