//! Domains (RFC 5321 Domain with RFC 6531 U-labels, validated by UTS #46) and the
//! hosts of a mailbox: a domain or an address literal.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use pest::iterators::Pair;

use super::AddressError;
use super::grammar::{self, Rule};
use crate::grammar::SyntaxError;
use crate::leniency::{Leniencies, Leniency};

/// RFC 1035 2.3.4 as applied to the textual name: 253 octets without the root dot.
const MAX_DOMAIN_OCTETS: usize = 253;
const MAX_LABEL_OCTETS: usize = 63;

/// UseSTD3ASCIIRules, except that `_` passes (the "underscore-domain" leniency).
const STD3_BUT_UNDERSCORE: AsciiDenyList =
    AsciiDenyList::new(true, "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}~");

/// A domain name. Compared and hashed by its lowercase A-label form, so
/// `Münich.example` and `xn--mnich-kva.example` are the same domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Lowercase, A-labels for non-ASCII labels: the form sent without SMTPUTF8.
    ascii: String,
    /// The U-label form where it differs from `ascii`.
    unicode: Option<String>,
}

/// `domain` in lowercase A-label form, for comparing names from config files,
/// stored addresses and commands; as written, lowercased, where it is no
/// domain name.
pub fn ascii_domain(domain: &str) -> String {
    match Domain::parse(domain, Leniencies::PEDANTIC) {
        Ok(d) => d.ascii().to_string(),
        Err(_) => domain.to_lowercase(),
    }
}

/// The domain of a stored address, as [`ascii_domain`] gives it; none for the
/// null path (""). The domain follows the last "@": a quoted local part may
/// hold one, a domain or address literal never does.
pub fn domain_of(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| ascii_domain(domain))
}

impl Domain {
    /// Parses a domain name (RFC 5321 Domain, U-labels allowed).
    pub fn parse(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        let pair = grammar::parse(Rule::domain_only, input)?;
        Self::from_pair(pair, input, lenient)
    }

    /// Converts a `domain` pair.
    pub(super) fn from_pair(
        pair: Pair<'_, Rule>,
        input: &str,
        lenient: Leniencies,
    ) -> Result<Self, AddressError> {
        let text = pair.as_str();
        let mut underscores = false;
        for label in pair.into_inner() {
            if label.as_rule() == Rule::lenient_label || label.as_str().contains('_') {
                underscores = true;
                if !lenient.allows(Leniency::UnderscoreDomain) {
                    let at = label.as_span().start() + label.as_str().find('_').unwrap_or(0);
                    return Err(AddressError::NeedsLeniency {
                        what: "underscore in domain label",
                        column: SyntaxError::at_byte(input, at, vec![]).column,
                        leniency: Leniency::UnderscoreDomain,
                    });
                }
            }
        }
        let deny = if underscores {
            STD3_BUT_UNDERSCORE
        } else {
            AsciiDenyList::STD3
        };
        Self::from_text(text, deny)
    }

    /// UTS #46 processing (nontransitional, STD3 rules, CheckHyphens, CheckBidi,
    /// CheckJoiners) of text the grammar already recognized, plus the DNS lengths.
    fn from_text(text: &str, deny: AsciiDenyList) -> Result<Self, AddressError> {
        for label in text.split('.') {
            let is_reserved = label.is_ascii()
                && label.get(2..4) == Some("--")
                && !label[..2].eq_ignore_ascii_case("xn");
            if is_reserved {
                return Err(AddressError::ReservedLabel(label.to_string()));
            }
        }
        let uts46 = Uts46::new();
        let idna_error = || AddressError::Idna(text.to_string());
        let ascii = uts46
            .to_ascii(text.as_bytes(), deny, Hyphens::Check, DnsLength::Ignore)
            .map_err(|_| idna_error())?
            .into_owned();
        check_lengths(&ascii).map_err(|e| e.unwrap_or_else(idna_error))?;
        let (unicode, result) = uts46.to_unicode(ascii.as_bytes(), deny, Hyphens::Check);
        result.map_err(|_| idna_error())?;
        let unicode = (unicode != ascii).then(|| unicode.into_owned());
        Ok(Domain { ascii, unicode })
    }

    /// The lowercase A-label form, for DNS and for SMTP without SMTPUTF8.
    pub fn ascii(&self) -> &str {
        &self.ascii
    }

    /// The U-label form, for people and for SMTPUTF8.
    pub fn unicode(&self) -> &str {
        self.unicode.as_deref().unwrap_or(&self.ascii)
    }

    /// Whether the domain has no internationalized labels.
    pub fn is_ascii(&self) -> bool {
        self.unicode.is_none()
    }
}

/// DNS length limits on the A-label form. `Err(None)` is an empty label, which only
/// UTS #46 mapping can produce (`a\u{3002}\u{3002}b`).
fn check_lengths(ascii: &str) -> Result<(), Option<AddressError>> {
    if ascii.len() > MAX_DOMAIN_OCTETS {
        return Err(Some(AddressError::DomainTooLong(ascii.len())));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(None);
        }
        if label.len() > MAX_LABEL_OCTETS {
            return Err(Some(AddressError::LabelTooLong(
                label.to_string(),
                label.len(),
            )));
        }
    }
    Ok(())
}

impl PartialEq for Domain {
    fn eq(&self, other: &Self) -> bool {
        self.ascii == other.ascii
    }
}

impl Eq for Domain {}

impl Hash for Domain {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ascii.hash(state)
    }
}

impl PartialOrd for Domain {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Domain {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ascii.cmp(&other.ascii)
    }
}

impl fmt::Display for Domain {
    /// The U-label form; use [`Domain::ascii`] where ASCII is required.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.unicode())
    }
}

/// What follows the `@` of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    Domain(Domain),
    /// An address literal (RFC 5321 4.1.3): `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
    Literal(IpAddr),
}

impl Host {
    /// Parses a domain or an address literal, as in EHLO.
    pub fn parse(input: &str, lenient: Leniencies) -> Result<Self, AddressError> {
        if input.starts_with('[') {
            literal_from_pair(grammar::parse(Rule::address_literal_only, input)?).map(Host::Literal)
        } else {
            Domain::parse(input, lenient).map(Host::Domain)
        }
    }

    /// Converts a `domain` or `address_literal` pair.
    pub(super) fn from_pair(
        pair: Pair<'_, Rule>,
        input: &str,
        lenient: Leniencies,
    ) -> Result<Self, AddressError> {
        match pair.as_rule() {
            Rule::domain => Domain::from_pair(pair, input, lenient).map(Host::Domain),
            Rule::address_literal => literal_from_pair(pair).map(Host::Literal),
            r => unreachable!("host alternative {r:?}"),
        }
    }

    /// Whether the host is all ASCII (so needs no SMTPUTF8).
    pub fn is_ascii(&self) -> bool {
        match self {
            Host::Domain(d) => d.is_ascii(),
            Host::Literal(_) => true,
        }
    }

    /// The host as sent without SMTPUTF8: A-labels, or the literal.
    pub fn ascii(&self) -> String {
        match self {
            Host::Domain(d) => d.ascii().to_string(),
            Host::Literal(_) => self.to_string(),
        }
    }
}

/// The address in an `address_literal` pair, with the checks ABNF leaves out.
pub(super) fn literal_from_pair(pair: Pair<'_, Rule>) -> Result<IpAddr, AddressError> {
    let inner = pair
        .into_inner()
        .next()
        .expect("a literal has one alternative");
    let text = inner.as_str();
    match inner.as_rule() {
        Rule::ipv4_address_literal => ipv4(text).map(IpAddr::V4),
        Rule::ipv6_address_literal => ipv6(&text["IPv6:".len()..]).map(IpAddr::V6),
        Rule::general_address_literal => {
            let (tag, content) = text.split_once(':').expect("the grammar requires ':'");
            if tag.eq_ignore_ascii_case("IPv6") {
                Err(AddressError::Ipv6Literal(content.to_string()))
            } else {
                Err(AddressError::UnknownLiteralTag(tag.to_string()))
            }
        }
        r => unreachable!("literal alternative {r:?}"),
    }
}

/// Snum is 1*3DIGIT "representing a decimal integer value in the range 0 through 255";
/// leading zeros are allowed, which `Ipv4Addr::from_str` refuses.
fn ipv4(text: &str) -> Result<Ipv4Addr, AddressError> {
    let mut octets = [0u8; 4];
    for (octet, snum) in octets.iter_mut().zip(text.split('.')) {
        *octet = snum
            .parse()
            .map_err(|_| AddressError::Ipv4Literal(text.to_string()))?;
    }
    Ok(Ipv4Addr::from(octets))
}

/// The grammar admits compressed forms with too many groups; the address type does not.
fn ipv6(text: &str) -> Result<Ipv6Addr, AddressError> {
    text.parse()
        .map_err(|_| AddressError::Ipv6Literal(text.to_string()))
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => d.fmt(f),
            Host::Literal(IpAddr::V4(ip)) => write!(f, "[{ip}]"),
            Host::Literal(IpAddr::V6(ip)) => write!(f, "[IPv6:{ip}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(s: &str) -> Result<Domain, AddressError> {
        Domain::parse(s, Leniencies::PEDANTIC)
    }

    #[test]
    fn u_labels_and_a_labels_are_the_same_domain() {
        let u = strict("Bücher.Example").unwrap();
        let a = strict("xn--bcher-kva.example").unwrap();
        assert_eq!(u, a);
        assert_eq!(u.ascii(), "xn--bcher-kva.example");
        assert_eq!(a.unicode(), "bücher.example");
        assert!(!a.is_ascii());
        assert_eq!(strict("EXAMPLE.org").unwrap().to_string(), "example.org");
    }

    #[test]
    fn underscores_need_the_leniency() {
        let err = strict("mail_1.example").unwrap_err();
        assert_eq!(
            err.to_string(),
            "underscore in domain label at 5 (allowed only with leniency \"underscore-domain\")"
        );
        let lenient: Leniencies = [Leniency::UnderscoreDomain].into_iter().collect();
        assert_eq!(
            Domain::parse("Mail_1.example", lenient).unwrap().ascii(),
            "mail_1.example"
        );
    }

    #[test]
    fn dns_and_idna_limits_are_named() {
        let long = format!("{}.example", "a".repeat(64));
        assert!(matches!(
            strict(&long),
            Err(AddressError::LabelTooLong(_, 64))
        ));
        let many = vec!["abcdefghi"; 26].join(".");
        assert!(matches!(
            strict(&many),
            Err(AddressError::DomainTooLong(259))
        ));
        assert!(matches!(
            strict("ab--cd.example"),
            Err(AddressError::ReservedLabel(_))
        ));
        assert!(matches!(
            strict("xn--zz.example"),
            Err(AddressError::Idna(_))
        ));
        assert!(strict("-a.example").is_err());
        assert!(strict("a-.example").is_err());
        assert!(strict("example.").is_err());
    }

    #[test]
    fn literals_check_their_numbers() {
        let parse =
            |s: &str| literal_from_pair(grammar::parse(Rule::address_literal_only, s).unwrap());
        assert_eq!(
            parse("[192.0.2.001]").unwrap(),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert!(matches!(
            parse("[192.0.2.256]"),
            Err(AddressError::Ipv4Literal(_))
        ));
        assert_eq!(
            parse("[IPv6:2001:db8::1]").unwrap(),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            parse("[IPv6:::ffff:192.0.2.1]").unwrap(),
            "::ffff:192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert!(matches!(
            parse("[IPv6:1:2:3:4:5::6:7:8]"),
            Err(AddressError::Ipv6Literal(_))
        ));
        assert!(matches!(
            parse("[IPv6:zz]"),
            Err(AddressError::Ipv6Literal(_))
        ));
        assert!(
            matches!(parse("[x400:abc]"), Err(AddressError::UnknownLiteralTag(t)) if t == "x400")
        );
    }
}
