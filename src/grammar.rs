//! What every pest grammar shares: turning a pest error into a [`SyntaxError`] that
//! says what was found, where, and what was expected, in words a peer or an operator
//! understands. Protocol modules wrap it in their own replies (`501 5.5.4 ...`,
//! `BAD ...`); the rest of the code never sees pest.

use std::fmt;
use std::sync::Once;

use pest::RuleType;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

/// Turns on pest's tracking of parse attempts, so errors can list the literal tokens
/// (`'<'`, `':'`) that would have been accepted. [`parse_entry`] calls this.
fn enable_error_detail() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| pest::set_error_detail(true));
}

/// Parses the whole of `input` with the entry rule `rule` of grammar `P` (a rule of
/// the form `SOI ~ value ~ EOI`) and returns the value's pair, or what was wrong.
pub fn parse_entry<'i, P: pest::Parser<R>, R: RuleType>(
    rule: R,
    input: &'i str,
    describe: impl Fn(R) -> Option<&'static str>,
    punctuation: &[&str],
) -> Result<Pair<'i, R>, SyntaxError> {
    Ok(parse_whole::<P, R>(rule, input, describe, punctuation)?
        .into_inner()
        .next()
        .expect("an entry rule wraps one value"))
}

/// Parses the whole of `input` with the entry rule `rule` (of the form `SOI ~ ... ~
/// EOI`) and returns the entry rule's own pair, whose children are the parts.
pub fn parse_whole<'i, P: pest::Parser<R>, R: RuleType>(
    rule: R,
    input: &'i str,
    describe: impl Fn(R) -> Option<&'static str>,
    punctuation: &[&str],
) -> Result<Pair<'i, R>, SyntaxError> {
    enable_error_detail();
    let mut pairs = P::parse(rule, input)
        .map_err(|e| SyntaxError::from_pest(&e, input, describe, punctuation))?;
    Ok(pairs.next().expect("an entry rule always yields one pair"))
}

/// A grammar rejected its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based character position of the offending character (or one past the end).
    pub column: usize,
    /// The character found there; `None` at the end of the input.
    pub found: Option<char>,
    /// What would have been accepted there, in words, without duplicates.
    pub expected: Vec<String>,
}

impl SyntaxError {
    /// Builds the error from pest's, naming rules with `describe` (rules for which it
    /// returns `None` are internal detail) and listing the literal tokens that were
    /// expected, where they are among the grammar's `punctuation`.
    ///
    /// pest's own position counts rule attempts only; its attempt tracker also sees
    /// literals (the '@' after "bob") and so can be further along. The further position
    /// is used when something there can be named; a lookahead that scanned ahead and
    /// failed gives nothing to name, and then pest's position is the better one.
    pub fn from_pest<R: RuleType>(
        err: &pest::error::Error<R>,
        input: &str,
        describe: impl Fn(R) -> Option<&'static str>,
        punctuation: &[&str],
    ) -> Self {
        let pest_byte = match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((start, _)) => start,
        };
        let positives = match &err.variant {
            ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            ErrorVariant::CustomError { .. } => Vec::new(),
        };
        let (at, mut rules, tokens) = match err.parse_attempts() {
            Some(a) if a.max_position >= pest_byte => (
                a.max_position,
                a.call_stacks()
                    .iter()
                    .filter_map(|s| s.deepest.get_rule().copied())
                    .collect(),
                a.expected_tokens()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            ),
            _ => (pest_byte, Vec::new(), Vec::new()),
        };
        if at == pest_byte {
            rules.splice(0..0, positives.iter().copied());
        }
        let expected = names(rules, tokens, &describe, punctuation);
        if expected.is_empty() && at > pest_byte {
            let expected = names(positives, Vec::new(), &describe, punctuation);
            return Self::at_byte(input, pest_byte, expected);
        }
        Self::at_byte(input, at, expected)
    }

    /// An error at byte offset `byte` of `input`, found by a check after the grammar.
    pub fn at_byte(input: &str, byte: usize, expected: Vec<String>) -> Self {
        let byte = byte.min(input.len());
        // pest positions are always char boundaries; a checker's might not be.
        let byte = (0..=byte)
            .rev()
            .find(|b| input.is_char_boundary(*b))
            .unwrap_or(0);
        SyntaxError {
            column: input[..byte].chars().count() + 1,
            found: input[byte..].chars().next(),
            expected,
        }
    }
}

/// The words for what was expected: described rules first, then punctuation tokens,
/// without duplicates.
fn names<R: RuleType>(
    rules: impl IntoIterator<Item = R>,
    tokens: impl IntoIterator<Item = String>,
    describe: impl Fn(R) -> Option<&'static str>,
    punctuation: &[&str],
) -> Vec<String> {
    let rules = rules.into_iter().filter_map(describe).map(str::to_string);
    let tokens = tokens
        .into_iter()
        .filter(|t| punctuation.contains(&t.as_str()))
        .map(|t| format!("'{t}'"));
    let mut expected: Vec<String> = Vec::new();
    for name in rules.chain(tokens) {
        if !expected.contains(&name) {
            expected.push(name);
        }
    }
    expected
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.found {
            Some(c) if c.is_control() || c.is_whitespace() => {
                write!(f, "unexpected {} at {}", c.escape_unicode(), self.column)?
            }
            Some(c) => write!(f, "unexpected '{c}' at {}", self.column)?,
            None => write!(f, "unexpected end at {}", self.column)?,
        }
        match self.expected.as_slice() {
            [] => Ok(()),
            [one] => write!(f, ", expected {one}"),
            [init @ .., last] => write!(f, ", expected {} or {last}", init.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = SyntaxError::at_byte("müller@@x", 8, vec!["a domain".into()]);
        assert_eq!(e.column, 8);
        assert_eq!(e.found, Some('@'));
        assert_eq!(e.to_string(), "unexpected '@' at 8, expected a domain");
    }

    #[test]
    fn end_of_input_and_invisible_characters_are_named() {
        let e = SyntaxError::at_byte(
            "ab",
            2,
            ["'@'", "'.'", "an atom"].map(String::from).to_vec(),
        );
        assert_eq!(
            e.to_string(),
            "unexpected end at 3, expected '@', '.' or an atom"
        );
        let e = SyntaxError::at_byte("a b", 1, vec![]);
        assert_eq!(e.to_string(), "unexpected \\u{20} at 2");
    }
}
