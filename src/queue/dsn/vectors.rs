//! Every message in `rfc-vectors/rfc3464/` read with `parse`: CPython's DSN samples
//! (`cpython/`, see its SOURCE.txt) and reports written for this project in the
//! layouts of Postfix, Exim and a large webmail provider, each with the fields it
//! must give, or the error.

use std::path::{Path, PathBuf};

use super::*;

/// The vector files under `dir`, paths relative to the rfc3464 folder, sorted; the
/// README, SOURCE.txt and LICENSE files are not vectors.
fn files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the vector folder reads") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            files(root, &path, out);
        } else if !matches!(name, "README.md" | "SOURCE.txt" | "LICENSE") {
            out.push(path.strip_prefix(root).expect("under root").to_path_buf());
        }
    }
}

#[test]
fn every_vector_gives_its_fields() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rfc-vectors/rfc3464");
    let mut paths = Vec::new();
    files(&root, &root, &mut paths);
    paths.sort();
    assert_eq!(paths.len(), 11, "{paths:?}");
    for path in paths {
        let raw = std::fs::read(root.join(&path)).expect("the vector reads");
        let name = path.to_str().expect("vector names are UTF-8");
        check(name, parse(&raw));
    }
}

fn typed(kind: &str, value: &str) -> Typed {
    Typed {
        kind: kind.into(),
        value: value.into(),
    }
}

/// The final recipient's address, the action and the status of each recipient.
fn outcomes(report: &ParsedReport) -> Vec<(&str, Action, Enhanced)> {
    report
        .recipients
        .iter()
        .map(|r| (r.final_recipient.value.as_str(), r.action, r.status))
        .collect()
}

fn check(name: &str, result: Result<ParsedReport, DsnError>) {
    let error = |result: Result<ParsedReport, DsnError>| match result {
        Ok(report) => panic!("{name}: read as {report:?}"),
        Err(e) => e.to_string(),
    };
    if matches!(name, "cpython/msg_05.txt" | "cpython/msg_25.txt") {
        assert_eq!(result, Err(DsnError::NotAReport), "{name}");
        return;
    }
    match name {
        "missing-status.eml" => assert_eq!(
            error(result),
            "delivery-status line 3: the per-recipient fields there have no Status field, \
             which RFC 3464 2.1 requires"
        ),
        "bad-status.eml" => assert_eq!(
            error(result),
            "delivery-status line 5: Status: unexpected '5' at 10, expected '.'"
        ),
        _ => {
            let report = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            check_report(name, &report);
        }
    }
}

fn check_report(name: &str, report: &ParsedReport) {
    let first = &report.recipients[0];
    let id = report.original_message_id.as_deref();
    match name {
        "cpython/msg_16.txt" => {
            assert_eq!(report.reporting_mta, typed("dns", "cougar.noc.ucla.edu"));
            assert_eq!(
                report.envid.as_deref(),
                Some("0GK500B4HD0888@cougar.noc.ucla.edu")
            );
            let address = "jangel1@cougar.noc.ucla.edu";
            assert_eq!(
                outcomes(report),
                [(address, Action::Failed, Enhanced(5, 0, 0))]
            );
            assert_eq!(first.original_recipient, Some(typed("rfc822", address)));
            assert_eq!(id, Some("002001c144a6$8752e060$56104586@oxy.edu"));
        }
        "cpython/msg_43.txt" => {
            assert_eq!(report.reporting_mta, typed("dns", "sacspam01.dot.ca.gov"));
            let from = typed("smtp", "sacspam01.dot.ca.gov ([127.0.0.1])");
            assert_eq!(report.received_from_mta, Some(from));
            assert_eq!(report.arrival, Some(1101526904));
            assert_eq!(report.recipients.len(), 25);
            for r in &report.recipients {
                assert_eq!((r.action, r.status), (Action::Failed, Enhanced(5, 7, 1)));
                assert_eq!(r.last_attempt, Some(1101526904));
                let reply = r.diagnostic.as_ref().and_then(Typed::smtp_reply).unwrap();
                assert_eq!((reply.code, reply.enhanced), (550, Some(Enhanced(5, 7, 1))));
            }
            assert_eq!(first.final_recipient, typed("rfc822", "xxxxxxx@dot.ca.gov"));
            assert_eq!(id, Some("edab.7804f5cb8070@python.org"));
        }
        "postfix-failed.eml" => {
            assert_eq!(report.arrival, Some(1700000000));
            let address = "nobody@example.net";
            assert_eq!(
                outcomes(report),
                [(address, Action::Failed, Enhanced(5, 1, 1))]
            );
            assert_eq!(first.original_recipient, Some(typed("rfc822", address)));
            assert_eq!(first.remote_mta, Some(typed("dns", "mx.example.net")));
            let reply = first
                .diagnostic
                .as_ref()
                .and_then(Typed::smtp_reply)
                .unwrap();
            assert_eq!(
                reply.lines,
                ["No such mailbox here", "Check the    address"]
            );
            assert_eq!(id, Some("test-1700000000@example.com"));
        }
        "postfix-delayed.eml" => {
            let address = "slow@example.org";
            assert_eq!(
                outcomes(report),
                [(address, Action::Delayed, Enhanced(4, 4, 1))]
            );
            assert_eq!(first.will_retry_until, Some(1700604800));
            let diagnostic = first.diagnostic.as_ref().unwrap();
            assert_eq!(diagnostic.kind, "x-postfix");
            assert!(diagnostic.value.ends_with(":25:    Connection timed out"));
            assert_eq!(id, Some("later-1700000000@example.com"));
        }
        "exim-failed.eml" => {
            assert_eq!(report.reporting_mta, typed("dns", "mail.example.org"));
            let address = "bob@example.net";
            assert_eq!(
                outcomes(report),
                [(address, Action::Failed, Enhanced(5, 0, 0))]
            );
            let reply = first
                .diagnostic
                .as_ref()
                .and_then(Typed::smtp_reply)
                .unwrap();
            assert_eq!(reply.enhanced, Some(Enhanced(5, 1, 1)));
            assert_eq!(
                reply.lines,
                ["<bob@example.net>: Recipient address rejected: unknown"]
            );
            assert_eq!(id, Some("E1r3xYy-000AbB-Pv@mail.example.org"));
        }
        "gmail-style-failed.eml" => {
            assert_eq!(report.arrival, Some(1700503199));
            let address = "nosuch@example.org";
            assert_eq!(
                outcomes(report),
                [(address, Action::Failed, Enhanced(5, 1, 1))]
            );
            assert_eq!(first.last_attempt, Some(1700503205));
            let reply = first
                .diagnostic
                .as_ref()
                .and_then(Typed::smtp_reply)
                .unwrap();
            assert_eq!(reply.lines.len(), 3);
            assert_eq!(
                reply.lines[2],
                "https://help.example.com/?p=NoSuchUser q5-xyz"
            );
            assert_eq!(id, Some("CAplans-42@mail.example.com"));
        }
        "global-utf8.eml" => {
            assert!(report.global);
            assert_eq!(report.arrival, Some(1701428400));
            assert_eq!(
                outcomes(report),
                [
                    ("jürgen@bücher.example", Action::Failed, Enhanced(5, 1, 1)),
                    (
                        "søren+news@example.dk",
                        Action::Delivered,
                        Enhanced(2, 0, 0)
                    ),
                ]
            );
            let original = typed("utf-8", "Jürgen@bücher.example");
            assert_eq!(first.original_recipient, Some(original));
            assert_eq!(first.remote_mta, Some(typed("dns", "mx.bücher.example")));
            let reply = first
                .diagnostic
                .as_ref()
                .and_then(Typed::smtp_reply)
                .unwrap();
            assert_eq!(reply.lines, ["Empfänger unbekannt"]);
            assert_eq!(id, Some("grüße-1@example.de"));
        }
        _ => panic!("{name}: a vector without expectations"),
    }
}
