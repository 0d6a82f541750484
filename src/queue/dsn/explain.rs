//! The first part of a DSN: what happened, in words, for the sender; for each
//! recipient the address, the outcome, and the remote server's whole reply.

use super::compose::{HeaderOnly, Returned, headline};
use super::fold::{clean, push_body_line};
use super::read::decode_utf8_address;
use super::write::reply_lines;
use super::{Action, FULL_RETURN_LIMIT, RecipientStatus, Report};
use crate::message::rfc5322_date;

/// Prose lines are wrapped at this width, leaving room for quoting by a reply.
const WIDTH: usize = 76;

const INDENT: &str = "    ";

/// The text/plain part for `report`, CRLF line ends.
pub(super) fn text(report: &Report, returned: &Returned<'_>, global: bool) -> String {
    let mut out = String::new();
    let host = clean(&report.reporting_mta, global);
    let received = rfc5322_date(report.arrival);
    wrap(
        &mut out,
        "",
        &format!(
            "This is the mail system at {host}, reporting on the message you sent, \
             which it received on {received}."
        ),
    );
    out += "\r\n";
    wrap(&mut out, "", summary(headline(report)));
    out += "\r\n";
    for r in &report.recipients {
        recipient(&mut out, r, global);
        out += "\r\n";
    }
    wrap(&mut out, "", &returned_note(returned));
    out
}

fn summary(headline: Option<Action>) -> &'static str {
    match headline {
        Some(Action::Failed) => {
            "Your message could not be delivered to one or more of its recipients. \
             Each recipient is listed below with what happened."
        }
        Some(Action::Delayed) => {
            "Delivery of your message to one or more of its recipients is delayed. The \
             mail system keeps trying; you need not send it again."
        }
        _ => "Here is the report on its delivery that you asked for.",
    }
}

/// One recipient's block: the address, then the details indented.
fn recipient(out: &mut String, r: &RecipientStatus, global: bool) {
    push_body_line(out, &format!("<{}>", clean(&r.final_recipient, global)));
    wrap(out, INDENT, &outcome(r));
    if let Some(orcpt) = &r.original_recipient {
        let address = match orcpt.addr_type.eq_ignore_ascii_case("utf-8") {
            true => decode_utf8_address(&orcpt.address),
            false => orcpt.address.clone(),
        };
        let original = clean(&address, global);
        wrap(out, INDENT, &format!("Originally addressed to: {original}"));
    }
    wrap(out, INDENT, &format!("Status: {}", r.status));
    if let Some(mta) = &r.remote_mta {
        wrap(
            out,
            INDENT,
            &format!("Remote server: {}", clean(mta, global)),
        );
    }
    if let Some(at) = r.last_attempt {
        wrap(out, INDENT, &format!("Last attempt: {}", rfc5322_date(at)));
    }
    if let Some(reply) = &r.diagnostic {
        let who = match &r.remote_mta {
            Some(_) => "The remote server replied:",
            None => "The reply was:",
        };
        wrap(out, INDENT, who);
        for line in reply_lines(reply, global) {
            push_body_line(out, &format!("{INDENT}{INDENT}{line}"));
        }
    } else if let Some(reason) = &r.reason {
        wrap(out, INDENT, &format!("Reason: {}", clean(reason, global)));
    }
}

fn outcome(r: &RecipientStatus) -> String {
    match (r.action, r.will_retry_until) {
        (Action::Failed, _) => "Delivery failed; the mail system will not try again.".into(),
        (Action::Delayed, Some(until)) => format!(
            "Not delivered yet; the mail system will keep trying until {}.",
            rfc5322_date(until)
        ),
        (Action::Delayed, None) => "Not delivered yet; the mail system will keep trying.".into(),
        (Action::Delivered, _) => "Delivered.".into(),
        (Action::Relayed, _) => {
            "Relayed to a system that sends no delivery reports; this is the last report.".into()
        }
        (Action::Expanded, _) => "Delivered to a mailing list or alias, which sends the \
                                  message on to its own recipients."
            .into(),
    }
}

fn returned_note(returned: &Returned<'_>) -> String {
    match returned {
        Returned::Message(_) => "Your message is attached.".into(),
        Returned::Header(_, HeaderOnly::Chosen) => "The header of your message is attached.".into(),
        Returned::Header(_, HeaderOnly::TooLarge) => format!(
            "Your message is larger than {} KiB, so only its header is attached.",
            FULL_RETURN_LIMIT / 1024
        ),
        Returned::Header(_, HeaderOnly::Unsafe) => "Only the header of your message is \
                                                    attached: its body has lines a report \
                                                    cannot carry."
            .into(),
        Returned::Nothing => "Your message cannot be attached: its header has lines a \
                              report cannot carry."
            .into(),
    }
}

/// Appends `text` as lines of at most [`WIDTH`] characters where its words allow,
/// each starting with `indent`.
fn wrap(out: &mut String, indent: &str, text: &str) {
    let mut line = String::from(indent);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let started = line.len() > indent.len();
        if started && line.len() + 1 + word.len() > WIDTH {
            push_body_line(out, &line);
            line.truncate(indent.len());
        } else if started {
            line.push(' ');
        }
        line.push_str(word);
    }
    push_body_line(out, &line);
}
