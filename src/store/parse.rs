//! What the store takes out of a message: the header fields it keeps in columns
//! (read at delivery, from the header section only) and the text for the search index
//! (read later, when the message is indexed). Uses mail-parser, which is tolerant; a
//! panic in it fails only the message being parsed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use mail_parser::{Address, HeaderName, HeaderValue, MessageParser};

/// The header fields kept in columns; empty when the message cannot be parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub message_id: String,
    pub in_reply_to: String,
    /// Message-IDs of the References and In-Reply-To headers, for threading.
    pub references: Vec<String>,
    /// Date header as the sender's wall clock showed it: its date and time read as
    /// if they were UTC, in seconds since the epoch. IMAP's SENTBEFORE, SENTON and
    /// SENTSINCE compare the day in the sender's zone (RFC 9051 6.4.4: "disregarding
    /// time and timezone"), so the zone is left out here.
    pub sent_date: Option<i64>,
}

/// The text of a message for the full-text index; empty when it cannot be parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    /// All header fields, decoded, one per line, for SEARCH HEADER, FROM, SUBJECT, ...
    pub headers: String,
    /// The text of the text parts, for SEARCH BODY and TEXT.
    pub body: String,
}

/// Parses only the fields [`Fields`] needs; every other header stays raw and the body
/// is skipped, so that delivery does not pay for a full parse.
static FIELDS_PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_message_ids()
        .header_date(HeaderName::Date)
});

pub fn fields(raw: &[u8]) -> Fields {
    catch_unwind(AssertUnwindSafe(|| fields_unguarded(raw))).unwrap_or_default()
}

pub fn text(raw: &[u8]) -> Text {
    catch_unwind(AssertUnwindSafe(|| text_unguarded(raw))).unwrap_or_default()
}

/// The whole message parsed, owning its data; `None` if it cannot be parsed.
pub fn parse_owned(raw: &[u8]) -> Option<mail_parser::Message<'static>> {
    catch_unwind(AssertUnwindSafe(|| {
        MessageParser::default().parse(raw).map(|m| m.into_owned())
    }))
    .ok()
    .flatten()
}

fn fields_unguarded(raw: &[u8]) -> Fields {
    let Some(msg) = FIELDS_PARSER.parse_headers(raw) else {
        return Fields::default();
    };
    let ids = |v: &HeaderValue<'_>| -> Vec<String> {
        match v {
            HeaderValue::Text(t) => vec![t.to_string()],
            HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let in_reply_to = ids(msg.in_reply_to());
    let mut references = ids(msg.references());
    references.extend(in_reply_to.iter().cloned());
    Fields {
        message_id: msg.message_id().unwrap_or_default().to_string(),
        in_reply_to: in_reply_to.into_iter().next().unwrap_or_default(),
        references,
        sent_date: msg.date().map(|d| {
            let offset = i64::from(d.tz_hour) * 3600 + i64::from(d.tz_minute) * 60;
            d.to_timestamp() + if d.tz_before_gmt { -offset } else { offset }
        }),
    }
}

fn text_unguarded(raw: &[u8]) -> Text {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Text::default();
    };
    let mut headers = String::new();
    for h in msg.headers() {
        headers.push_str(h.name.as_str());
        headers.push_str(": ");
        match decoded(h.value()) {
            Some(text) => headers.push_str(&text),
            None => {
                let raw = raw
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .unwrap_or_default();
                headers.push_str(
                    String::from_utf8_lossy(raw)
                        .replace(['\r', '\n'], "")
                        .trim(),
                );
            }
        }
        headers.push('\n');
    }
    let mut body = String::new();
    for i in 0..msg.text_body.len() {
        if let Some(text) = msg.body_text(i) {
            body.push_str(&text);
            body.push('\n');
        }
    }
    Text { headers, body }
}

/// The decoded text of header values that have one (encoded-words resolved, address
/// names and addresses both); `None` for structured values searched in raw form.
fn decoded(value: &HeaderValue<'_>) -> Option<String> {
    let addr = |a: &mail_parser::Addr<'_>| {
        let name = a.name.as_deref().unwrap_or("");
        let address = a.address.as_deref().unwrap_or("");
        if name.is_empty() {
            address.to_string()
        } else {
            format!("{name} <{address}>")
        }
    };
    match value {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => Some(l.join(", ")),
        HeaderValue::Address(Address::List(list)) => {
            Some(list.iter().map(addr).collect::<Vec<_>>().join(", "))
        }
        HeaderValue::Address(Address::Group(groups)) => Some(
            groups
                .iter()
                .map(|g| {
                    format!(
                        "{}: {}",
                        g.name.as_deref().unwrap_or(""),
                        g.addresses.iter().map(addr).collect::<Vec<_>>().join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_text_come_out() {
        let raw = b"Message-ID: <a@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <c@x> <b@x>\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nBody text\r\n";
        let f = fields(raw);
        assert_eq!(f.message_id, "a@x");
        assert_eq!(f.in_reply_to, "b@x");
        assert_eq!(f.references, ["c@x", "b@x", "b@x"]);
        assert_eq!(f.sent_date, Some(1795341600));
        // 23:00 on the 24th in +0200 is the 24th, though UTC says 21:00.
        let f = fields(b"Date: Sat, 24 Mar 2007 23:00:00 +0200\r\n\r\n");
        assert_eq!(f.sent_date, Some(1174777200));
        let f = fields(b"Date: Sat, 24 Mar 2007 23:00:00 -0500\r\n\r\n");
        assert_eq!(f.sent_date, Some(1174777200));
        let t = text(raw);
        assert!(t.headers.contains("Subject: héllo\n"), "{}", t.headers);
        assert!(t.headers.contains("Message-ID: a@x\n"), "{}", t.headers);
        assert_eq!(t.body.trim(), "Body text");
    }

    #[test]
    fn garbage_gives_no_fields_and_no_body_not_a_panic() {
        let raw = b"\xff\xfe\x00garbage without headers";
        assert_eq!(fields(raw), Fields::default());
        assert!(
            text(raw).body.is_empty(),
            "no body without a header section"
        );
    }
}
