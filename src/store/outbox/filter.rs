//! Which queued recipients an operator's command is about.

use serde::{Deserialize, Serialize};

use super::{Queued, Retired};
use crate::address::ascii_domain;

/// Recipients to act on: each field that is set must match; an empty filter
/// matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Queued message ids (any of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<i64>,
    /// The submitting account; "" is the server's own mail (DSNs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The sender: a whole address, or a domain (with or without a leading "@").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The recipient: a whole address, or a domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Only recipients on hold (true) or only those not on hold (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<bool>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    pub fn matches(&self, q: &Queued) -> bool {
        self.held.is_none_or(|h| h == q.hold)
            && self.matches_parts(q.message, &q.account, &q.sender, &q.address)
    }

    /// For finished deliveries, which are on hold never.
    pub fn matches_retired(&self, r: &Retired) -> bool {
        self.held != Some(true) && self.matches_parts(r.message, &r.account, &r.sender, &r.address)
    }

    fn matches_parts(&self, message: i64, account: &str, sender: &str, address: &str) -> bool {
        (self.messages.is_empty() || self.messages.contains(&message))
            && self.account.as_deref().is_none_or(|a| a == account)
            && self
                .from
                .as_deref()
                .is_none_or(|f| address_matches(f, sender))
            && self
                .to
                .as_deref()
                .is_none_or(|t| address_matches(t, address))
    }
}

/// Whether `address` is `wanted`, or at the domain `wanted`. Addresses compare
/// without regard to case; domains in either their Unicode or ASCII form.
fn address_matches(wanted: &str, address: &str) -> bool {
    match wanted.strip_prefix('@') {
        None if wanted.contains('@') => wanted.to_lowercase() == address.to_lowercase(),
        domain => {
            let at = address.rsplit_once('@').map_or("", |(_, d)| d);
            same_domain(domain.unwrap_or(wanted), at)
        }
    }
}

/// Whether two domain names are the same name.
pub fn same_domain(a: &str, b: &str) -> bool {
    ascii_domain(a) == ascii_domain(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_domains_match_in_any_case_and_form() {
        assert!(address_matches("Bob@Example.ORG", "bob@example.org"));
        assert!(!address_matches("bob@example.org", "bob2@example.org"));
        assert!(address_matches("example.org", "bob@EXAMPLE.org"));
        assert!(address_matches("@example.org", "bob@example.org"));
        assert!(!address_matches("example.org", "bob@sub.example.org"));
        assert!(address_matches(
            "münchen.example",
            "x@xn--mnchen-3ya.example"
        ));
        assert!(address_matches(
            "xn--mnchen-3ya.example",
            "x@münchen.example"
        ));
    }
}
