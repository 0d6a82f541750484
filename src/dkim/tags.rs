//! `grammars/dkim.pest`: tag lists split into tags, and each tag value's own
//! grammar. Nothing outside this file sees pest.

use pest_derive::Parser;

use crate::grammar::{SyntaxError, parse_entry, parse_whole};

#[derive(Parser)]
#[grammar = "../grammars/dkim.pest"]
struct DkimParser;

/// Why a DKIM-Signature or key record cannot be used: it names the tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("syntax error in the tag list: {0}")]
    List(SyntaxError),
    #[error("tag {tag}= appears more than once (RFC 6376 3.2)")]
    Duplicate { tag: String },
    #[error("tag {tag}= is required")]
    Missing { tag: &'static str },
    #[error("tag {tag}=: {problem}")]
    Value { tag: String, problem: String },
}

/// One tag of a tag list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// The value as written, folding included, without surrounding white space.
    pub value: String,
    /// Where the value is in the tag list's text, with the white space around it
    /// (from after the '=' to the ';' or the end): what a verifier deletes from b=
    /// (RFC 6376 3.7).
    pub value_span: std::ops::Range<usize>,
}

/// A tag list's tags in order. Tag names are case-sensitive (RFC 6376 3.2).
pub fn split(text: &str) -> Result<Vec<Tag>, TagError> {
    let list = parse_entry::<DkimParser, _>(Rule::tag_list_only, text, describe, PUNCTUATION)
        .map_err(TagError::List)?;
    let mut tags: Vec<Tag> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for spec in list.into_inner() {
        let spec_end = spec.as_span().end();
        let mut inner = spec.into_inner();
        let name = inner.next().expect("a tag name");
        let value = inner.next().expect("a tag value, maybe empty");
        let after_equals = name.as_span().end()
            + text[name.as_span().end()..]
                .find('=')
                .expect("the grammar has '='")
            + 1;
        let name = name.as_str().to_string();
        if !seen.insert(name.clone()) {
            return Err(TagError::Duplicate { tag: name });
        }
        tags.push(Tag {
            name,
            value: value.as_str().to_string(),
            value_span: after_equals..spec_end,
        });
    }
    Ok(tags)
}

const PUNCTUATION: &[&str] = &["=", ";", ":", "@", ".", "-", "/"];

fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        tag_name | tag_spec => "a tag name",
        tag_value => "a tag value",
        sub_domain => "a domain label",
        field_name => "a header field name",
        base64string => "base64",
        key_type => "a key type",
        hash_name => "a hash name",
        canon_alg => "a canonicalization",
        word => "a word",
        EOI => "end of value",
        _ => return None,
    })
}

/// The kinds of tag value, each with its grammar.
#[derive(Debug, Clone, Copy)]
pub enum ValueKind {
    /// `a=`: (key type, hash).
    Algorithm,
    /// `c=`: header and optional body canonicalization.
    Canonicalization,
    /// `d=`: a domain of two or more labels.
    Domain,
    /// `s=`: one or more labels.
    Selector,
    /// `h=`: field names separated by colons.
    HeaderList,
    /// `i=` after quoted-printable decoding: `[local-part]@domain`.
    Identity,
    /// `l=`, `t=`, `x=`: digits.
    Number,
    /// `b=`, `bh=`, `p=`: base64 with folding white space anywhere.
    Base64,
    /// `q=`, and the key record's `h=`, `s=`, `t=`: colon-separated words.
    WordList,
    /// `i=` before decoding: dkim-quoted-printable.
    QuotedPrintable,
}

/// Parses `value` (of tag `tag`) with the grammar of `kind`, returning the parts
/// that the kind has: for lists, each element; for others, the pieces in order.
pub fn value_parts(tag: &str, value: &str, kind: ValueKind) -> Result<Vec<String>, TagError> {
    let rule = match kind {
        ValueKind::Algorithm => Rule::algorithm_only,
        ValueKind::Canonicalization => Rule::canonicalization_only,
        ValueKind::Domain => Rule::domain_only,
        ValueKind::Selector => Rule::selector_only,
        ValueKind::HeaderList => Rule::header_list_only,
        ValueKind::Identity => Rule::identity_only,
        ValueKind::Number => Rule::number_only,
        ValueKind::Base64 => Rule::base64_only,
        ValueKind::WordList => Rule::word_list_only,
        ValueKind::QuotedPrintable => Rule::quoted_printable_only,
    };
    let entry =
        parse_whole::<DkimParser, _>(rule, value, describe, PUNCTUATION).map_err(|problem| {
            TagError::Value {
                tag: tag.to_string(),
                problem: problem.to_string(),
            }
        })?;
    Ok(entry
        .into_inner()
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| p.as_str().to_string())
        .collect())
}
