//! Mechanism names and which of them a connection can offer.

use std::fmt;

use super::scram::ScramHash;

/// A SASL mechanism this crate implements, server and client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    External,
    ScramSha256Plus,
    ScramSha1Plus,
    ScramSha256,
    ScramSha1,
    CramMd5,
    Plain,
    Login,
}

impl Mechanism {
    /// Every mechanism, strongest first: the order the server advertises them in.
    pub const ALL: [Mechanism; 8] = [
        Mechanism::External,
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// The registered name, as sent in EHLO and CAPABILITY.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::External => "EXTERNAL",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }

    /// The mechanism a client named; names compare case-insensitively (RFC 4422 3.1).
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The mechanisms a server offers on a connection: the -PLUS variants only
    /// with `tls-exporter` data to bind to, EXTERNAL only when the client's
    /// certificate maps to a login name. Whether PLAIN and LOGIN are offered
    /// without TLS is the protocol's policy, not decided here.
    pub fn offered(channel_binding: bool, client_certificate: bool) -> Vec<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .filter(|m| match m {
                Mechanism::External => client_certificate,
                Mechanism::ScramSha256Plus | Mechanism::ScramSha1Plus => channel_binding,
                _ => true,
            })
            .collect()
    }

    /// The hash and whether channel binding is required, for the SCRAM family.
    pub(crate) fn scram(self) -> Option<(ScramHash, bool)> {
        match self {
            Mechanism::ScramSha256Plus => Some((ScramHash::Sha256, true)),
            Mechanism::ScramSha1Plus => Some((ScramHash::Sha1, true)),
            Mechanism::ScramSha256 => Some((ScramHash::Sha256, false)),
            Mechanism::ScramSha1 => Some((ScramHash::Sha1, false)),
            _ => None,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
            assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(
            Mechanism::from_name("scram-sha-256-plus"),
            Some(Mechanism::ScramSha256Plus)
        );
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
        assert_eq!(Mechanism::from_name(""), None);
    }

    #[test]
    fn plus_needs_binding_and_external_a_certificate() {
        let names = |cb, cert| -> Vec<&str> {
            Mechanism::offered(cb, cert)
                .into_iter()
                .map(Mechanism::name)
                .collect()
        };
        assert_eq!(
            names(false, false),
            ["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"]
        );
        assert_eq!(
            names(true, false),
            [
                "SCRAM-SHA-256-PLUS",
                "SCRAM-SHA-1-PLUS",
                "SCRAM-SHA-256",
                "SCRAM-SHA-1",
                "CRAM-MD5",
                "PLAIN",
                "LOGIN"
            ]
        );
        assert_eq!(names(false, true)[0], "EXTERNAL");
        assert_eq!(names(true, true).len(), 8);
    }
}
