//! The Authentication-Results header field (RFC 8601): written for the checks this
//! server made, and read back (`grammars/authres.pest`).
//!
//! Every value that comes from the network (a HELO name, a MAIL FROM domain, a
//! reason) is written as a token, an address, or a quoted string with `"` and `\`
//! escaped, and comments have their parentheses escaped; control characters,
//! CR and LF among them, become spaces. So no remote value can end the field or
//! start another (tested, and fuzzed as a round trip).

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt::{self, Write};

use pest::iterators::Pair;
use pest_derive::Parser;

use crate::grammar::{SyntaxError, parse_entry};
use crate::message::{MAX_COMMENT_DEPTH, check_comment_depth, safe_text};

#[derive(Parser)]
#[grammar = "../grammars/message.pest"]
#[grammar = "../grammars/authres.pest"]
struct AuthresParser;

/// One Authentication-Results field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationResults {
    /// Who made the checks: this server's host name for the fields it adds.
    pub authserv_id: String,
    pub version: Option<u32>,
    /// Empty for `; none` (no checks made).
    pub results: Vec<MethodResult>,
}

/// One check and what it found: `spf=pass smtp.mailfrom=example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// A keyword: spf, dkim, dmarc, iprev, auth, ... (lowercase when written here).
    pub method: String,
    pub method_version: Option<u32>,
    /// A keyword: pass, fail, none, ...
    pub result: String,
    /// Text for people, written as a comment after the result.
    pub comment: Option<String>,
    /// `reason="..."`
    pub reason: Option<String>,
    pub properties: Vec<Property>,
}

/// `ptype.property=value`, e.g. `header.d=example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// smtp, header, body or policy.
    pub ptype: String,
    pub property: String,
    pub value: String,
}

impl MethodResult {
    pub fn new(method: &str, result: &str) -> MethodResult {
        MethodResult {
            method: method.to_string(),
            method_version: None,
            result: result.to_string(),
            comment: None,
            reason: None,
            properties: Vec::new(),
        }
    }

    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    pub fn reason(mut self, text: impl Into<String>) -> Self {
        self.reason = Some(text.into());
        self
    }

    pub fn property(mut self, ptype: &str, property: &str, value: impl Into<String>) -> Self {
        self.properties.push(Property {
            ptype: ptype.to_string(),
            property: property.to_string(),
            value: value.into(),
        });
        self
    }
}

/// Why a field value is not an Authentication-Results value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthresError {
    #[error("Authentication-Results: {0}")]
    Syntax(SyntaxError),
    #[error("Authentication-Results: comment nested more than {MAX_COMMENT_DEPTH} deep at {0}")]
    CommentDepth(usize),
    #[error("Authentication-Results: {0} is too large a version")]
    Version(String),
}

impl AuthenticationResults {
    /// Parses a field value, unfolded (see `message::HeaderField::value_str`).
    pub fn parse(value: &str) -> Result<AuthenticationResults, AuthresError> {
        check_comment_depth(value).map_err(AuthresError::CommentDepth)?;
        let payload =
            parse_entry::<AuthresParser, _>(Rule::authres_only, value, describe, PUNCTUATION)
                .map_err(AuthresError::Syntax)?;
        let mut field = AuthenticationResults {
            authserv_id: String::new(),
            version: None,
            results: Vec::new(),
        };
        for pair in payload.into_inner() {
            match pair.as_rule() {
                Rule::authserv_id => field.authserv_id = value_text(only_child(pair)),
                Rule::authres_version => field.version = Some(number(pair.as_str())?),
                Rule::resinfo => field.results.push(method_result(pair)?),
                _ => {}
            }
        }
        Ok(field)
    }

    /// The authserv-id a field claims, even when the rest of it does not parse: what
    /// a receiving server needs to remove fields that pretend to be its own (RFC
    /// 8601 5).
    pub fn claimed_authserv_id(value: &str) -> Option<String> {
        check_comment_depth(value).ok()?;
        let entry = crate::grammar::parse_whole::<AuthresParser, _>(
            Rule::authserv_id_prefix,
            value,
            describe,
            PUNCTUATION,
        )
        .ok()?;
        let id = entry
            .into_inner()
            .find(|p| p.as_rule() == Rule::authserv_id)?;
        Some(value_text(only_child(id)))
    }
}

fn only_child(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    pair.into_inner()
        .next()
        .expect("the grammar gives this rule one child")
}

fn number(digits: &str) -> Result<u32, AuthresError> {
    digits
        .parse()
        .map_err(|_| AuthresError::Version(digits.to_string()))
}

fn method_result(resinfo: Pair<'_, Rule>) -> Result<MethodResult, AuthresError> {
    let mut result = MethodResult::new("", "");
    for part in resinfo.into_inner() {
        match part.as_rule() {
            Rule::method => {
                for p in part.into_inner() {
                    match p.as_rule() {
                        Rule::keyword => result.method = p.as_str().to_ascii_lowercase(),
                        Rule::method_version => result.method_version = Some(number(p.as_str())?),
                        _ => {}
                    }
                }
            }
            Rule::result => result.result = part.as_str().to_ascii_lowercase(),
            Rule::result_comment => {
                let comment = part.into_inner().find(|p| p.as_rule() == Rule::comment);
                result.comment = comment.map(|c| comment_text(c.as_str()));
            }
            Rule::reasonspec => {
                let value = part.into_inner().find(|p| p.as_rule() == Rule::value);
                result.reason = value.map(value_text);
            }
            Rule::propspec => result.properties.push(property(part)),
            _ => {}
        }
    }
    Ok(result)
}

fn property(propspec: Pair<'_, Rule>) -> Property {
    let mut property = Property {
        ptype: String::new(),
        property: String::new(),
        value: String::new(),
    };
    for part in propspec.into_inner() {
        match part.as_rule() {
            Rule::ptype => property.ptype = part.as_str().to_ascii_lowercase(),
            Rule::property => property.property = part.as_str().to_ascii_lowercase(),
            Rule::pvalue => {
                let inner = part
                    .into_inner()
                    .find(|p| matches!(p.as_rule(), Rule::address_value | Rule::value));
                property.value = match inner {
                    Some(v) if v.as_rule() == Rule::value => value_text(v),
                    Some(v) => v.as_str().to_string(),
                    None => String::new(),
                };
            }
            _ => {}
        }
    }
    property
}

/// A `value`: a token as written, a quoted string without its quotes and escapes.
fn value_text(value: Pair<'_, Rule>) -> String {
    let token_or_quoted = only_child(value);
    match token_or_quoted.as_rule() {
        Rule::quoted_value => unescape(only_child(token_or_quoted).as_str()),
        _ => token_or_quoted.as_str().to_string(),
    }
}

/// A comment's text: without its outer parentheses and escapes.
fn comment_text(comment: &str) -> String {
    unescape(&comment[1..comment.len() - 1])
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}

const PUNCTUATION: &[&str] = &[";", "=", ".", "/", "\"", ")"];

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::authserv_id | Rule::value | Rule::token | Rule::quoted_value => "a value",
        Rule::authres_version => "a version",
        Rule::no_result => "none",
        Rule::resinfo => "a result",
        Rule::keyword | Rule::method | Rule::result | Rule::ptype | Rule::property => "a keyword",
        Rule::reasonspec => "reason=",
        Rule::propspec => "a property",
        Rule::pvalue | Rule::address_value => "a property value",
        Rule::EOI => "the end of the field",
        _ => return None,
    })
}

impl fmt::Display for AuthenticationResults {
    /// The field value, each result on a line of its own (folded with CRLF TAB),
    /// without the field name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, &self.authserv_id)?;
        if let Some(version) = self.version {
            write!(f, " {version}")?;
        }
        if self.results.is_empty() {
            return f.write_str("; none");
        }
        for result in &self.results {
            f.write_str(";\r\n\t")?;
            write!(f, "{result}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MethodResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_keyword(f, &self.method)?;
        if let Some(version) = self.method_version {
            write!(f, "/{version}")?;
        }
        f.write_char('=')?;
        write_keyword(f, &self.result)?;
        if let Some(comment) = &self.comment {
            write!(f, " {}", safe_text::comment(comment))?;
        }
        if let Some(reason) = &self.reason {
            f.write_str(" reason=")?;
            write_value(f, reason)?;
        }
        for p in &self.properties {
            f.write_char(' ')?;
            write_keyword(f, &p.ptype)?;
            f.write_char('.')?;
            write_keyword(f, &p.property)?;
            f.write_char('=')?;
            write_pvalue(f, &p.value)?;
        }
        Ok(())
    }
}

/// Whether `text` reads whole as `rule` (one of the `*_only` rules).
fn reads_as(rule: Rule, text: &str) -> bool {
    <AuthresParser as pest::Parser<Rule>>::parse(rule, text).is_ok()
}

/// A keyword as it is, if it is one; our own code supplies these, so anything else
/// is written as `x-invalid` rather than let through.
fn write_keyword(f: &mut fmt::Formatter<'_>, keyword: &str) -> fmt::Result {
    let valid = reads_as(Rule::keyword_only, keyword);
    f.write_str(if valid { keyword } else { "x-invalid" })
}

/// A token when `text` is one, else a quoted string.
fn write_value(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    if reads_as(Rule::token_only, text) {
        f.write_str(text)
    } else {
        f.write_str(&safe_text::quoted_string(text))
    }
}

/// An address (`local@domain`, `@domain`) bare, as RFC 8601's examples write them;
/// anything else as a value. A quoted local part may hold a TAB, which is written
/// quoted instead, so that every control character becomes a space.
fn write_pvalue(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    if !text.contains(char::is_control) && reads_as(Rule::address_only, text) {
        f.write_str(text)
    } else {
        write_value(f, text)
    }
}
