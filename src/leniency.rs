//! Named exceptions to pedantic parsing.
//!
//! Gannet rejects what the RFCs forbid. Peers that cannot be fixed get a listener
//! setting `lenient = [...]` naming each exception; every exception is documented
//! here, tested, and applied only where a parser checks for it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One documented deviation from the RFCs that a listener may accept.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Leniency {
    /// Local parts with leading, trailing or consecutive dots (`john..doe@`), which
    /// RFC 5321 forbids unquoted but some mobile carriers hand out.
    DotLocalpart,
    /// Underscores in domain labels (`mail_1.example`), as in some internal host names.
    UnderscoreDomain,
    /// Local parts longer than the 64 octets of RFC 5321 4.5.3.1.1.
    LongLocalpart,
    /// A bare LF ending an SMTP line, taken as CRLF (RFC 5321 2.3.8 forbids it). A "."
    /// line next to a bare LF still never ends DATA: that is how SMTP smuggling works.
    BareLf,
}

impl Leniency {
    pub const ALL: [Leniency; 4] = [
        Leniency::DotLocalpart,
        Leniency::UnderscoreDomain,
        Leniency::LongLocalpart,
        Leniency::BareLf,
    ];

    /// The leniency of a config name.
    pub fn from_name(name: &str) -> Option<Leniency> {
        Leniency::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The name used in config files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Leniency::DotLocalpart => "dot-localpart",
            Leniency::UnderscoreDomain => "underscore-domain",
            Leniency::LongLocalpart => "long-localpart",
            Leniency::BareLf => "bare-lf",
        }
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The set of leniencies in force for one parse. The default is pedantic: none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leniencies(u32);

impl Leniencies {
    /// No exceptions: everything the RFCs forbid is rejected.
    pub const PEDANTIC: Leniencies = Leniencies(0);

    pub fn allows(self, l: Leniency) -> bool {
        self.0 & l.bit() != 0
    }
}

impl FromIterator<Leniency> for Leniencies {
    fn from_iter<I: IntoIterator<Item = Leniency>>(iter: I) -> Self {
        Leniencies(iter.into_iter().fold(0, |bits, l| bits | l.bit()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_config_spelling() {
        for l in Leniency::ALL {
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.name()));
            assert_eq!(Leniency::from_name(l.name()), Some(l));
        }
        assert_eq!(Leniency::from_name("bare-cr"), None);
    }

    #[test]
    fn a_set_allows_exactly_its_members() {
        let set: Leniencies = [Leniency::DotLocalpart].into_iter().collect();
        assert!(set.allows(Leniency::DotLocalpart));
        assert!(!set.allows(Leniency::UnderscoreDomain));
        assert!(!Leniencies::PEDANTIC.allows(Leniency::DotLocalpart));
    }
}
