//! From an `addr_spec` pair to an [`Address`]: the address is written out again
//! without its comments, white space and obsolete forms, and that text goes through
//! [`Address::parse_addr_spec`], so that the address grammar alone says what an
//! address is and whether its domain is usable for mail.

use pest::iterators::Pair;

use super::AddressListError;
use super::grammar::Rule;
use super::phrase::is_atext;
use crate::address::Address;
use crate::grammar::SyntaxError;
use crate::leniency::Leniencies;

/// Converts an `addr_spec` pair of `input`.
pub(super) fn address(
    pair: Pair<'_, Rule>,
    input: &str,
    lenient: Leniencies,
) -> Result<Address, AddressListError> {
    let column = SyntaxError::at_byte(input, start_after_cfws(&pair), vec![]).column;
    let mut parts = pair.into_inner();
    let local = local_part(parts.next().expect("an addr-spec has a local part"));
    let domain = domain(parts.next().expect("an addr-spec has a domain"));
    let text = format!("{local}@{domain}");
    Address::parse_addr_spec(&text, lenient).map_err(|error| AddressListError::Address {
        column,
        text,
        error,
    })
}

/// Where `pair`'s text starts once the comments and white space in front of it are
/// skipped.
fn start_after_cfws(pair: &Pair<'_, Rule>) -> usize {
    match pair.clone().into_inner().next() {
        Some(first) if first.as_rule() == Rule::cfws => first.as_span().end(),
        Some(first) if first.as_span().start() == pair.as_span().start() => {
            start_after_cfws(&first)
        }
        _ => pair.as_span().start(),
    }
}

/// A `local_part` as addr-spec text: a dot-atom as it is; otherwise the words decoded,
/// joined with dots, and written as a dot-atom if they make one, else as one quoted
/// string (so `"a" . b` is `a.b`, and `"a b".c` is `"a b.c"`).
fn local_part(pair: Pair<'_, Rule>) -> String {
    let inner = pair.into_inner().next().expect("a local part has one form");
    if inner.as_rule() == Rule::dot_atom {
        return dot_atom_text(inner).to_string();
    }
    let words: Vec<String> = match inner.as_rule() {
        Rule::quoted_string => vec![word(inner)],
        Rule::obs_local_part => inner.into_inner().map(word).collect(),
        r => unreachable!("local part form {r:?}"),
    };
    let text = words.join(".");
    if words
        .iter()
        .all(|w| !w.is_empty() && w.chars().all(is_atext))
    {
        return text;
    }
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            _ => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// The content of an `atom` or `quoted_string` pair, decoded.
fn word(pair: Pair<'_, Rule>) -> String {
    let mut text = String::new();
    for token in pair.into_inner() {
        match token.as_rule() {
            Rule::cfws => {}
            Rule::quoted_pair | Rule::obs_qp => text.push_str(&token.as_str()[1..]),
            _ => text.push_str(token.as_str()),
        }
    }
    text
}

/// A `domain` as addr-spec text: a dot-atom as it is, a domain literal with its white
/// space kept (the address grammar refuses it there), obsolete atoms joined with dots.
fn domain(pair: Pair<'_, Rule>) -> String {
    let inner = pair.into_inner().next().expect("a domain has one form");
    match inner.as_rule() {
        Rule::dot_atom => dot_atom_text(inner).to_string(),
        Rule::domain_literal => {
            let content: String = inner
                .into_inner()
                .filter(|p| p.as_rule() != Rule::cfws)
                .map(|p| p.as_str())
                .collect();
            format!("[{content}]")
        }
        Rule::obs_domain => inner.into_inner().map(word).collect::<Vec<_>>().join("."),
        r => unreachable!("domain form {r:?}"),
    }
}

/// The `dot_atom_text` inside a `dot_atom` pair.
fn dot_atom_text(pair: Pair<'_, Rule>) -> &str {
    pair.into_inner()
        .find(|p| p.as_rule() == Rule::dot_atom_text)
        .expect("a dot-atom has its text")
        .as_str()
}
