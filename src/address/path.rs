//! SMTP paths (RFC 5321 4.1.2): the argument of MAIL FROM and RCPT TO.

use std::fmt;

use super::grammar::{self, Rule};
use super::{Address, AddressError};
use crate::leniency::Leniencies;

/// RFC 5321 4.5.3.1.3, counting the angle brackets.
const MAX_PATH_OCTETS: usize = 256;

/// The MAIL FROM path: an address, or `<>` for bounces and other notifications.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    Null,
    Mailbox(Address),
}

/// The RCPT TO path: an address, or `<Postmaster>` without a domain (RFC 5321 4.1.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    Postmaster,
    Mailbox(Address),
}

/// Parses a whole path with `rule`: `None` for `<>` and `<Postmaster>`. A source
/// route (`<@relay:user@host>`) is accepted and dropped, as 4.1.1.3 allows.
fn parse_path(
    rule: Rule,
    input: &str,
    lenient: Leniencies,
) -> Result<Option<Address>, AddressError> {
    if input.len() > MAX_PATH_OCTETS {
        return Err(AddressError::PathTooLong(input.len()));
    }
    let pair = grammar::parse(rule, input)?;
    if pair.as_rule() != Rule::path {
        return Ok(None);
    }
    let mailbox = pair.into_inner().find(|p| p.as_rule() == Rule::mailbox);
    let address = Address::from_pair(mailbox.expect("a path has a mailbox"), input, lenient)?;
    // The limit holds in both forms the path can be sent in (U-labels with SMTPUTF8,
    // A-labels without), so it does not depend on how this input happened to write it.
    let unicode = address.to_string().len() + 2;
    let ascii = address.localpart.to_string().len() + 1 + address.host.ascii().len() + 2;
    match unicode.max(ascii) {
        n if n > MAX_PATH_OCTETS => Err(AddressError::PathTooLong(n)),
        _ => Ok(Some(address)),
    }
}

impl ReversePath {
    pub fn parse(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        Ok(match parse_path(Rule::reverse_path_only, input, lenient)? {
            Some(a) => ReversePath::Mailbox(a),
            None => ReversePath::Null,
        })
    }
}

impl ForwardPath {
    pub fn parse(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        Ok(match parse_path(Rule::forward_path_only, input, lenient)? {
            Some(a) => ForwardPath::Mailbox(a),
            None => ForwardPath::Postmaster,
        })
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(a) => write!(f, "<{a}>"),
        }
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(a) => write!(f, "<{a}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(s: &str) -> Result<ForwardPath, AddressError> {
        ForwardPath::parse(s, Leniencies::PEDANTIC)
    }

    #[test]
    fn null_postmaster_and_source_routes() {
        assert_eq!(
            ReversePath::parse("<>", Leniencies::PEDANTIC).unwrap(),
            ReversePath::Null
        );
        assert_eq!(fwd("<postMaster>").unwrap(), ForwardPath::Postmaster);
        assert!(fwd("<>").is_err(), "RCPT TO cannot be null");
        let routed = fwd("<@relay.example,@b.example:user@example.org>").unwrap();
        assert_eq!(routed.to_string(), "<user@example.org>");
    }

    #[test]
    fn paths_are_limited_to_256_octets() {
        let host = vec!["a".repeat(60); 4].join(".");
        let long = format!("<{}@{host}>", "b".repeat(11));
        assert_eq!(long.len(), 257);
        assert_eq!(fwd(&long).unwrap_err(), AddressError::PathTooLong(257));
        assert!(fwd(&long.replacen('b', "", 1)).is_ok());
    }

    #[test]
    fn the_limit_holds_in_the_u_label_and_the_a_label_form() {
        // Written with A-labels, printed with U-labels: what parses prints as a path
        // that parses.
        let label = "xn--mnchen-3ya"; // münchen
        let long_ascii = format!(
            "<{}@{}.{}>",
            "a".repeat(15),
            vec!["a".repeat(50); 3].join("."),
            [label; 5].join(".")
        );
        let a = fwd(&long_ascii).unwrap().to_string();
        assert!(fwd(&a).is_ok(), "what parses prints as a path that parses");
        // 227 octets as U-labels; each "a…aü" label is 6 octets longer as an A-label.
        let label = format!("{}ü", "a".repeat(30));
        let unicode = format!("<{}@{}>", "b".repeat(60), vec![label; 5].join("."));
        assert_eq!(unicode.len(), 227);
        assert!(
            matches!(fwd(&unicode), Err(AddressError::PathTooLong(n)) if n > 256),
            "its A-label form is too long"
        );
    }

    #[test]
    fn missing_brackets_are_reported_where_they_are_missing() {
        let err = fwd("user@example.org").unwrap_err();
        assert_eq!(err.to_string(), "unexpected 'u' at 1, expected '<'");
    }
}
