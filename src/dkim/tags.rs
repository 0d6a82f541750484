//! `grammars/dkim.pest`: each DKIM tag value's own grammar, over the tags that
//! [`crate::tag_list`] splits. Nothing outside this file sees pest.

use pest_derive::Parser;

use crate::grammar::{SyntaxError, parse_whole};
pub use crate::tag_list::Tag;
use crate::tag_list::{self, TagListError};

#[derive(Parser)]
#[grammar = "../grammars/tag_list.pest"]
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

/// A tag list's tags in order (see [`crate::tag_list::split`]).
pub fn split(text: &str) -> Result<Vec<Tag>, TagError> {
    tag_list::split(text).map_err(|e| match e {
        TagListError::Syntax(e) => TagError::List(e),
        TagListError::Duplicate(tag) => TagError::Duplicate { tag },
    })
}

const PUNCTUATION: &[&str] = &["=", ";", ":", "@", ".", "-", "/"];

fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
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
