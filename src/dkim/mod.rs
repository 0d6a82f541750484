//! DKIM (RFC 6376, with RFC 8301's algorithm rules and RFC 8463's Ed25519):
//! signatures and key records parsed with `grammars/dkim.pest`, simple and relaxed
//! canonicalization, verification of every signature of a message against its
//! key in DNS, and signing with rsa-sha256 or ed25519-sha256.

mod canon;
mod key;
mod private_key;
#[cfg(test)]
mod proptests;
mod sign;
mod signature;
mod tags;
#[cfg(test)]
mod tests;
mod verify;

use std::fmt;

pub use canon::Canon;
pub use key::{KeyRecord, KeyType};
pub use private_key::{KeyError, PrivateKey};
pub use sign::{OVERSIGNED_FIELDS, SIGNED_FIELDS, SignError, Signer, SigningKey, SigningKeys};
pub use signature::{Algorithm, ParsedSignature, Signature};
pub use tags::TagError;
pub use verify::{lookup_key, verify};

/// Whether `selector` is one by the grammar of s= (RFC 6376 3.1: DNS labels
/// joined by dots), with the reason when it is not.
pub fn check_selector(selector: &str) -> Result<(), TagError> {
    tags::value_parts("s", selector, tags::ValueKind::Selector).map(drop)
}

/// The result of one signature, in RFC 8601 2.7.1's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimResult {
    Pass,
    /// The signature or body hash did not verify.
    Fail,
    /// Valid, but not acceptable here (rsa-sha1, a short key, a partial body).
    Policy,
    /// The key could not be had for now (DNS).
    Temperror,
    /// The signature or its key is unusable (syntax, revoked, missing, expired).
    Permerror,
}

impl DkimResult {
    pub fn name(self) -> &'static str {
        match self {
            DkimResult::Pass => "pass",
            DkimResult::Fail => "fail",
            DkimResult::Policy => "policy",
            DkimResult::Temperror => "temperror",
            DkimResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for DkimResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one DKIM-Signature gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureResult {
    pub result: DkimResult,
    pub reason: String,
    /// d= (empty when the signature could not be parsed).
    pub domain: String,
    /// s=
    pub selector: String,
    pub algorithm: Option<Algorithm>,
    /// i=, decoded.
    pub identity: Option<String>,
    /// The key record says the domain is testing (t=y).
    pub testing: bool,
}

impl SignatureResult {
    /// A signature that could not be parsed: a permerror.
    fn unparsed(reason: String) -> SignatureResult {
        SignatureResult {
            result: DkimResult::Permerror,
            reason,
            domain: String::new(),
            selector: String::new(),
            algorithm: None,
            identity: None,
            testing: false,
        }
    }
}
