//! Complete addresses: `localpart@host`.

use std::fmt;
use std::str::FromStr;

use pest::iterators::Pair;

use super::grammar::{self, Rule};
use super::{AddressError, Domain, Host, Localpart, domain};
use crate::leniency::Leniencies;

/// A mail address as SMTP can deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub localpart: Localpart,
    pub host: Host,
}

impl Address {
    /// Parses an RFC 5321 Mailbox (with RFC 6531 UTF-8), as in SMTP paths and config.
    pub fn parse(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        let pair = grammar::parse(Rule::mailbox_only, input)?;
        Self::from_pair(pair, input, lenient)
    }

    /// Parses an RFC 5322 addr-spec, as taken out of a message header (without the
    /// comments and folding around it). Its domain must also be usable for mail: a
    /// dot-atom that is not a DNS name, or a domain literal that is not an address
    /// literal, is rejected with the reason.
    pub fn parse_addr_spec(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        let pair = grammar::parse(Rule::addr_spec_only, input)?;
        let mut parts = pair.into_inner();
        let local = parts.next().expect("addr-spec has a local part");
        let localpart = Localpart::from_pair(local, input, lenient)?;
        let host_pair = parts.next().expect("addr-spec has a domain");
        let text = host_pair.as_str();
        let host = match host_pair.as_rule() {
            Rule::dot_atom_text => Domain::parse(text, lenient).map(Host::Domain),
            Rule::addr_domain_literal => grammar::parse(Rule::address_literal_only, text)
                .and_then(domain::literal_from_pair)
                .map(Host::Literal),
            r => unreachable!("addr-spec domain alternative {r:?}"),
        };
        let host = host.map_err(|e| AddressError::InvalidDomain(text.to_string(), Box::new(e)))?;
        Ok(Address { localpart, host })
    }

    /// Converts a `mailbox` pair.
    pub(super) fn from_pair(
        pair: Pair<'_, Rule>,
        input: &str,
        lenient: Leniencies,
    ) -> Result<Self, AddressError> {
        let mut parts = pair.into_inner();
        let local = parts.next().expect("a mailbox has a local part");
        let localpart = Localpart::from_pair(local, input, lenient)?;
        let host = Host::from_pair(parts.next().expect("a mailbox has a host"), input, lenient)?;
        Ok(Address { localpart, host })
    }

    /// Whether the address is all ASCII, so that it can be sent without SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.localpart.is_ascii() && self.host.is_ascii()
    }
}

impl FromStr for Address {
    type Err = AddressError;

    /// A pedantic [`Address::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s, Leniencies::PEDANTIC)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.localpart, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_names_the_second_at() {
        let err = "bob@@example.org".parse::<Address>().unwrap_err();
        assert!(err.to_string().starts_with("unexpected '@' at 5"), "{err}");
    }

    #[test]
    fn addr_spec_domains_must_be_usable_for_mail() {
        let ok = Address::parse_addr_spec("\"a\tb\"@example.org", Leniencies::PEDANTIC);
        assert_eq!(ok.unwrap_err(), AddressError::TabInLocalpart);
        let err = Address::parse_addr_spec("a@exa!mple.org", Leniencies::PEDANTIC).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "domain \"exa!mple.org\" is not a valid domain name: unexpected '!' at 4"
            ),
            "{err}"
        );
        let err = Address::parse_addr_spec("a@[foo]", Leniencies::PEDANTIC).unwrap_err();
        assert!(matches!(err, AddressError::InvalidDomain(..)), "{err}");
        let a = Address::parse_addr_spec("a@[192.0.2.1]", Leniencies::PEDANTIC).unwrap();
        assert_eq!(a.to_string(), "a@[192.0.2.1]");
    }

    #[test]
    fn utf8_addresses_know_they_need_smtputf8() {
        let a: Address = "jöran@example.org".parse().unwrap();
        assert!(!a.is_ascii());
        let b: Address = "joran@bücher.example".parse().unwrap();
        assert!(!b.is_ascii());
        assert!("joran@example.org".parse::<Address>().unwrap().is_ascii());
    }
}
