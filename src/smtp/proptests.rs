//! Round trip: every valid command line parses, prints canonically, and the printed
//! form parses to the same command.

use proptest::prelude::*;

use super::Command;
use crate::address::proptests::{address_text, domain_text, host_text};
use crate::leniency::Leniencies;

fn xtext_value() -> impl Strategy<Value = String> {
    "[!-~]{1,20}".prop_map(|s| super::xtext_encode(&s))
}

fn mail_params() -> impl Strategy<Value = String> {
    let param = prop_oneof![
        (0u64..u64::MAX).prop_map(|n| format!("SIZE={n}")),
        proptest::sample::select(vec!["BODY=7BIT", "body=8bitmime", "BODY=BINARYMIME"])
            .prop_map(String::from),
        Just("SMTPUTF8".to_string()),
        Just("REQUIRETLS".to_string()),
        proptest::sample::select(vec!["RET=FULL", "ret=hdrs"]).prop_map(String::from),
        xtext_value().prop_map(|v| format!("ENVID={v}")),
        (0u32..999_999_999).prop_map(|n| format!("HOLDFOR={n}")),
        Just("HOLDUNTIL=2026-12-24T18:00:00+01:00".to_string()),
        xtext_value().prop_map(|v| format!("AUTH={v}")),
    ];
    // Each keyword at most once: keep the first of each.
    proptest::collection::vec(param, 0..5).prop_map(|params| {
        let mut seen = Vec::new();
        let mut out = String::new();
        for p in params {
            let key = p.split('=').next().unwrap_or("").to_ascii_uppercase();
            let key = if key.starts_with("HOLD") {
                "HOLD".to_string()
            } else {
                key
            };
            if !seen.contains(&key) {
                seen.push(key);
                out.push(' ');
                out.push_str(&p);
            }
        }
        out
    })
}

fn rcpt_params() -> impl Strategy<Value = String> {
    let notify = proptest::sample::select(vec![
        "",
        " NOTIFY=NEVER",
        " NOTIFY=SUCCESS",
        " NOTIFY=failure,delay",
    ]);
    let orcpt = prop_oneof![
        Just(String::new()),
        xtext_value().prop_map(|v| format!(" ORCPT=rfc822;{v}"))
    ];
    (notify, orcpt).prop_map(|(n, o)| format!("{n}{o}"))
}

fn command_line() -> impl Strategy<Value = String> {
    prop_oneof![
        host_text().prop_map(|h| format!("EHLO {h}")),
        domain_text().prop_map(|d| format!("helo {d}")),
        (
            prop_oneof![
                Just("<>".to_string()),
                address_text().prop_map(|a| format!("<{a}>"))
            ],
            mail_params()
        )
            .prop_map(|(p, params)| format!("MAIL FROM:{p}{params}")),
        (
            prop_oneof![
                Just("<Postmaster>".to_string()),
                address_text().prop_map(|a| format!("<{a}>"))
            ],
            rcpt_params()
        )
            .prop_map(|(p, params)| format!("RCPT TO:{p}{params}")),
        (any::<u64>(), any::<bool>())
            .prop_map(|(n, last)| format!("BDAT {n}{}", if last { " LAST" } else { "" })),
        proptest::sample::select(vec!["DATA", "RSET", "QUIT", "STARTTLS", "NOOP", "HELP"])
            .prop_map(String::from),
        "[A-Za-z0-9._-]{1,10}".prop_map(|s| format!("VRFY {s}")),
        (
            "[A-Z0-9_-]{1,20}",
            prop_oneof![
                Just(String::new()),
                Just(" =".to_string()),
                "[A-Za-z0-9+/]{1,40}".prop_map(|b| format!(" {b}"))
            ]
        )
            .prop_map(|(m, r)| format!("AUTH {m}{r}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn commands_round_trip(line in command_line()) {
        let parse = |s: &str| Command::parse(s, Leniencies::PEDANTIC);
        let command = match parse(&line) {
            Ok(c) => c,
            // Generated addresses can be too long for a path; tested elsewhere.
            Err(e) if e.to_string().contains("octets") => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{line:?} was rejected: {e}"))),
        };
        let shown = command.to_string();
        let again = parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?} does not parse: {e}")))?;
        prop_assert_eq!(&again, &command);
        prop_assert_eq!(again.to_string(), shown);
    }
}

fn reply() -> impl Strategy<Value = super::Reply> {
    let enhanced = proptest::option::of((0u16..1000, 0u16..1000));
    // Text as servers write it: no CR or LF, not starting with a space or with
    // something that reads as an enhanced code.
    let line = "([A-Za-z<>@:;/()'\"-][ -~\u{e9}\u{4e2d}]{0,40})?";
    (200u16..560, enhanced, proptest::collection::vec(line, 1..5)).prop_map(
        |(code, enhanced, lines)| super::Reply {
            code,
            enhanced: enhanced.and_then(|(s, d)| {
                matches!(code / 100, 2 | 4 | 5).then(|| super::Enhanced((code / 100) as u8, s, d))
            }),
            lines,
        },
    )
}

proptest! {
    #[test]
    fn replies_parse_back_from_their_wire_form(reply in reply()) {
        prop_assume!(reply.code % 100 / 10 <= 5);
        let wire = reply.to_string();
        let lines: Vec<super::ReplyLine> = wire
            .split_terminator("\r\n")
            .map(|l| super::ReplyLine::parse(l).unwrap())
            .collect();
        prop_assert_eq!(lines.iter().filter(|l| !l.more).count(), 1);
        prop_assert_eq!(super::Reply::from_lines(&lines).unwrap(), reply);
    }
}
