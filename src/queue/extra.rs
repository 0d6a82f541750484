//! Extra data a submitter attaches to a message for its own use, in header
//! fields `X-Gannet-Extra-<key>: <value>`: the queue keeps it with the message
//! (`gannet queue list` shows it, and later webhooks report it) and takes the
//! fields out of the message, so recipients never see them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::message::HeaderSection;

const PREFIX: &str = "X-Gannet-Extra-";

/// Why the extra fields of a message cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtraError {
    #[error("header line {line}: {PREFIX} needs a key after it (X-Gannet-Extra-<key>: <value>)")]
    NoKey { line: usize },
    #[error("header line {line}: a second {PREFIX}{key} field; each key may be given once")]
    Duplicate { line: usize, key: String },
    #[error("header line {line}: the value of {PREFIX}{key} is not UTF-8")]
    NotUtf8 { line: usize, key: String },
}

/// The extra data of `message` as a JSON object (`{}` when it has none) and the
/// message without its extra fields. A message whose header section cannot be
/// read has none.
pub fn take(message: &[u8]) -> Result<(String, Cow<'_, [u8]>), ExtraError> {
    let Ok(header) = HeaderSection::parse(message) else {
        return Ok(("{}".into(), message.into()));
    };
    let mut extra = BTreeMap::new();
    for field in header.fields() {
        let Some(key) = key(field.name()) else {
            continue;
        };
        let line = field.line();
        if key.is_empty() {
            return Err(ExtraError::NoKey { line });
        }
        let value = field.value_str().map_err(|_| ExtraError::NotUtf8 {
            line,
            key: key.to_string(),
        })?;
        let value = value.replace("\r\n", "").trim().to_string();
        let lower = key.to_ascii_lowercase();
        if extra.insert(lower, (key.to_string(), value)).is_some() {
            let key = key.to_string();
            return Err(ExtraError::Duplicate { line, key });
        }
    }
    let object: serde_json::Map<String, serde_json::Value> = extra
        .into_values()
        .map(|(key, value)| (key, value.into()))
        .collect();
    let json = serde_json::Value::Object(object).to_string();
    Ok((json, header.without(message, |f| key(f.name()).is_some())))
}

/// The key of an extra field's name; field names compare without case.
fn key(name: &str) -> Option<&str> {
    let prefix = name.get(..PREFIX.len())?;
    prefix
        .eq_ignore_ascii_case(PREFIX)
        .then(|| &name[PREFIX.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_fields_become_data_and_leave_the_message() {
        let message = b"From: a@example.org\r\nX-Gannet-Extra-CustomerId: 42\r\n\
            x-gannet-extra-campaign: autumn\r\n sale\r\nSubject: hi\r\n\r\nbody\r\n";
        let (json, rest) = take(message).unwrap();
        assert_eq!(json, r#"{"campaign":"autumn sale","CustomerId":"42"}"#);
        assert_eq!(
            &rest[..],
            b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn a_message_without_extra_fields_is_kept_as_it_is() {
        let message = b"Subject: hi\r\n\r\nX-Gannet-Extra-In-Body: no\r\n";
        let (json, rest) = take(message).unwrap();
        assert_eq!(json, "{}");
        assert!(matches!(rest, Cow::Borrowed(_)));
    }

    #[test]
    fn bad_extra_fields_are_refused_naming_the_line() {
        assert_eq!(
            take(b"Subject: x\r\nX-Gannet-Extra-: 1\r\n\r\n").unwrap_err(),
            ExtraError::NoKey { line: 2 }
        );
        assert_eq!(
            take(b"X-Gannet-Extra-A: 1\r\nX-GANNET-EXTRA-a: 2\r\n\r\n")
                .unwrap_err()
                .to_string(),
            "header line 2: a second X-Gannet-Extra-a field; each key may be given once"
        );
    }
}
