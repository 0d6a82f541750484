//! The local part of an address (RFC 5321 Local-part, RFC 6531 UTF-8 local parts).

use std::fmt;

use pest::iterators::Pair;

use super::AddressError;
use super::grammar::{self, Rule};
use crate::grammar::SyntaxError;
use crate::leniency::{Leniencies, Leniency};

/// RFC 5321 4.5.3.1.1: "The maximum total length of a user name or other local-part
/// is 64 octets."
const MAX_OCTETS: usize = 64;

/// A local part, decoded: `"a\"b"` on the wire is `a"b` here. Quoted and unquoted
/// forms of the same text are the same local part (RFC 5321 4.1.2). Comparison is
/// exact; case rules for delivery belong to the domain's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Localpart(String);

impl Localpart {
    /// Parses a local part as it appears in a Mailbox: a Dot-string or Quoted-string.
    pub fn parse(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        let pair = grammar::parse(Rule::local_part_only, input)?;
        Self::from_pair(pair, input, lenient)
    }

    /// Converts a `local_part` or `addr_local_part` pair.
    pub(super) fn from_pair(
        pair: Pair<'_, Rule>,
        input: &str,
        lenient: Leniencies,
    ) -> Result<Self, AddressError> {
        let inner = pair
            .into_inner()
            .next()
            .expect("a local part has one alternative");
        let text = match inner.as_rule() {
            Rule::dot_string => inner.as_str().to_string(),
            Rule::lenient_dot_string => {
                check_dots(inner.as_str(), inner.as_span().start(), input, lenient)?;
                inner.as_str().to_string()
            }
            Rule::quoted_string | Rule::addr_quoted_string => unquote(inner)?,
            r => unreachable!("local part alternative {r:?}"),
        };
        if text.len() > MAX_OCTETS && !lenient.allows(Leniency::LongLocalpart) {
            return Err(AddressError::LocalpartTooLong(text.len()));
        }
        Ok(Localpart(text))
    }

    /// The decoded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the local part is all ASCII (so needs no SMTPUTF8).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }
}

/// Rejects the empty atoms of a lenient dot-string unless the leniency allows them,
/// pointing at the first offending dot.
fn check_dots(
    text: &str,
    start: usize,
    input: &str,
    lenient: Leniencies,
) -> Result<(), AddressError> {
    if lenient.allows(Leniency::DotLocalpart) {
        return Ok(());
    }
    let (offset, what) = if text.starts_with('.') {
        (0, "local part starts with a dot")
    } else if let Some(i) = text.find("..") {
        (i + 1, "consecutive dots in local part")
    } else {
        (text.len() - 1, "local part ends with a dot")
    };
    let column = SyntaxError::at_byte(input, start + offset, vec![]).column;
    Err(AddressError::NeedsLeniency {
        what,
        column,
        leniency: Leniency::DotLocalpart,
    })
}

/// The content of a quoted string, with quoted pairs resolved.
fn unquote(pair: Pair<'_, Rule>) -> Result<String, AddressError> {
    let mut text = String::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::qtext_smtp | Rule::addr_qtext => text.push_str(part.as_str()),
            Rule::quoted_pair_smtp | Rule::addr_quoted_pair => text.push_str(&part.as_str()[1..]),
            r => unreachable!("quoted string part {r:?}"),
        }
    }
    // RFC 5322 allows a tab in a quoted string; SMTP's Quoted-string cannot carry one.
    if text.contains('\t') {
        return Err(AddressError::TabInLocalpart);
    }
    Ok(text)
}

/// RFC 5322 atext with RFC 6531's UTF-8 extension.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

/// RFC 5321's Dot-string, which is RFC 5322's dot-atom-text: atoms joined by single
/// dots.
pub(crate) fn is_dot_string(s: &str) -> bool {
    s.split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

impl fmt::Display for Localpart {
    /// The shortest valid RFC 5321 form: a Dot-string where possible, else a
    /// Quoted-string with `"` and `\` escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_dot_string(&self.0) {
            return f.write_str(&self.0);
        }
        f.write_str("\"")?;
        for c in self.0.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(s: &str) -> Result<Localpart, AddressError> {
        Localpart::parse(s, Leniencies::PEDANTIC)
    }

    #[test]
    fn quoted_and_unquoted_forms_are_the_same_localpart() {
        assert_eq!(strict("\"john\"").unwrap(), strict("john").unwrap());
        assert_eq!(strict("\"john\"").unwrap().to_string(), "john");
        let q = strict(r#""a\"b c""#).unwrap();
        assert_eq!(q.as_str(), "a\"b c");
        assert_eq!(q.to_string(), r#""a\"b c""#);
    }

    #[test]
    fn dots_need_the_leniency_and_the_error_points_at_the_dot() {
        let err = strict("john..doe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "consecutive dots in local part at 6 (allowed only with leniency \"dot-localpart\")"
        );
        assert!(
            strict(".john")
                .unwrap_err()
                .to_string()
                .starts_with("local part starts with a dot at 1")
        );
        assert!(
            strict("john.")
                .unwrap_err()
                .to_string()
                .starts_with("local part ends with a dot at 5")
        );
        let lenient: Leniencies = [Leniency::DotLocalpart].into_iter().collect();
        let lp = Localpart::parse("john..doe", lenient).unwrap();
        assert_eq!(
            lp.to_string(),
            "\"john..doe\"",
            "displayed in its strictly valid form"
        );
    }

    #[test]
    fn sixty_four_octets_is_the_limit() {
        assert!(strict(&"a".repeat(64)).is_ok());
        assert_eq!(
            strict(&"a".repeat(65)).unwrap_err(),
            AddressError::LocalpartTooLong(65)
        );
        let lenient: Leniencies = [Leniency::LongLocalpart].into_iter().collect();
        assert!(Localpart::parse(&"a".repeat(65), lenient).is_ok());
        // Octets, not characters: 32 two-octet characters fill it.
        assert!(strict(&"é".repeat(32)).is_ok());
        assert!(strict(&"é".repeat(33)).is_err());
    }
}
