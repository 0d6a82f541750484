//! The pest parser for `grammars/address.pest`, and the words used for its rules in
//! error messages. Nothing outside `address` sees pest types.

use pest::iterators::Pair;
use pest_derive::Parser;

use super::AddressError;
use crate::grammar::parse_entry;

#[derive(Parser)]
#[grammar = "../grammars/address.pest"]
pub(super) struct AddressParser;

/// Parses the whole of `input` with the entry rule `rule` and returns its one
/// top-level pair (the part between SOI and EOI).
pub(super) fn parse(rule: Rule, input: &str) -> Result<Pair<'_, Rule>, AddressError> {
    parse_entry::<AddressParser, _>(rule, input, describe, PUNCTUATION)
        .map_err(AddressError::Syntax)
}

/// Literal tokens worth naming in an error; the many single characters that make up
/// atoms and labels are summed up by the rule names instead.
const PUNCTUATION: &[&str] = &["<", ">", "@", ".", ":", ",", "]", "\""];

/// Human words for a rule expected at the point of an error. Rules that only say
/// "more of the same" (atoms, labels) are left out: the punctuation says it better.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        local_part | addr_local_part => "a local part",
        domain => "a domain name",
        let_dig => "a letter or digit",
        atext => "a local-part character",
        address_literal => "an address literal ([192.0.2.1] or [IPv6:...])",
        ipv4_address_literal => "an IPv4 address",
        ipv6_addr => "an IPv6 address",
        path | null_path | postmaster_path => "'<'",
        EOI => "end of input",
        _ => return None,
    })
}
