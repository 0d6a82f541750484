//! The pest parser for `grammars/message.pest`, the cap on comment nesting that runs
//! before it, and the words used for its rules in error messages. Nothing outside
//! `address_list` sees pest types.

use pest::iterators::Pair;
use pest_derive::Parser;

use super::AddressListError;
use crate::grammar::{SyntaxError, parse_entry};

#[derive(Parser)]
#[grammar = "../grammars/message.pest"]
pub(super) struct MessageParser;

/// Comments nest without limit in RFC 5322; each level costs the parser stack. Real mail
/// nests two or three deep.
pub(crate) const MAX_COMMENT_DEPTH: usize = 32;

/// Parses the whole of `input` with the entry rule `rule` and returns its one
/// top-level pair (the part between SOI and EOI).
pub(super) fn parse(rule: Rule, input: &str) -> Result<Pair<'_, Rule>, AddressListError> {
    check_comment_depth(input).map_err(|column| AddressListError::CommentDepth { column })?;
    parse_entry::<MessageParser, _>(rule, input, describe, PUNCTUATION)
        .map_err(AddressListError::Syntax)
}

/// Rejects comments nested deeper than [`MAX_COMMENT_DEPTH`], giving the column of the
/// parenthesis that goes too deep. Follows the grammar's lexical rules: a parenthesis
/// inside a quoted string or a domain literal, or after a backslash, opens nothing.
/// Every grammar built on `grammars/message.pest` runs this first.
pub(crate) fn check_comment_depth(input: &str) -> Result<(), usize> {
    let (mut depth, mut within, mut escaped) = (0usize, None, false);
    for (at, c) in input.char_indices() {
        match (c, within) {
            _ if escaped => escaped = false,
            ('\\', _) => escaped = true,
            ('"', None) if depth == 0 => within = Some('"'),
            ('[', None) if depth == 0 => within = Some(']'),
            (c, Some(end)) if c == end => within = None,
            ('(', None) => {
                depth += 1;
                if depth > MAX_COMMENT_DEPTH {
                    return Err(SyntaxError::at_byte(input, at, vec![]).column);
                }
            }
            (')', None) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Literal tokens worth naming in an error. "(" is left out: a comment may start almost
/// anywhere, and saying so at every error would drown what is missing.
const PUNCTUATION: &[&str] = &["<", ">", "@", ".", ":", ";", ",", "\"", ")", "]"];

/// Human words for a rule expected at the point of an error.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        address | address_list => "an address",
        mailbox | mailbox_list => "a mailbox",
        addr_spec | local_part | obs_local_part => "a local part",
        domain | obs_domain => "a domain",
        atom_text | dot_atom_text => "an atom",
        EOI => "end of input",
        _ => return None,
    })
}
