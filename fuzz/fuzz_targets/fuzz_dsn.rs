//! Received delivery status notifications: no input may panic, whether it comes as a
//! whole message or as the content of a delivery-status part (which reaches the
//! field grammar on most inputs). A report that reads, written again with `compose`
//! and read back, keeps its recipients, actions and statuses, and is then stable
//! (writing makes remote text safe, so the first pass may change text), unless
//! writing had to cut a line: text without white space over 998 octets cannot be
//! folded, and the cut adds a space.

#![no_main]

use gannet::queue::dsn::{self, ParsedReport, RecipientStatus, Report};
use gannet::smtp::{Orcpt, Reply};
use libfuzzer_sys::fuzz_target;

const HEAD: &[u8] = b"Content-Type: multipart/report; report-type=delivery-status;\r\n \
    boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n";
const TAIL: &[u8] = b"\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
    Message-ID: <m@example.com>\r\n\r\nhi\r\n--b--\r\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = dsn::parse(data) {
        check_round_trip(&report);
    }
    let wrapped = [HEAD, data, TAIL].concat();
    if let Ok(report) = dsn::parse(&wrapped) {
        check_round_trip(&report);
    }
});

/// A line this long was (most likely) cut rather than folded.
const CUT_LINE: usize = 990;

fn check_round_trip(first: &ParsedReport) {
    let (second, _) = rewrite(first);
    let outcomes = |r: &ParsedReport| -> Vec<_> {
        r.recipients.iter().map(|r| (r.action, r.status)).collect()
    };
    assert_eq!(outcomes(&second), outcomes(first));
    let (third, cut) = rewrite(&second);
    if !cut {
        assert_eq!(meaning(&third), meaning(&second));
    }
}

/// The report with each diagnostic taken out as the reply it reads as: the same reply
/// may be written two ways (a line's text that starts like an enhanced code becomes
/// one once written).
fn meaning(report: &ParsedReport) -> (ParsedReport, Vec<Option<Reply>>) {
    let mut plain = report.clone();
    let replies = plain
        .recipients
        .iter_mut()
        .map(|r| r.diagnostic.take().and_then(|d| d.smtp_reply()))
        .collect();
    (plain, replies)
}

/// `report` as compose's input, composed, and read again; and whether a line of the
/// composed report may have been cut.
fn rewrite(report: &ParsedReport) -> (ParsedReport, bool) {
    let input = Report {
        reporting_mta: report.reporting_mta.value.clone(),
        envid: report.envid.clone(),
        arrival: report.arrival.unwrap_or(0),
        smtputf8: report.global,
        recipients: report
            .recipients
            .iter()
            .map(|r| RecipientStatus {
                final_recipient: r.final_recipient.value.clone(),
                original_recipient: r.original_recipient.as_ref().map(|o| Orcpt {
                    addr_type: o.kind.clone(),
                    address: o.value.clone(),
                }),
                action: r.action,
                status: r.status,
                remote_mta: r.remote_mta.as_ref().map(|m| m.value.clone()),
                diagnostic: r.diagnostic.as_ref().and_then(|d| d.smtp_reply()),
                // The text part's reason is not in the delivery-status part.
                reason: None,
                last_attempt: r.last_attempt,
                will_retry_until: r.will_retry_until,
            })
            .collect(),
    };
    let original = b"Message-ID: <m@example.com>\r\n\r\nhi\r\n";
    let written = dsn::compose(
        &input,
        "postmaster@example.com",
        "sender@example.com",
        original,
        None,
        0,
        "dsn@example.com",
    );
    let read = dsn::parse(&written).unwrap_or_else(|e| {
        panic!(
            "{report:?} written as\n{}\ndoes not read: {e}",
            String::from_utf8_lossy(&written)
        )
    });
    let cut = written.split(|&b| b == b'\n').any(|l| l.len() >= CUT_LINE);
    (read, cut)
}
