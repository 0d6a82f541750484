//! parse(compose(x)) gives back x's fields, for reports with multi-line replies,
//! long text that must be folded, and non-ASCII addresses in the global form; and
//! parse never panics on what it is given.

use proptest::prelude::*;

use super::tests::assert_reads_back;
use super::*;
use crate::smtp::Ret;

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,10}(\\.[a-z0-9-]{1,10}){0,3}",
        "[a-zä-ÿ]{1,10}\\.[a-z]{2,6}",
    ]
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._+-]{1,12}@[a-z0-9]{1,10}\\.example",
        "[a-zà-ÿα-ω0-9.+]{1,12}@[a-zß-ÿ]{1,10}\\.example",
    ]
}

fn orcpt() -> impl Strategy<Value = Orcpt> {
    prop_oneof![
        "[a-z0-9._+-]{1,12}@[A-Za-z0-9]{1,10}\\.example".prop_map(|a| ("rfc822", a)),
        address().prop_map(|a| ("utf-8", a)),
        address().prop_map(|a| ("UTF-8", a)),
    ]
    .prop_map(|(addr_type, address)| Orcpt {
        addr_type: addr_type.into(),
        address,
    })
}

/// A reply whose text has no digits, so no line can pass for the start of another,
/// and whose enhanced code, when it has one, agrees with the reply code's class.
fn reply() -> impl Strategy<Value = Reply> {
    let line = prop::collection::vec("[A-Za-z<>@.:,;()/?=_'\"-]{1,14}", 0..30)
        .prop_map(|words| words.join(" "));
    (
        prop::sample::select(vec![2u16, 4, 5]),
        0u16..6,
        0u16..10,
        prop::option::of((0u16..1000, 0u16..1000)),
        prop::collection::vec(line, 1..5),
    )
        .prop_map(|(class, second, third, enhanced, lines)| Reply {
            code: class * 100 + second * 10 + third,
            enhanced: enhanced.map(|(s, d)| Enhanced(class as u8, s, d)),
            lines,
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(vec![
        Action::Failed,
        Action::Delayed,
        Action::Delivered,
        Action::Relayed,
        Action::Expanded,
    ])
}

fn time() -> impl Strategy<Value = i64> {
    0i64..4_102_444_800
}

fn recipient() -> impl Strategy<Value = RecipientStatus> {
    (
        (address(), prop::option::of(orcpt()), action()),
        (
            prop::sample::select(vec![2u8, 4, 5]),
            0u16..1000,
            0u16..1000,
        ),
        (prop::option::of(host()), prop::option::of(reply())),
        (prop::option::of(time()), prop::option::of(time())),
    )
        .prop_map(
            |((final_recipient, original_recipient, action), status, mta, times)| RecipientStatus {
                final_recipient,
                original_recipient,
                action,
                status: Enhanced(status.0, status.1, status.2),
                remote_mta: mta.0,
                diagnostic: mta.1,
                reason: None,
                last_attempt: times.0,
                will_retry_until: times.1,
            },
        )
}

fn report() -> impl Strategy<Value = Report> {
    (
        host(),
        prop::option::of("[!-~]([ !-~]{0,30}[!-~])?"),
        time(),
        any::<bool>(),
        prop::collection::vec(recipient(), 1..5),
    )
        .prop_map(
            |(reporting_mta, envid, arrival, smtputf8, recipients)| Report {
                reporting_mta,
                envid,
                arrival,
                smtputf8,
                recipients,
            },
        )
}

/// What decides the global form, seen from outside: SMTPUTF8 or an address that is
/// not ASCII.
fn expect_global(report: &Report) -> bool {
    report.smtputf8
        || report.recipients.iter().any(|r| {
            !r.final_recipient.is_ascii()
                || r.original_recipient
                    .as_ref()
                    .is_some_and(|o| !o.address.is_ascii())
        })
}

/// What the report's host names read back as: in an ASCII report, a non-ASCII
/// character is written as '?'.
fn as_written(report: &Report, global: bool) -> Report {
    let ascii = |text: &str| -> String {
        let ascii = |c: char| if global || c.is_ascii() { c } else { '?' };
        text.chars().map(ascii).collect()
    };
    let mut written = report.clone();
    written.reporting_mta = ascii(&report.reporting_mta);
    for r in &mut written.recipients {
        r.remote_mta = r.remote_mta.as_deref().map(ascii);
    }
    written
}

proptest! {
    #[test]
    fn composed_reports_read_back(
        report in report(),
        ret in prop::option::of(prop::sample::select(vec![Ret::Full, Ret::Hdrs])),
    ) {
        let original = b"From: a@example.com\r\nMessage-ID: <m@example.com>\r\n\r\nhi\r\n";
        let dsn = compose(&report, "postmaster@example.com", "a@example.com", original, ret, 0, "m");
        let global = expect_global(&report);
        let written = as_written(&report, global);
        assert_reads_back(&written, &dsn, global);
        let parsed = parse(&dsn).unwrap();
        prop_assert_eq!(parsed.original_message_id.as_deref(), Some("m@example.com"));
    }

    #[test]
    fn parse_never_panics(raw in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(&raw);
    }

    #[test]
    fn any_status_content_reads_or_says_which_line(lines in prop::collection::vec("[ -~\t]{0,40}", 0..12)) {
        let content = lines.join("\r\n");
        let raw = format!(
            "Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\n\
             Content-Type: message/delivery-status\r\n\r\n{content}\r\n--b--\r\n"
        );
        if let Err(
            DsnError::Line { line, .. }
            | DsnError::Field { line, .. }
            | DsnError::Repeated { line, .. },
        ) = parse(raw.as_bytes())
        {
            prop_assert!(line >= 1 && line <= lines.len().max(1), "{line}");
        }
    }
}
