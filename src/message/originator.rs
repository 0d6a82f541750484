//! The originator of a message as its From field names it (RFC 5322 3.6.2): the
//! mailboxes DMARC aligns with and submission checks against the authenticated account.

use super::address_list::{AddressListError, Mailbox, Parsed, parse_mailbox_list};
use super::header::{HeaderError, HeaderSection};
use crate::leniency::Leniencies;

/// Why a message's From field cannot be used. The text is what a submission server
/// replies with (after `554 5.6.0`); columns count characters of the unfolded field
/// from the start of its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("no From header field; RFC 5322 3.6 requires one")]
    Missing,
    #[error("From header fields at lines {first} and {second}; RFC 5322 3.6 allows one")]
    Repeated { first: usize, second: usize },
    #[error("From header: {0}")]
    Value(AddressListError),
}

/// The mailboxes of the one From field of `raw_message`. The whole header section must
/// read (a bare LF anywhere in it is an error), there must be exactly one From field,
/// and its value must be a mailbox list whose addresses mail can be sent to.
///
/// The obsolete syntax of RFC 5322 4.5 allows a field to repeat, but leaves what a
/// repeated From means unspecified; a second From field is how a message shows one
/// author to DMARC and another to the reader, so it is refused (RFC 7489 6.6.1).
pub fn from_addresses(
    raw_message: &[u8],
    lenient: Leniencies,
) -> Result<Parsed<Vec<Mailbox>>, FromError> {
    let header = HeaderSection::parse(raw_message)?;
    let mut from_fields = header.fields_named("From");
    let from = from_fields.next().ok_or(FromError::Missing)?;
    if let Some(second) = from_fields.next() {
        return Err(FromError::Repeated {
            first: from.line(),
            second: second.line(),
        });
    }
    let value = from.value_str()?;
    parse_mailbox_list(&value, lenient)
        .map_err(|e| FromError::Value(e.shifted(from.value_offset())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(message: &str) -> Result<Vec<String>, String> {
        from_addresses(message.as_bytes(), Leniencies::PEDANTIC)
            .map(|p| p.value.iter().map(ToString::to_string).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_one_from_field_gives_its_mailboxes() {
        let m = "Subject: hi\r\nFrom: Joe <joe@example.org>,\r\n ann@example.org\r\n\r\nbody";
        assert_eq!(
            from(m).unwrap(),
            ["Joe <joe@example.org>", "ann@example.org"]
        );
    }

    #[test]
    fn missing_and_repeated_from_fields_are_refused() {
        assert_eq!(
            from("To: a@example.org\r\n\r\n").unwrap_err(),
            "no From header field; RFC 5322 3.6 requires one"
        );
        assert_eq!(
            from("From: a@example.org\r\nTo: b@example.org\r\nfrom: c@example.org\r\n")
                .unwrap_err(),
            "From header fields at lines 1 and 3; RFC 5322 3.6 allows one"
        );
    }

    #[test]
    fn errors_count_columns_in_the_field() {
        assert_eq!(
            from("From: Joe Doe <joe@example.org\r\n\r\n").unwrap_err(),
            "From header: unexpected end at 31, expected '.' or '>'"
        );
        assert_eq!(
            from("From  : <>\r\n").unwrap_err(),
            "From header: unexpected '>' at 10, expected a local part, '\"', ',' or '@'"
        );
        assert_eq!(
            from("From: a@example.org\nTo: b\r\n").unwrap_err(),
            "header line 1 ends in a bare LF; lines end in CRLF (RFC 5322 2.1)"
        );
    }
}
