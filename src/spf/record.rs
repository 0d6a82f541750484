//! An SPF record as typed values (RFC 7208 4.6 and 12), printed back in record
//! syntax by `Display`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::SpfResult;

/// A parsed `v=spf1` record: its terms in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Directive(Qualifier, Mechanism),
    /// `redirect=`: the policy of another domain applies when nothing matched.
    Redirect(MacroString),
    /// `exp=`: where the explanation for a fail result is.
    Exp(MacroString),
    /// Any other `name=value`: ignored by evaluation (RFC 7208 6).
    Unknown {
        name: String,
        value: MacroString,
    },
}

/// What a matching mechanism makes the result (RFC 7208 4.6.2); `+` is implied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    Softfail,
    Neutral,
}

impl Qualifier {
    /// The result a match gives.
    pub fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::Softfail => SpfResult::Softfail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Qualifier::Pass => "",
            Qualifier::Fail => "-",
            Qualifier::Softfail => "~",
            Qualifier::Neutral => "?",
        }
    }
}

/// The eight mechanisms (RFC 7208 5). Target domains are domain-specs: macro
/// strings, expanded at evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        cidr: DualCidr,
    },
    Mx {
        domain: Option<MacroString>,
        cidr: DualCidr,
    },
    Ptr(Option<MacroString>),
    Ip4 {
        network: Ipv4Addr,
        prefix: Option<u8>,
    },
    Ip6 {
        network: Ipv6Addr,
        prefix: Option<u8>,
    },
    Exists(MacroString),
}

/// The prefix lengths of `a` and `mx`: for IPv4 and IPv6 clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DualCidr {
    pub v4: Option<u8>,
    pub v6: Option<u8>,
}

/// A macro-string: literal text and macros (RFC 7208 7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacroString(pub Vec<MacroItem>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MacroItem {
    /// Text between macros, never empty; two literals are never adjacent. In an
    /// explain-string it may hold spaces.
    Literal(String),
    Macro(Macro),
    /// `%%`
    Percent,
    /// `%_`
    Space,
    /// `%-`
    UrlSpace,
}

/// `%{letter digits r delimiters}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The letter, lowercase: s l o d i p h c r t v.
    pub letter: char,
    /// Written in uppercase: the expansion is URL-escaped.
    pub url_escape: bool,
    /// Keep only this many rightmost parts; never zero.
    pub keep: Option<u32>,
    pub reverse: bool,
    /// The characters that split the value into parts; "" means ".".
    pub delimiters: String,
}

impl Record {
    /// The target of `exp=`, wherever it stands: modifiers apply after the
    /// mechanisms whatever their position (RFC 7208 6).
    pub fn exp(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match t {
            Term::Exp(target) => Some(target),
            _ => None,
        })
    }

    /// The target of `redirect=`, wherever it stands.
    pub fn redirect(&self) -> Option<&MacroString> {
        self.terms.iter().find_map(|t| match t {
            Term::Redirect(target) => Some(target),
            _ => None,
        })
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=spf1")?;
        self.terms.iter().try_for_each(|t| write!(f, " {t}"))
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Directive(q, m) => write!(f, "{}{m}", q.symbol()),
            Term::Redirect(d) => write!(f, "redirect={d}"),
            Term::Exp(d) => write!(f, "exp={d}"),
            Term::Unknown { name, value } => write!(f, "{name}={value}"),
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = |f: &mut fmt::Formatter<'_>, d: &Option<MacroString>| match d {
            Some(d) => write!(f, ":{d}"),
            None => Ok(()),
        };
        let prefix = |f: &mut fmt::Formatter<'_>, p: &Option<u8>| match p {
            Some(p) => write!(f, "/{p}"),
            None => Ok(()),
        };
        match self {
            Mechanism::All => f.write_str("all"),
            Mechanism::Include(d) => write!(f, "include:{d}"),
            Mechanism::A { domain, cidr } => {
                f.write_str("a")?;
                target(f, domain)?;
                write!(f, "{cidr}")
            }
            Mechanism::Mx { domain, cidr } => {
                f.write_str("mx")?;
                target(f, domain)?;
                write!(f, "{cidr}")
            }
            Mechanism::Ptr(domain) => {
                f.write_str("ptr")?;
                target(f, domain)
            }
            Mechanism::Ip4 { network, prefix: p } => {
                write!(f, "ip4:{network}")?;
                prefix(f, p)
            }
            Mechanism::Ip6 { network, prefix: p } => {
                write!(f, "ip6:{network}")?;
                prefix(f, p)
            }
            Mechanism::Exists(d) => write!(f, "exists:{d}"),
        }
    }
}

impl fmt::Display for DualCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.v4 {
            write!(f, "/{v4}")?;
        }
        if let Some(v6) = self.v6 {
            write!(f, "//{v6}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|item| match item {
            MacroItem::Literal(s) => f.write_str(s),
            MacroItem::Percent => f.write_str("%%"),
            MacroItem::Space => f.write_str("%_"),
            MacroItem::UrlSpace => f.write_str("%-"),
            MacroItem::Macro(m) => {
                let letter = if m.url_escape {
                    m.letter.to_ascii_uppercase()
                } else {
                    m.letter
                };
                f.write_str("%{")?;
                write!(f, "{letter}")?;
                if let Some(keep) = m.keep {
                    write!(f, "{keep}")?;
                }
                if m.reverse {
                    f.write_str("r")?;
                }
                write!(f, "{}}}", m.delimiters)
            }
        })
    }
}
