//! The obsolete syntax of RFC 5322 section 4 that a field value used. Parsers MUST
//! accept it (section 4); reporting it lets a submission server or a report say that a
//! client still writes it.

use std::fmt;

use pest::iterators::Pair;

use super::grammar::Rule;

/// One obsolete form, named after its RFC 5322 section 4 rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Obsolete {
    /// obs-phrase: a period in a display name (`Joe Q. Public`).
    Phrase,
    /// obs-angle-addr: a source route before the address (`<@relay:user@host>`). The
    /// route is dropped: "the route portion SHOULD be ignored" (RFC 5322 4.4).
    Route,
    /// obs-mbox-list, obs-addr-list, obs-group-list: empty list elements (`a@b, , c@d`).
    EmptyListElement,
    /// obs-local-part: comments or white space around the dots of a local part, or
    /// quoted strings among its dot-separated words (`"a".b`).
    LocalPart,
    /// obs-domain: comments or white space around the dots of a domain.
    Domain,
    /// obs-qtext, obs-ctext, obs-qp, obs-dtext: control characters in quoted strings,
    /// comments and domain literals, and quoted pairs in domain literals.
    Text,
}

impl Obsolete {
    fn of(rule: Rule) -> Option<Self> {
        Some(match rule {
            Rule::obs_phrase_period => Obsolete::Phrase,
            Rule::obs_route => Obsolete::Route,
            Rule::obs_list_gap | Rule::obs_group_list => Obsolete::EmptyListElement,
            Rule::obs_local_part => Obsolete::LocalPart,
            Rule::obs_domain => Obsolete::Domain,
            Rule::obs_qtext | Rule::obs_ctext | Rule::obs_qp | Rule::obs_dtext => Obsolete::Text,
            _ => return None,
        })
    }
}

impl fmt::Display for Obsolete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Obsolete::Phrase => "a period in a display name (obs-phrase)",
            Obsolete::Route => "a source route (obs-route)",
            Obsolete::EmptyListElement => "an empty list element (obs-mbox-list, obs-addr-list)",
            Obsolete::LocalPart => "white space or quotes between local-part dots (obs-local-part)",
            Obsolete::Domain => "white space or comments between domain dots (obs-domain)",
            Obsolete::Text => "control characters or quoted pairs (obs-qtext, obs-qp, obs-dtext)",
        })
    }
}

/// Every obsolete form used anywhere in `pair`, comments included, each once, in the
/// order of first use.
pub(super) fn obsolete_forms(pair: &Pair<'_, Rule>) -> Vec<Obsolete> {
    let mut found = Vec::new();
    for form in pair
        .clone()
        .into_inner()
        .flatten()
        .filter_map(|p| Obsolete::of(p.as_rule()))
    {
        if !found.contains(&form) {
            found.push(form);
        }
    }
    found
}
