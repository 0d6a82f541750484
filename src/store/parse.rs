//! What the store takes out of a message when it is stored: the header fields it
//! keeps in columns, and the text for the search index. Uses mail-parser, which is
//! tolerant; a panic in it fails only the message being parsed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::{Address, HeaderValue, MessageParser};

/// Fields and text of one message; empty when the message cannot be parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extract {
    pub message_id: String,
    pub in_reply_to: String,
    /// Message-IDs of the References and In-Reply-To headers, for threading.
    pub references: Vec<String>,
    /// Date header, seconds since the epoch.
    pub sent_date: Option<i64>,
    /// All header fields, decoded, one per line, for SEARCH HEADER, FROM, SUBJECT, ...
    pub headers: String,
    /// The text of the text parts, for SEARCH BODY and TEXT.
    pub body: String,
}

pub fn extract(raw: &[u8]) -> Extract {
    catch_unwind(AssertUnwindSafe(|| extract_unguarded(raw))).unwrap_or_default()
}

/// The whole message parsed, owning its data; `None` if it cannot be parsed.
pub fn parse_owned(raw: &[u8]) -> Option<mail_parser::Message<'static>> {
    catch_unwind(AssertUnwindSafe(|| {
        MessageParser::default().parse(raw).map(|m| m.into_owned())
    }))
    .ok()
    .flatten()
}

fn extract_unguarded(raw: &[u8]) -> Extract {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Extract::default();
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
    Extract {
        message_id: msg.message_id().unwrap_or_default().to_string(),
        in_reply_to: in_reply_to.into_iter().next().unwrap_or_default(),
        references,
        sent_date: msg.date().map(|d| d.to_timestamp()),
        headers,
        body,
    }
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
        let e = extract(raw);
        assert_eq!(e.message_id, "a@x");
        assert_eq!(e.in_reply_to, "b@x");
        assert_eq!(e.references, ["c@x", "b@x", "b@x"]);
        assert_eq!(e.sent_date, Some(1795341600));
        assert!(e.headers.contains("Subject: héllo\n"), "{}", e.headers);
        assert_eq!(e.body.trim(), "Body text");
    }

    #[test]
    fn garbage_gives_an_empty_extract_not_a_panic() {
        let e = extract(b"\xff\xfe\x00garbage without headers");
        assert!(e.message_id.is_empty());
    }
}
