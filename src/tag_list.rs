//! Tag lists (`grammars/tag_list.pest`): the `name=value;` syntax of DKIM signatures
//! and key records (RFC 6376 3.2), which DMARC records share. This splits a list into
//! its tags; DKIM and DMARC parse the values of the tags they know.

use pest_derive::Parser;

use crate::grammar::{SyntaxError, parse_entry};

#[derive(Parser)]
#[grammar = "../grammars/tag_list.pest"]
struct TagListParser;

/// Why a tag list cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagListError {
    #[error("syntax error in the tag list: {0}")]
    Syntax(SyntaxError),
    #[error("tag {0}= appears more than once (RFC 6376 3.2)")]
    Duplicate(String),
}

/// One tag of a tag list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// The value as written, folding included, without surrounding white space.
    pub value: String,
    /// Where the value is in the tag list's text, with the white space around it
    /// (from after the '=' to the ';' or the end): what a DKIM verifier deletes from
    /// b= (RFC 6376 3.7).
    pub value_span: std::ops::Range<usize>,
}

/// A tag list's tags in order. Tag names are case-sensitive, and a name may appear
/// only once: otherwise the whole list is invalid (RFC 6376 3.2).
pub fn split(text: &str) -> Result<Vec<Tag>, TagListError> {
    let list = parse_entry::<TagListParser, _>(Rule::tag_list_only, text, describe, &["=", ";"])
        .map_err(TagListError::Syntax)?;
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
            return Err(TagListError::Duplicate(name));
        }
        tags.push(Tag {
            name,
            value: value.as_str().to_string(),
            value_span: after_equals..spec_end,
        });
    }
    Ok(tags)
}

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::tag_name | Rule::tag_spec => "a tag name",
        Rule::tag_value => "a tag value",
        Rule::EOI => "end of value",
        _ => return None,
    })
}
