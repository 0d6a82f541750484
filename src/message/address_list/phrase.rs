//! Display names (RFC 5322 3.2.5 phrase) in both directions: decoded from a `phrase`
//! pair, and written back as atoms or one quoted string.
//!
//! RFC 2047 encoded-words (`=?utf-8?q?J=C3=B6rg?=`) are atoms to RFC 5322 and stay
//! as they are: decoding them is presentation, and nothing that decides security reads
//! a display name.

use std::fmt;

use pest::iterators::Pair;

use super::grammar::Rule;

/// The text of a `phrase` pair: quotes removed, quoted pairs resolved, comments
/// dropped, and each run of comments and white space between words made one space
/// (RFC 5322 3.2.2). White space inside a quoted string is kept as it is.
pub(super) fn decode(phrase: Pair<'_, Rule>) -> String {
    let mut text = String::new();
    let mut space = false;
    push_tokens(phrase, &mut text, &mut space);
    text
}

/// Appends the tokens under `pair`; `space` says a separator is pending.
fn push_tokens(pair: Pair<'_, Rule>, text: &mut String, space: &mut bool) {
    for token in pair.into_inner() {
        let literal = match token.as_rule() {
            Rule::cfws => {
                *space = !text.is_empty();
                continue;
            }
            Rule::quoted_pair | Rule::obs_qp => &token.as_str()[1..],
            Rule::atom_text
            | Rule::obs_phrase_period
            | Rule::qtext
            | Rule::obs_qtext
            | Rule::fws => token.as_str(),
            _ => {
                push_tokens(token, text, space);
                continue;
            }
        };
        if std::mem::take(space) {
            text.push(' ');
        }
        text.push_str(literal);
    }
}

/// Writes `name` as a phrase that decodes to it: atoms separated by single spaces where
/// it is made of atext, else one quoted string.
pub(super) struct Phrase<'a>(pub &'a str);

impl fmt::Display for Phrase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_atoms(self.0) {
            return f.write_str(self.0);
        }
        f.write_str("\"")?;
        for c in self.0.chars() {
            // '"' and '\' are escaped as RFC 5322 3.2.4 requires; NUL, CR and LF can only
            // be written as the obsolete quoted pairs of 4.1 (obs-qp).
            if matches!(c, '"' | '\\' | '\0' | '\r' | '\n') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

/// Whether `name` is 1*atext words separated by single spaces.
fn is_atoms(name: &str) -> bool {
    name.split(' ')
        .all(|word| !word.is_empty() && word.chars().all(is_atext))
}

/// RFC 5322 3.2.3 atext with RFC 6532's UTF-8.
pub(super) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}
