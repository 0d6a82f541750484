//! Writing a DSN: choosing what of the original message goes back, and putting the
//! parts of the multipart/report (RFC 6522) together under the DSN's own header.

use aws_lc_rs::digest::{Context, SHA256};

use super::fold::{MAX_LINE, clean, field};
use super::read::decode_utf8_address;
use super::{Action, Report, explain, write};
use crate::message::rfc5322_date;
use crate::smtp::Ret;

/// The largest original message a DSN returns whole; above it only the header goes
/// back. RET=FULL does not lift it: a report should not carry a large attachment
/// back to a sender who has the message already, and the report itself must stay
/// small enough for any server to accept.
pub const FULL_RETURN_LIMIT: usize = 256 * 1024;

/// What of the original message a DSN returns.
pub(super) enum Returned<'a> {
    /// The whole message.
    Message(&'a [u8]),
    /// Its header section, and why not more.
    Header(&'a [u8], HeaderOnly),
    /// Nothing: even the header has lines a report cannot carry.
    Nothing,
}

/// Why only the header is returned.
pub(super) enum HeaderOnly {
    /// RET=HDRS, or no RET and a report about something other than a failure.
    Chosen,
    TooLarge,
    /// The body has bare CR or LF, NUL, or lines over 998 octets (BINARYMIME).
    Unsafe,
}

/// One body part of the report.
struct BodyPart<'a> {
    content_type: &'static str,
    description: &'static str,
    content: &'a [u8],
}

/// The DSN about `report`, a whole RFC 5322 message with CRLF line ends, from
/// `from_postmaster` (this server's postmaster address) to `to_sender` (the original
/// message's envelope sender, which must not be the null path). `original` is the
/// message as queued; `ret` is its RET parameter (RFC 3461 4.3). Without RET, a
/// report about a failure returns the whole message and any other report its header;
/// a message larger than [`FULL_RETURN_LIMIT`], or one whose lines a report cannot
/// carry, is returned as its header only. `now` is the Date, `message_id` the
/// Message-ID (angle brackets optional).
///
/// The report takes the RFC 6533 global forms when `report.smtputf8` is set or any
/// address is not ASCII; it must then be sent with SMTPUTF8. Otherwise it is 7-bit,
/// unless the returned message is 8-bit: send it with BODY=8BITMIME when any octet
/// is above 127.
pub fn compose(
    report: &Report,
    from_postmaster: &str,
    to_sender: &str,
    original: &[u8],
    ret: Option<Ret>,
    now: i64,
    message_id: &str,
) -> Vec<u8> {
    let global = is_global(report, from_postmaster, to_sender);
    let returned = returned(report, original, ret);
    let text = explain::text(report, &returned, global);
    let status = write::delivery_status(report, global);
    let parts = body_parts(&text, &status, &returned, global);
    let boundary = boundary(message_id, &parts);
    let mut out = header(report, from_postmaster, to_sender, now, message_id, global);
    out += &mime_fields(&parts, &boundary);
    let mut out = out.into_bytes();
    out.extend_from_slice(b"\r\nThis is a delivery status notification in MIME format.");
    for part in &parts {
        out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        out.extend_from_slice(field("Content-Type", &[part.content_type]).as_bytes());
        let encoding = encoding(part.content);
        out.extend_from_slice(field("Content-Transfer-Encoding", &[encoding]).as_bytes());
        out.extend_from_slice(field("Content-Description", &[part.description]).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part.content);
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// The media types of the text, the report, the returned message and the returned
/// header: RFC 3464's, and RFC 6533's global forms.
const ASCII_TYPES: [&str; 4] = [
    "text/plain; charset=us-ascii",
    "message/delivery-status",
    "message/rfc822",
    "text/rfc822-headers",
];
const GLOBAL_TYPES: [&str; 4] = [
    "text/plain; charset=utf-8",
    "message/global-delivery-status",
    "message/global",
    "message/global-headers",
];

/// The report's parts: the text, the delivery-status fields, and what is returned.
fn body_parts<'a>(
    text: &'a str,
    status: &'a str,
    returned: &Returned<'a>,
    global: bool,
) -> Vec<BodyPart<'a>> {
    let [text_type, status_type, message_type, header_type] = match global {
        true => GLOBAL_TYPES,
        false => ASCII_TYPES,
    };
    let mut parts = vec![
        BodyPart {
            content_type: text_type,
            description: "Notification",
            content: text.as_bytes(),
        },
        BodyPart {
            content_type: status_type,
            description: "Delivery report",
            content: status.as_bytes(),
        },
    ];
    match *returned {
        Returned::Message(content) => parts.push(BodyPart {
            content_type: message_type,
            description: "Returned message",
            content,
        }),
        Returned::Header(content, _) => parts.push(BodyPart {
            content_type: header_type,
            description: "Returned message header",
            content,
        }),
        Returned::Nothing => {}
    }
    parts
}

/// Auto-Submitted, which marks the report as an automatic reply (RFC 3834 5) that
/// other auto-responders do not answer, and the MIME fields of the multipart/report,
/// whose report-type names the second part's subtype (RFC 6522 3).
fn mime_fields(parts: &[BodyPart<'_>], boundary: &str) -> String {
    let report_type = parts
        .get(1)
        .and_then(|p| p.content_type.strip_prefix("message/"))
        .unwrap_or("delivery-status");
    let content_type = format!("multipart/report; report-type={report_type};");
    let boundary = format!("boundary=\"{boundary}\"");
    let mut out = field("Auto-Submitted", &["auto-replied"]);
    out += &field("MIME-Version", &["1.0"]);
    out += &field("Content-Type", &[&content_type, &boundary]);
    let whole = encoding(parts.iter().flat_map(|p| p.content));
    out += &field("Content-Transfer-Encoding", &[whole]);
    out
}

/// Whether the report needs the RFC 6533 forms: SMTPUTF8, or an address that is not
/// ASCII (a utf-8 ORCPT counts with its escapes decoded).
fn is_global(report: &Report, from_postmaster: &str, to_sender: &str) -> bool {
    report.smtputf8
        || !from_postmaster.is_ascii()
        || !to_sender.is_ascii()
        || report.recipients.iter().any(|r| {
            !r.final_recipient.is_ascii()
                || r.original_recipient
                    .as_ref()
                    .is_some_and(|o| !decode_utf8_address(&o.address).is_ascii())
        })
}

/// From, To, Subject, Date and Message-ID.
fn header(
    report: &Report,
    from_postmaster: &str,
    to_sender: &str,
    now: i64,
    message_id: &str,
    global: bool,
) -> String {
    let from = format!(
        "Mail Delivery Subsystem <{}>",
        clean(from_postmaster, global)
    );
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let mut out = field("From", &[&from]);
    out += &field("To", &[&format!("<{}>", clean(to_sender, global))]);
    out += &field("Subject", &[&subject(report, global)]);
    out += &field("Date", &[&rfc5322_date(now)]);
    out += &field("Message-ID", &[&format!("<{}>", clean(id, global))]);
    out
}

/// The action the report is mostly about: failures first, then delays, then the
/// rest; `None` for a report without recipients.
pub(super) fn headline(report: &Report) -> Option<Action> {
    let rank = |a: &Action| match a {
        Action::Failed => 0,
        Action::Delayed => 1,
        _ => 2,
    };
    report.recipients.iter().map(|r| r.action).min_by_key(rank)
}

/// "Delivery failed: bob@example.org and 2 more": what happened, and to whom.
fn subject(report: &Report, global: bool) -> String {
    let Some(action) = headline(report) else {
        return "Delivery report".into();
    };
    let what = match action {
        Action::Failed => "Delivery failed",
        Action::Delayed => "Delivery delayed",
        Action::Delivered => "Delivered",
        Action::Relayed => "Relayed",
        Action::Expanded => "Delivered to list",
    };
    let mut those = report.recipients.iter().filter(|r| r.action == action);
    let first = those
        .next()
        .map(|r| clean(&r.final_recipient, global))
        .unwrap_or_default();
    match those.count() {
        0 => format!("{what}: {first}"),
        more => format!("{what}: {first} and {more} more"),
    }
}

/// What of `original` to return, by RET, the report's actions, size and lines.
fn returned<'a>(report: &Report, original: &'a [u8], ret: Option<Ret>) -> Returned<'a> {
    let failed = report.recipients.iter().any(|r| r.action == Action::Failed);
    let whole = match ret {
        Some(Ret::Full) => true,
        Some(Ret::Hdrs) => false,
        None => failed,
    };
    let reason = if !whole {
        HeaderOnly::Chosen
    } else if original.len() > FULL_RETURN_LIMIT {
        HeaderOnly::TooLarge
    } else if !line_safe(original) {
        HeaderOnly::Unsafe
    } else {
        return Returned::Message(original);
    };
    let header = header_section(original);
    if line_safe(header) {
        Returned::Header(header, reason)
    } else {
        Returned::Nothing
    }
}

/// The header fields of `message`, through the CRLF of the last one, without the
/// empty line after them.
fn header_section(message: &[u8]) -> &[u8] {
    if message.starts_with(b"\r\n") {
        return &[];
    }
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => &message[..end + 2],
        None => message,
    }
}

/// Whether `content` can be a MIME body part as it is: CRLF line ends only, no NUL,
/// no line over 998 octets.
fn line_safe(content: &[u8]) -> bool {
    let mut lines = content.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = match (lines.peek(), line.strip_suffix(b"\r")) {
            (None, _) => line,
            (Some(_), Some(line)) => line,
            (Some(_), None) => return false,
        };
        if line.len() > MAX_LINE || line.iter().any(|&b| b == b'\r' || b == 0) {
            return false;
        }
    }
    true
}

/// 7bit, or 8bit when any octet is above 127 (RFC 2045 6.2).
fn encoding<'a>(content: impl IntoIterator<Item = &'a u8>) -> &'static str {
    if content.into_iter().all(u8::is_ascii) {
        "7bit"
    } else {
        "8bit"
    }
}

/// A boundary that occurs in none of the parts. Its base is a hash of the message id
/// and the parts, so no part can hold it by design (remote text and the original
/// message are not ours); a counter is added in the unlikely case one does.
fn boundary(message_id: &str, parts: &[BodyPart<'_>]) -> String {
    let mut hash = Context::new(&SHA256);
    hash.update(message_id.as_bytes());
    for part in parts {
        hash.update(part.content);
    }
    let digest = hash.finish();
    let hex: String = digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let base = format!("=_dsn_{hex}");
    let unused = |candidate: &String| {
        let needle = candidate.as_bytes();
        parts
            .iter()
            .all(|p| !p.content.windows(needle.len()).any(|w| w == needle))
    };
    std::iter::once(base.clone())
        .chain((1u64..).map(|n| format!("{base}.{n}")))
        .find(unused)
        .unwrap_or(base)
}
