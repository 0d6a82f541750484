//! Writing the delivery-status content (RFC 3464 2.1): the per-message fields, then
//! one group per recipient, every value made safe and every field folded.

use super::fold::{clean, field, safe};
use super::read::decode_utf8_address;
use super::{Action, RecipientStatus, Report};
use crate::message::rfc5322_date;
use crate::smtp::Reply;

/// The message/delivery-status (or, `global`, message/global-delivery-status) content
/// for `report`.
pub(super) fn delivery_status(report: &Report, global: bool) -> String {
    let mut out = String::new();
    if let Some(envid) = &report.envid {
        out += &field("Original-Envelope-Id", &[&clean(envid, global)]);
    }
    let mta = format!("dns; {}", clean(&report.reporting_mta, global));
    out += &field("Reporting-MTA", &[&mta]);
    out += &field("Arrival-Date", &[&rfc5322_date(report.arrival)]);
    for recipient in &report.recipients {
        out += "\r\n";
        out += &recipient_fields(recipient, global);
    }
    out
}

fn recipient_fields(r: &RecipientStatus, global: bool) -> String {
    let mut out = String::new();
    if let Some(orcpt) = &r.original_recipient {
        let value = typed_address(&orcpt.addr_type, &orcpt.address, global);
        out += &field("Original-Recipient", &[&value]);
    }
    let kind = if r.final_recipient.is_ascii() {
        "rfc822"
    } else {
        "utf-8"
    };
    out += &field(
        "Final-Recipient",
        &[&typed_address(kind, &r.final_recipient, global)],
    );
    out += &field("Action", &[r.action.as_str()]);
    out += &field("Status", &[&r.status.to_string()]);
    if let Some(mta) = &r.remote_mta {
        out += &field("Remote-MTA", &[&format!("dns; {}", clean(mta, global))]);
    }
    if let Some(reply) = &r.diagnostic {
        let mut lines = reply_lines(reply, global);
        if let Some(first) = lines.first_mut() {
            first.insert_str(0, "smtp; ");
        }
        let segments: Vec<&str> = lines.iter().map(String::as_str).collect();
        out += &field("Diagnostic-Code", &segments);
    }
    if let Some(at) = r.last_attempt {
        out += &field("Last-Attempt-Date", &[&rfc5322_date(at)]);
    }
    if let (Action::Delayed, Some(until)) = (r.action, r.will_retry_until) {
        out += &field("Will-Retry-Until", &[&rfc5322_date(until)]);
    }
    out
}

/// The lines of `reply` as the server sent them (code, `-` or space, enhanced code,
/// text), each made safe and without white space at its end, never none.
pub(super) fn reply_lines(reply: &Reply, global: bool) -> Vec<String> {
    let mut written = reply.clone();
    written.lines = reply.lines.iter().map(|l| safe(l, global)).collect();
    if written.lines.is_empty() {
        written.lines.push(String::new());
    }
    written
        .to_string()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// `address-type; address`. The type is kept to the characters of an atom that
/// address types use; a utf-8 address is written in the RFC 6533 form.
fn typed_address(kind: &str, address: &str, global: bool) -> String {
    let kind: String = kind
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    match kind.as_str() {
        "" => format!("unknown; {}", clean(address, global)),
        k if k.eq_ignore_ascii_case("utf-8") => {
            format!(
                "{kind}; {}",
                utf8_address(&decode_utf8_address(address), global)
            )
        }
        _ => format!("{kind}; {}", clean(address, global)),
    }
}

/// An address in the utf-8-addr-unitext form of RFC 6533 3 (`global`), or the ASCII
/// utf-8-addr-xtext form: `\x{HEX}` for each character outside QUCHAR (or QCHAR),
/// that is `+`, `=`, `\`, space and control characters (and non-ASCII in xtext).
pub(super) fn utf8_address(address: &str, global: bool) -> String {
    let mut out = String::with_capacity(address.len());
    for c in address.trim().chars() {
        let plain = match c {
            '+' | '=' | '\\' => false,
            '!'..='~' => true,
            _ => global && !c.is_ascii() && !c.is_control(),
        };
        if plain {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_addresses_escape_what_quchar_leaves_out() {
        assert_eq!(
            utf8_address("jörg+x@bücher.example", true),
            "jörg\\x{2B}x@bücher.example"
        );
        assert_eq!(utf8_address("jörg@x", false), "j\\x{F6}rg@x");
        assert_eq!(
            utf8_address("a b\u{85}\r\n@x", true),
            "a\\x{20}b\\x{85}\\x{D}\\x{A}@x"
        );
        assert_eq!(
            typed_address("UTF-8", "j\\x{F6}rg@x", true),
            "UTF-8; jörg@x"
        );
        assert_eq!(typed_address("rfc 822;", "a@x", false), "rfc822; a@x");
    }

    #[test]
    fn replies_keep_every_line_and_lose_their_line_breaks() {
        let reply = Reply {
            code: 550,
            enhanced: None,
            lines: vec!["first\r\n250 injected".into(), "".into()],
        };
        assert_eq!(
            reply_lines(&reply, false),
            ["550-first  250 injected", "550"]
        );
        let indented = Reply::new(550, crate::smtp::Enhanced(5, 0, 0), "  indented ");
        assert_eq!(reply_lines(&indented, false), ["550 5.0.0   indented"]);
        let none = Reply {
            code: 421,
            enhanced: None,
            lines: vec![],
        };
        assert_eq!(reply_lines(&none, false), ["421"]);
    }
}
