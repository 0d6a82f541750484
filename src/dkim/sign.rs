//! Signing (RFC 6376 5): the fields to sign, the body hash, and the
//! DKIM-Signature field to put on top of the message.

use aws_lc_rs::digest::{self, SHA256};

use super::canon::Canon;
use super::private_key::{KeyError, PrivateKey};
use super::signature::Signature;
use super::verify::signed_data;
use crate::message::{HeaderError, HeaderSection};

/// The fields signed when present (RFC 6376 5.4.1's list).
pub const SIGNED_FIELDS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Fields signed once more than they appear, so that no instance can be added
/// later without breaking the signature (RFC 6376 8.15).
pub const OVERSIGNED_FIELDS: &[&str] = &["From", "To", "Subject"];

/// How to sign.
pub struct Signer<'k> {
    pub domain: String,
    pub selector: String,
    pub key: &'k PrivateKey,
    pub header_canon: Canon,
    pub body_canon: Canon,
    /// Seconds since the epoch, for t=.
    pub now: u64,
    /// Seconds the signature stays valid (x=), if it should expire.
    pub lifetime: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("the message has no From field; DKIM signs it (RFC 6376 5.4)")]
    NoFrom,
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("a lifetime of {0} seconds is past the end of time")]
    Lifetime(u64),
}

impl Signer<'_> {
    /// The complete `DKIM-Signature: ...` field (CRLF-terminated) for `message`
    /// (CRLF line ends), to prepend to it.
    pub fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        let header = HeaderSection::parse(message)?;
        if header.fields_named("From").next().is_none() {
            return Err(SignError::NoFrom);
        }
        let mut headers = Vec::new();
        for name in SIGNED_FIELDS {
            let count = header.fields_named(name).count();
            let extra = usize::from(OVERSIGNED_FIELDS.contains(name));
            headers.extend(std::iter::repeat_n(name.to_string(), count + extra));
        }
        let body = self.body_canon.body(&message[header.body_offset()..]);
        let mut signature = Signature {
            algorithm: self.key.algorithm(),
            signature: Vec::new(),
            body_hash: digest::digest(&SHA256, &body).as_ref().to_vec(),
            header_canon: self.header_canon,
            body_canon: self.body_canon,
            domain: self.domain.to_ascii_lowercase(),
            headers,
            identity: None,
            length: None,
            selector: self.selector.to_ascii_lowercase(),
            timestamp: Some(self.now),
            expiration: match self.lifetime {
                Some(l) => Some(self.now.checked_add(l).ok_or(SignError::Lifetime(l))?),
                None => None,
            },
        };
        let unsigned = format!("DKIM-Signature:{}\r\n", signature.to_value());
        let own = HeaderSection::parse(unsigned.as_bytes())?;
        let field = &own.fields()[0];
        let value = std::str::from_utf8(field.raw_value()).expect("written as text");
        let b_start = value.len() - value.rsplit("b=").next().map_or(0, str::len);
        let data = signed_data(&signature, &header, field, value, b_start..value.len());
        signature.signature = self.key.sign(&data)?;
        Ok(format!("DKIM-Signature:{}\r\n", signature.to_value()))
    }
}

/// A key that signs for a domain.
pub struct SigningKey {
    pub selector: String,
    pub key: PrivateKey,
    /// Seconds the signatures stay valid (x=), if they should expire.
    pub lifetime: Option<u64>,
}

/// The keys that sign submitted mail, by From domain (A-label form, lowercase).
#[derive(Default)]
pub struct SigningKeys {
    by_domain: std::collections::HashMap<String, Vec<SigningKey>>,
}

impl SigningKeys {
    pub fn add(&mut self, domain: &str, key: SigningKey) {
        self.by_domain
            .entry(domain.to_ascii_lowercase())
            .or_default()
            .push(key);
    }

    /// A DKIM-Signature field for each key of `domain` (none if it has no keys),
    /// relaxed/relaxed, to prepend to `message`.
    pub fn sign(&self, domain: &str, message: &[u8], now: u64) -> Result<String, SignError> {
        let mut fields = String::new();
        for key in self
            .by_domain
            .get(&domain.to_ascii_lowercase())
            .into_iter()
            .flatten()
        {
            let signer = Signer {
                domain: domain.to_ascii_lowercase(),
                selector: key.selector.clone(),
                key: &key.key,
                header_canon: Canon::Relaxed,
                body_canon: Canon::Relaxed,
                now,
                lifetime: key.lifetime,
            };
            fields.push_str(&signer.sign(message)?);
        }
        Ok(fields)
    }
}
