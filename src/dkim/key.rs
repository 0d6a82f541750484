//! The public key record in DNS at SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.1,
//! RFC 8463): parsed, and written for `gannet dkim txt`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::signature::base64_of;
use super::tags::{self, TagError, ValueKind};

/// A key record's type of key (k=).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ed25519,
}

impl KeyType {
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// A parsed key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_type: KeyType,
    /// p=: for RSA the DER of a SubjectPublicKeyInfo (or a bare RSAPublicKey), for
    /// Ed25519 the 32 octets. Empty: the key was revoked.
    pub public_key: Vec<u8>,
    /// h=: the hash algorithms the key may be used with; `None` means any.
    pub hashes: Option<Vec<String>>,
    /// t=s: i= must have exactly the domain of d= (RFC 6376 3.6.1).
    pub strict_identity: bool,
    /// t=y: the domain is testing DKIM.
    pub testing: bool,
}

impl KeyRecord {
    /// Parses the TXT record text (character-strings joined).
    pub fn parse(text: &str) -> Result<KeyRecord, TagError> {
        let list = tags::split(text)?;
        let get = |name: &str| list.iter().find(|t| t.name == name);
        if let Some(v) = get("v")
            && (list[0].name != "v" || v.value != "DKIM1")
        {
            return Err(TagError::Value {
                tag: "v".into(),
                problem: format!(
                    "{:?} must come first and be DKIM1 (RFC 6376 3.6.1)",
                    v.value
                ),
            });
        }
        let key_type = match get("k").map(|k| k.value.as_str()) {
            None | Some("rsa") => KeyType::Rsa,
            Some("ed25519") => KeyType::Ed25519,
            Some(other) => {
                return Err(TagError::Value {
                    tag: "k".into(),
                    problem: format!("unknown key type {other:?} (rsa, ed25519)"),
                });
            }
        };
        let p = get("p").ok_or(TagError::Missing { tag: "p" })?;
        let public_key = base64_of("p", &p.value)?;
        let words = |name: &str| -> Result<Option<Vec<String>>, TagError> {
            match get(name) {
                Some(tag) => Ok(Some(tags::value_parts(
                    name,
                    &tag.value,
                    ValueKind::WordList,
                )?)),
                None => Ok(None),
            }
        };
        let hashes = words("h")?;
        if let Some(services) = words("s")?
            && !services.iter().any(|s| s == "email" || s == "*")
        {
            return Err(TagError::Value {
                tag: "s".into(),
                problem: format!("the key is not for email (s={})", services.join(":")),
            });
        }
        let flags = words("t")?.unwrap_or_default();
        Ok(KeyRecord {
            key_type,
            public_key,
            hashes,
            strict_identity: flags.iter().any(|f| f == "s"),
            testing: flags.iter().any(|f| f == "y"),
        })
    }

    /// The record as published: `v=DKIM1; k=...; p=...` (with h=, t= when set).
    pub fn to_text(&self) -> String {
        let mut out = format!("v=DKIM1; k={}", self.key_type.name());
        if let Some(h) = &self.hashes {
            out.push_str(&format!("; h={}", h.join(":")));
        }
        let flags: Vec<&str> = [(self.testing, "y"), (self.strict_identity, "s")]
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect();
        if !flags.is_empty() {
            out.push_str(&format!("; t={}", flags.join(":")));
        }
        out.push_str(&format!("; p={}", BASE64.encode(&self.public_key)));
        out
    }
}
