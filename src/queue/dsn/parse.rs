//! Reading a received DSN: finding its delivery-status part with the project's MIME
//! reader, reading the fields (`read`), and finding the returned message's Message-ID.

use super::Action;
use super::read::{self, RawField};
use crate::message::mime::{self, Part};
use crate::smtp::{Enhanced, Reply, ReplyLine};

/// What a received DSN says: its per-message fields and one entry per recipient (RFC
/// 3464 2.2, 2.3). Dates are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReport {
    /// Whether the report was a message/global-delivery-status (RFC 6533).
    pub global: bool,
    /// Original-Envelope-Id: the ENVID the message was sent with (RFC 3461 4.4).
    pub envid: Option<String>,
    pub reporting_mta: Typed,
    pub dsn_gateway: Option<Typed>,
    pub received_from_mta: Option<Typed>,
    pub arrival: Option<i64>,
    pub recipients: Vec<ParsedRecipient>,
    /// The Message-ID of the returned message or header, without angle brackets,
    /// when the report has one.
    pub original_message_id: Option<String>,
}

/// One recipient's group of fields (RFC 3464 2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRecipient {
    /// Original-Recipient: the ORCPT the message was sent with.
    pub original_recipient: Option<Typed>,
    pub final_recipient: Typed,
    pub action: Action,
    pub status: Enhanced,
    pub remote_mta: Option<Typed>,
    /// Diagnostic-Code; [`Typed::smtp_reply`] reads an SMTP reply from it.
    pub diagnostic: Option<Typed>,
    pub last_attempt: Option<i64>,
    pub final_log_id: Option<String>,
    pub will_retry_until: Option<i64>,
}

/// A field value of the form `type; text` (RFC 3464 2.1.2): an MTA name with its
/// name type (`dns`), an address with its address type (`rfc822`, `utf-8`), or a
/// diagnostic with its diagnostic type (`smtp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typed {
    /// The type, lowercase.
    pub kind: String,
    /// The text after the `;`, unfolded and trimmed. For an `rfc822` or `utf-8`
    /// address, angle brackets around it are removed; a `utf-8` address has its
    /// `\x{HEX}` escapes decoded (RFC 6533 3).
    pub value: String,
}

/// Why a message could not be read as a DSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsnError {
    #[error(
        "not a delivery status notification: no multipart/report with a \
         message/delivery-status or message/global-delivery-status part"
    )]
    NotAReport,
    #[error("the delivery-status part has the unknown transfer encoding {0}")]
    Encoding(String),
    /// Lines are counted from 1 in the delivery-status part's content.
    #[error("delivery-status line {line}: {problem}")]
    Line { line: usize, problem: String },
    /// A field's value is not what RFC 3464 allows for it; columns count the
    /// characters of the unfolded field.
    #[error("delivery-status line {line}: {field}: {problem}")]
    Field {
        line: usize,
        field: String,
        problem: String,
    },
    #[error("delivery-status line {line}: {field} appears twice in one group (RFC 3464 2.1)")]
    Repeated { line: usize, field: String },
    #[error(
        "delivery-status line {line}: the {group} fields there have no {field} \
         field, which RFC 3464 2.1 requires"
    )]
    Missing {
        line: usize,
        group: &'static str,
        field: &'static str,
    },
    #[error("delivery-status: no per-recipient fields (RFC 3464 2.1 asks for at least one group)")]
    NoRecipients,
}

impl Typed {
    /// For an `smtp` diagnostic, the reply it quotes, every line of it, when it reads
    /// as one: a multi-line reply is written with its codes on each line, which
    /// unfolding joins with spaces (`550-5.1.1 first 550 5.1.1 second`).
    pub fn smtp_reply(&self) -> Option<Reply> {
        if self.kind != "smtp" {
            return None;
        }
        let lines: Option<Vec<ReplyLine>> = reply_lines(&self.value)
            .map(|line| ReplyLine::parse(line).ok())
            .collect();
        Reply::from_lines(&lines?).ok()
    }
}

/// The lines of a reply written on one line: each line after the first starts where a
/// space is followed by the first line's code and then `-`, a space or the end; the
/// line with a space after its code is the last.
fn reply_lines(text: &str) -> impl Iterator<Item = &str> {
    let code = text.get(..3).unwrap_or("");
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let more = current.as_bytes().get(3) == Some(&b'-');
        let next = more.then(|| next_line_start(current, code)).flatten();
        rest = next.map(|i| &current[i + 1..]);
        Some(next.map_or(current, |i| current[..i].trim_end()))
    })
}

/// Where in `text` (a reply line and what follows) the next line starts: the space
/// before ` CODE-`, ` CODE ` or ` CODE` at the end.
fn next_line_start(text: &str, code: &str) -> Option<usize> {
    let marker = format!(" {code}");
    text.match_indices(&marker)
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .find(|&i| {
            matches!(
                text.as_bytes().get(i + marker.len()),
                None | Some(b'-' | b' ')
            )
        })
}

/// Reads the DSN in `raw`, a whole message: the first multipart/report in it (outside
/// encapsulated messages) that has a message/delivery-status or
/// message/global-delivery-status part. The report-type parameter is not required,
/// and the parts may come in any order. Reporting-MTA, Final-Recipient, Action and
/// Status are required, as RFC 3464 2.1 says; other fields are optional, and fields
/// RFC 3464 does not define (X- fields included) are ignored.
pub fn parse(raw: &[u8]) -> Result<ParsedReport, DsnError> {
    let root = mime::parse(raw);
    let report = find_report(&root).ok_or(DsnError::NotAReport)?;
    let parts = report.parts();
    let status = parts
        .iter()
        .find(|p| is_status(p))
        .ok_or(DsnError::NotAReport)?;
    let content = status
        .encoding()
        .decode(&raw[status.body.clone()])
        .ok_or_else(|| DsnError::Encoding(status.encoding().name().to_string()))?;
    let mut parsed = report_fields(&content)?;
    parsed.global = status.content_type.subtype == "global-delivery-status";
    parsed.original_message_id = parts
        .iter()
        .find(|p| is_returned(p))
        .and_then(|p| message_id(p, raw));
    Ok(parsed)
}

fn is_status(part: &Part<'_>) -> bool {
    let t = &part.content_type;
    t.is("message", "delivery-status") || t.is("message", "global-delivery-status")
}

/// The parts that return the message or its header (RFC 3464 2, RFC 6533 6).
fn is_returned(part: &Part<'_>) -> bool {
    let t = &part.content_type;
    t.is("message", "rfc822")
        || t.is("message", "global")
        || t.is("text", "rfc822-headers")
        || t.is("message", "global-headers")
}

/// The first multipart/report with a delivery-status part, looking into nested
/// multiparts but not into encapsulated messages (a returned message may be a DSN
/// itself).
fn find_report<'p, 'a>(part: &'p Part<'a>) -> Option<&'p Part<'a>> {
    if part.content_type.is("multipart", "report") && part.parts().iter().any(is_status) {
        return Some(part);
    }
    part.parts().iter().find_map(find_report)
}

/// The Message-ID of a returned message or header, without angle brackets.
fn message_id(part: &Part<'_>, raw: &[u8]) -> Option<String> {
    let content = part.encoding().decode(&raw[part.body.clone()])?;
    let field = mime::fields(&content).find(|f| f.name.eq_ignore_ascii_case(b"message-id"))?;
    let value = field.unfolded();
    let value = String::from_utf8_lossy(&value);
    let id = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.trim(),
    };
    (!id.is_empty()).then(|| id.to_string())
}

/// The report in the delivery-status content: the per-message group, then one group
/// per recipient.
fn report_fields(content: &[u8]) -> Result<ParsedReport, DsnError> {
    let groups = read::groups(content)?;
    let Some((first, recipients)) = groups.split_first() else {
        return Err(missing(&[], "per-message", "Reporting-MTA"));
    };
    let mut report = per_message(first)?;
    if recipients.is_empty() {
        return Err(DsnError::NoRecipients);
    }
    report.recipients = recipients
        .iter()
        .map(|g| per_recipient(g))
        .collect::<Result<_, _>>()?;
    Ok(report)
}

fn per_message(group: &[RawField]) -> Result<ParsedReport, DsnError> {
    let (mut envid, mut reporting_mta, mut dsn_gateway) = (None, None, None);
    let (mut received_from_mta, mut arrival) = (None, None);
    for f in group {
        match f.name.to_ascii_lowercase().as_str() {
            "original-envelope-id" => once(&mut envid, f, Ok(f.text()))?,
            "reporting-mta" => once(&mut reporting_mta, f, f.typed())?,
            "dsn-gateway" => once(&mut dsn_gateway, f, f.typed())?,
            "received-from-mta" => once(&mut received_from_mta, f, f.typed())?,
            "arrival-date" => once(&mut arrival, f, f.date())?,
            _ => {}
        }
    }
    Ok(ParsedReport {
        global: false,
        envid,
        reporting_mta: reporting_mta
            .ok_or_else(|| missing(group, "per-message", "Reporting-MTA"))?,
        dsn_gateway,
        received_from_mta,
        arrival,
        recipients: Vec::new(),
        original_message_id: None,
    })
}

fn per_recipient(group: &[RawField]) -> Result<ParsedRecipient, DsnError> {
    let (mut original_recipient, mut final_recipient) = (None, None);
    let (mut action, mut status, mut remote_mta, mut diagnostic) = (None, None, None, None);
    let (mut last_attempt, mut final_log_id, mut will_retry_until) = (None, None, None);
    for f in group {
        match f.name.to_ascii_lowercase().as_str() {
            "original-recipient" => once(&mut original_recipient, f, f.address())?,
            "final-recipient" => once(&mut final_recipient, f, f.address())?,
            "action" => once(&mut action, f, f.action())?,
            "status" => once(&mut status, f, f.status())?,
            "remote-mta" => once(&mut remote_mta, f, f.typed())?,
            "diagnostic-code" => once(&mut diagnostic, f, f.typed())?,
            "last-attempt-date" => once(&mut last_attempt, f, f.date())?,
            "final-log-id" => once(&mut final_log_id, f, Ok(f.text()))?,
            "will-retry-until" => once(&mut will_retry_until, f, f.date())?,
            _ => {}
        }
    }
    let required = |field| missing(group, "per-recipient", field);
    Ok(ParsedRecipient {
        original_recipient,
        final_recipient: final_recipient.ok_or_else(|| required("Final-Recipient"))?,
        action: action.ok_or_else(|| required("Action"))?,
        status: status.ok_or_else(|| required("Status"))?,
        remote_mta,
        diagnostic,
        last_attempt,
        final_log_id,
        will_retry_until,
    })
}

/// Sets `slot` to the field's value; a field may appear once per group.
fn once<T>(
    slot: &mut Option<T>,
    field: &RawField,
    value: Result<T, DsnError>,
) -> Result<(), DsnError> {
    if slot.is_some() {
        return Err(DsnError::Repeated {
            line: field.line,
            field: field.name.clone(),
        });
    }
    *slot = Some(value?);
    Ok(())
}

fn missing(group: &[RawField], kind: &'static str, field: &'static str) -> DsnError {
    DsnError::Missing {
        line: group.first().map_or(1, |f| f.line),
        group: kind,
        field,
    }
}
