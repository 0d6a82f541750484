//! `grammars/spf.pest` turned into [`Record`] and [`MacroString`] values, with the
//! checks the ABNF leaves to prose. Nothing outside this file sees pest.

use pest::iterators::Pair;
use pest_derive::Parser;

use super::record::{DualCidr, Macro, MacroItem, MacroString, Mechanism, Qualifier, Record, Term};
use crate::grammar::{SyntaxError, parse_entry};

#[derive(Parser)]
#[grammar = "../grammars/spf.pest"]
struct SpfParser;

/// Why a record or explain-string is not valid SPF: a permerror.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("syntax error: {0}")]
    Syntax(SyntaxError),
    #[error("{0}")]
    Invalid(String),
}

impl std::str::FromStr for Record {
    type Err = RecordError;

    /// Parses a whole `v=spf1 ...` record.
    fn from_str(text: &str) -> Result<Record, RecordError> {
        let pair = parse(Rule::record_only, text)?;
        let mut terms = Vec::new();
        for term in pair.into_inner().filter(|p| p.as_rule() != Rule::version) {
            terms.push(term_of(term)?);
        }
        for (what, count) in [
            (
                "redirect=",
                terms
                    .iter()
                    .filter(|t| matches!(t, Term::Redirect(_)))
                    .count(),
            ),
            (
                "exp=",
                terms.iter().filter(|t| matches!(t, Term::Exp(_))).count(),
            ),
        ] {
            if count > 1 {
                return Err(RecordError::Invalid(format!(
                    "{what} appears {count} times; RFC 7208 6 allows it once"
                )));
            }
        }
        Ok(Record { terms })
    }
}

/// Parses an explanation: an explain-string (macro-strings and spaces, RFC 7208 6.2).
pub fn explain_string(text: &str) -> Result<MacroString, RecordError> {
    let pair = parse(Rule::explain_string_only, text)?;
    macro_string_of(pair)
}

fn parse(rule: Rule, text: &str) -> Result<Pair<'_, Rule>, RecordError> {
    parse_entry::<SpfParser, _>(rule, text, describe, PUNCTUATION).map_err(RecordError::Syntax)
}

const PUNCTUATION: &[&str] = &[":", "=", "/", "}", "%{", " "];

/// Words for the rules an error names.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        version => "\"v=spf1\"",
        directive | qualifier => "a mechanism",
        redirect | explanation | unknown_modifier => "a modifier",
        domain_spec => "a domain",
        ip4_network => "an IPv4 address",
        ip6_network => "an IPv6 address",
        dual_cidr_length | ip4_cidr_length | ip6_cidr_length => "a prefix length",
        macro_letter => "a macro letter (s l o d i p h c r t v)",
        EOI => "end of record",
        _ => return None,
    })
}

fn term_of(pair: Pair<'_, Rule>) -> Result<Term, RecordError> {
    Ok(match pair.as_rule() {
        Rule::directive => {
            let mut inner = pair.into_inner().peekable();
            let qualifier = match inner.next_if(|p| p.as_rule() == Rule::qualifier) {
                Some(q) => match q.as_str() {
                    "-" => Qualifier::Fail,
                    "~" => Qualifier::Softfail,
                    "?" => Qualifier::Neutral,
                    _ => Qualifier::Pass,
                },
                None => Qualifier::Pass,
            };
            let mechanism = mechanism_of(inner.next().expect("a directive has a mechanism"))?;
            Term::Directive(qualifier, mechanism)
        }
        Rule::redirect => Term::Redirect(domain_spec_of(only_child(pair))?),
        Rule::explanation => Term::Exp(domain_spec_of(only_child(pair))?),
        Rule::unknown_modifier => {
            let mut inner = pair.into_inner();
            let name = inner.next().expect("a name").as_str().to_string();
            let value = macro_string_of(inner.next().expect("a macro-string"))?;
            Term::Unknown { name, value }
        }
        rule => unreachable!("not a term: {rule:?}"),
    })
}

fn only_child(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    pair.into_inner().next().expect("the rule has one child")
}

fn mechanism_of(pair: Pair<'_, Rule>) -> Result<Mechanism, RecordError> {
    let rule = pair.as_rule();
    let mut domain = None;
    let mut cidr = DualCidr::default();
    let mut prefix = None;
    let mut network = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::domain_spec => domain = Some(domain_spec_of(part)?),
            Rule::dual_cidr_length => cidr = dual_cidr_of(part)?,
            Rule::ip4_cidr_length => prefix = Some(prefix_of(part, 32)?),
            Rule::ip6_cidr_length => prefix = Some(prefix_of(part, 128)?),
            Rule::ip4_network | Rule::ip6_network => network = Some(part.as_str()),
            other => unreachable!("not in a mechanism: {other:?}"),
        }
    }
    let target = || domain.clone().expect("the grammar requires a domain-spec");
    Ok(match rule {
        Rule::all => Mechanism::All,
        Rule::include => Mechanism::Include(target()),
        Rule::exists => Mechanism::Exists(target()),
        Rule::a => Mechanism::A { domain, cidr },
        Rule::mx => Mechanism::Mx { domain, cidr },
        Rule::ptr => Mechanism::Ptr(domain),
        Rule::ip4 => Mechanism::Ip4 {
            network: network
                .expect("ip4 has a network")
                .parse()
                .expect("the grammar checks qnums"),
            prefix,
        },
        Rule::ip6 => {
            let text = network.expect("ip6 has a network");
            let network = text.parse().map_err(|_| {
                RecordError::Invalid(format!("ip6:{text} is not an IPv6 address (RFC 4291 2.2)"))
            })?;
            Mechanism::Ip6 { network, prefix }
        }
        other => unreachable!("not a mechanism: {other:?}"),
    })
}

fn dual_cidr_of(pair: Pair<'_, Rule>) -> Result<DualCidr, RecordError> {
    let mut cidr = DualCidr::default();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::ip4_cidr_length => cidr.v4 = Some(prefix_of(part, 32)?),
            _ => cidr.v6 = Some(prefix_of(part, 128)?),
        }
    }
    Ok(cidr)
}

fn prefix_of(pair: Pair<'_, Rule>, max: u8) -> Result<u8, RecordError> {
    let text = &pair.as_str()[1..];
    text.parse::<u8>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| RecordError::Invalid(format!("prefix length /{text} is over {max}")))
}

/// A domain-spec: a macro-string without the explanation-only macros, whose end is
/// a macro or a top label that is not all digits (domain-end and toplabel, RFC 7208
/// 7.1).
fn domain_spec_of(pair: Pair<'_, Rule>) -> Result<MacroString, RecordError> {
    let text = pair.as_str();
    let spec = macro_string_of(pair)?;
    let explanation_only = spec.0.iter().find_map(|item| match item {
        MacroItem::Macro(m) if matches!(m.letter, 'c' | 'r' | 't') => Some(m.letter),
        _ => None,
    });
    if let Some(letter) = explanation_only {
        return Err(RecordError::Invalid(format!(
            "macro %{{{letter}}} in domain {text:?}: c, r and t are only allowed in explanation text (RFC 7208 7.2)"
        )));
    }
    let ends_well = match spec.0.last() {
        Some(MacroItem::Macro(_)) => true,
        Some(MacroItem::Literal(s)) => {
            let s = s.strip_suffix('.').unwrap_or(s);
            match s.rsplit_once('.') {
                Some((_, top)) => toplabel(top),
                // A literal after a macro, "%{d}com": no dot before the top label.
                None => false,
            }
        }
        _ => false,
    };
    if ends_well {
        Ok(spec)
    } else {
        Err(RecordError::Invalid(format!(
            "domain {text:?} must end in a macro or a top-level label that is not all digits (RFC 7208 7.1)"
        )))
    }
}

/// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
fn toplabel(label: &str) -> bool {
    let b = label.as_bytes();
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    if b.is_empty() || !b.iter().all(|c| alnum(c) || *c == b'-') {
        return false;
    }
    if b.iter().all(alnum) {
        return b.iter().any(u8::is_ascii_alphabetic);
    }
    alnum(&b[0]) && alnum(&b[b.len() - 1])
}

fn macro_string_of(pair: Pair<'_, Rule>) -> Result<MacroString, RecordError> {
    let mut items: Vec<MacroItem> = Vec::new();
    for part in pair.into_inner() {
        let item = match part.as_rule() {
            Rule::macro_literal | Rule::domain_literal | Rule::space => {
                MacroItem::Literal(part.as_str().to_string())
            }
            Rule::macro_expand => macro_expand_of(part)?,
            other => unreachable!("not in a macro-string: {other:?}"),
        };
        // Spaces and literal runs meet in explain-strings: one literal between macros.
        match (items.last_mut(), item) {
            (Some(MacroItem::Literal(prev)), MacroItem::Literal(more)) => prev.push_str(&more),
            (_, item) => items.push(item),
        }
    }
    Ok(MacroString(items))
}

fn macro_expand_of(pair: Pair<'_, Rule>) -> Result<MacroItem, RecordError> {
    let text = pair.as_str();
    let mut inner = pair.into_inner();
    let first = inner.next().expect("macro-expand has content");
    Ok(match first.as_rule() {
        Rule::escaped_percent => MacroItem::Percent,
        Rule::escaped_space => MacroItem::Space,
        Rule::escaped_url_space => MacroItem::UrlSpace,
        Rule::macro_letter => {
            let letter = first.as_str().chars().next().expect("one letter");
            let transformers = inner.next().expect("transformers");
            let mut keep = None;
            let mut reverse = false;
            for t in transformers.into_inner() {
                match t.as_rule() {
                    Rule::digits if !t.as_str().is_empty() => {
                        let n: u32 = t.as_str().parse().unwrap_or(u32::MAX);
                        if n == 0 {
                            return Err(RecordError::Invalid(format!(
                                "macro {text} keeps 0 parts; the number must be 1 or more (RFC 7208 7.3)"
                            )));
                        }
                        keep = Some(n);
                    }
                    Rule::reverse => reverse = true,
                    _ => {}
                }
            }
            let delimiters = inner.next().expect("delimiters").as_str().to_string();
            MacroItem::Macro(Macro {
                letter: letter.to_ascii_lowercase(),
                url_escape: letter.is_ascii_uppercase(),
                keep,
                reverse,
                delimiters,
            })
        }
        other => unreachable!("not a macro-expand: {other:?}"),
    })
}
