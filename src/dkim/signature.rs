//! The DKIM-Signature header field (RFC 6376 3.5): parsed from its value, and
//! written for signing.

use std::fmt::Write;
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::canon::Canon;
use super::tags::{self, TagError, ValueKind};

/// The signing algorithms (RFC 6376 3.3, RFC 8463).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RsaSha256,
    /// Verification only, and then only to report it: RFC 8301 3.1 says verifiers
    /// must not consider it valid.
    RsaSha1,
    Ed25519Sha256,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "rsa-sha256",
            Algorithm::RsaSha1 => "rsa-sha1",
            Algorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The key record's k= value for it.
    pub fn key_type(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 | Algorithm::RsaSha1 => "rsa",
            Algorithm::Ed25519Sha256 => "ed25519",
        }
    }

    /// The key record's h= value for it.
    pub fn hash(self) -> &'static str {
        match self {
            Algorithm::RsaSha1 => "sha1",
            _ => "sha256",
        }
    }
}

/// A parsed DKIM-Signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub algorithm: Algorithm,
    /// b=
    pub signature: Vec<u8>,
    /// bh=
    pub body_hash: Vec<u8>,
    pub header_canon: Canon,
    pub body_canon: Canon,
    /// d=, lowercase.
    pub domain: String,
    /// h=, as written.
    pub headers: Vec<String>,
    /// i=, decoded; `None` means "@" and the domain.
    pub identity: Option<String>,
    /// l=: how many octets of the canonical body are signed.
    pub length: Option<u64>,
    /// s=, lowercase.
    pub selector: String,
    /// t=
    pub timestamp: Option<u64>,
    /// x=
    pub expiration: Option<u64>,
}

/// The DKIM-Signature value with where its b= value stands, so that a verifier can
/// hash the field with b= emptied (RFC 6376 3.7).
#[derive(Debug, Clone)]
pub struct ParsedSignature {
    pub signature: Signature,
    /// The span of the b= value in the field value.
    pub b_value: Range<usize>,
}

impl Signature {
    /// Parses a DKIM-Signature field value (after the colon, folding included).
    pub fn parse(value: &str) -> Result<ParsedSignature, TagError> {
        let list = tags::split(value)?;
        let get = |name: &str| list.iter().find(|t| t.name == name);
        let need = |name: &'static str| get(name).ok_or(TagError::Missing { tag: name });
        let version = need("v")?;
        if version.value != "1" {
            return Err(TagError::Value {
                tag: "v".into(),
                problem: format!("version {:?} is not 1", version.value),
            });
        }
        let algorithm = algorithm_of(&need("a")?.value)?;
        let b = need("b")?;
        let signature = base64_of("b", &b.value)?;
        let body_hash = base64_of("bh", &need("bh")?.value)?;
        let domain = need("d")?;
        tags::value_parts("d", &domain.value, ValueKind::Domain)?;
        let domain = domain.value.to_ascii_lowercase();
        let headers = tags::value_parts("h", &need("h")?.value, ValueKind::HeaderList)?;
        if !headers.iter().any(|h| h.eq_ignore_ascii_case("from")) {
            return Err(TagError::Value {
                tag: "h".into(),
                problem: "the From field is not signed (RFC 6376 5.4)".into(),
            });
        }
        let selector = need("s")?;
        tags::value_parts("s", &selector.value, ValueKind::Selector)?;
        let (header_canon, body_canon) = match get("c") {
            Some(c) => canonicalization_of(&c.value)?,
            None => (Canon::Simple, Canon::Simple),
        };
        let identity = match get("i") {
            Some(i) => Some(identity_of(&i.value, &domain)?),
            None => None,
        };
        if let Some(q) = get("q") {
            let methods = tags::value_parts("q", &q.value, ValueKind::WordList)?;
            if !methods.iter().any(|m| m.eq_ignore_ascii_case("dns/txt")) {
                return Err(TagError::Value {
                    tag: "q".into(),
                    problem: format!("no query method gannet knows in {:?} (dns/txt)", q.value),
                });
            }
        }
        let number = |name: &str, digits: usize| -> Result<Option<u64>, TagError> {
            let Some(tag) = get(name) else {
                return Ok(None);
            };
            tags::value_parts(name, &tag.value, ValueKind::Number)?;
            if tag.value.len() > digits {
                return Err(TagError::Value {
                    tag: name.into(),
                    problem: format!("more than {digits} digits"),
                });
            }
            Ok(Some(tag.value.parse().expect("checked digits")))
        };
        let length = number("l", 19)?;
        let timestamp = number("t", 12)?;
        let expiration = number("x", 12)?;
        if let (Some(t), Some(x)) = (timestamp, expiration)
            && x < t
        {
            return Err(TagError::Value {
                tag: "x".into(),
                problem: "the signature expires before it was made (x= is before t=)".into(),
            });
        }
        Ok(ParsedSignature {
            b_value: b.value_span.clone(),
            signature: Signature {
                algorithm,
                signature,
                body_hash,
                header_canon,
                body_canon,
                domain,
                headers,
                identity,
                length,
                selector: selector.value.to_ascii_lowercase(),
                timestamp,
                expiration,
            },
        })
    }

    /// The field value as a signer writes it, folded at 78 columns, with `b=` last
    /// (empty until the signature is known).
    pub fn to_value(&self) -> String {
        let mut tags = vec![
            "v=1".to_string(),
            format!("a={}", self.algorithm.name()),
            format!("c={}/{}", self.header_canon.name(), self.body_canon.name()),
            format!("d={}", self.domain),
            format!("s={}", self.selector),
        ];
        if let Some(t) = self.timestamp {
            tags.push(format!("t={t}"));
        }
        if let Some(x) = self.expiration {
            tags.push(format!("x={x}"));
        }
        if let Some(l) = self.length {
            tags.push(format!("l={l}"));
        }
        if let Some(i) = &self.identity {
            tags.push(format!("i={}", quoted_printable(i)));
        }
        let mut out = String::new();
        let mut column = "DKIM-Signature:".len();
        for tag in tags {
            fold_onto(&mut out, &mut column, " ", &format!("{tag};"));
        }
        // h= may be long (many fields, oversigned): it folds before a colon, where
        // RFC 6376 3.5 allows FWS.
        for (i, name) in self.headers.iter().enumerate() {
            let last = if i + 1 == self.headers.len() { ";" } else { "" };
            match i {
                0 => fold_onto(&mut out, &mut column, " ", &format!("h={name}{last}")),
                _ => fold_onto(&mut out, &mut column, "", &format!(":{name}{last}")),
            }
        }
        let bh = format!("bh={};", BASE64.encode(&self.body_hash));
        fold_onto(&mut out, &mut column, " ", &bh);
        // b= starts a line of its own, so that the layout before it is the same
        // with and without the signature (simple canonicalization hashes the
        // layout), and is broken into pieces to keep lines short; white space
        // inside it is ignored (RFC 6376 3.5).
        let b = format!("b={}", BASE64.encode(&self.signature));
        for piece in b.as_bytes().chunks(72) {
            out.push_str("\r\n\t");
            out.push_str(std::str::from_utf8(piece).expect("base64 is ASCII"));
        }
        out
    }
}

/// Appends `separator` and `word`, or instead folds onto a new line if the line
/// would pass 78 columns.
fn fold_onto(out: &mut String, column: &mut usize, separator: &str, word: &str) {
    if *column + separator.len() + word.len() > 78 {
        out.push_str("\r\n\t");
        *column = 1;
    } else {
        out.push_str(separator);
        *column += separator.len();
    }
    out.push_str(word);
    *column += word.len();
}

fn algorithm_of(value: &str) -> Result<Algorithm, TagError> {
    tags::value_parts("a", value, ValueKind::Algorithm)?;
    match value.to_ascii_lowercase().as_str() {
        "rsa-sha256" => Ok(Algorithm::RsaSha256),
        "rsa-sha1" => Ok(Algorithm::RsaSha1),
        "ed25519-sha256" => Ok(Algorithm::Ed25519Sha256),
        other => Err(TagError::Value {
            tag: "a".into(),
            problem: format!("unsupported algorithm {other} (rsa-sha256, ed25519-sha256)"),
        }),
    }
}

fn canonicalization_of(value: &str) -> Result<(Canon, Canon), TagError> {
    let parts = tags::value_parts("c", value, ValueKind::Canonicalization)?;
    let canon = |name: &str| {
        Canon::from_name(name).ok_or_else(|| TagError::Value {
            tag: "c".into(),
            problem: format!("unknown canonicalization {name:?} (simple, relaxed)"),
        })
    };
    let header = canon(&parts[0])?;
    let body = match parts.get(1) {
        Some(b) => canon(b)?,
        None => Canon::Simple,
    };
    Ok((header, body))
}

/// Base64 with its folding white space removed.
pub(super) fn base64_of(tag: &str, value: &str) -> Result<Vec<u8>, TagError> {
    tags::value_parts(tag, value, ValueKind::Base64)?;
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64
        .decode(compact.as_bytes())
        .map_err(|e| TagError::Value {
            tag: tag.into(),
            problem: format!("bad base64: {e}"),
        })
}

/// i= decoded from dkim-quoted-printable; its domain must be d= or below it
/// (RFC 6376 3.5).
fn identity_of(value: &str, domain: &str) -> Result<String, TagError> {
    tags::value_parts("i", value, ValueKind::QuotedPrintable)?;
    let decoded = decode_quoted_printable(value);
    let text = String::from_utf8(decoded).map_err(|_| TagError::Value {
        tag: "i".into(),
        problem: "not UTF-8 after decoding".into(),
    })?;
    let parts = tags::value_parts("i", &text, ValueKind::Identity)?;
    let identity_domain = parts
        .last()
        .expect("an identity has a domain")
        .to_ascii_lowercase();
    if identity_domain != domain && !identity_domain.ends_with(&format!(".{domain}")) {
        return Err(TagError::Value {
            tag: "i".into(),
            problem: format!("domain {identity_domain} is not d={domain} or below it"),
        });
    }
    Ok(text)
}

/// dkim-quoted-printable (RFC 6376 2.11): "=XX" is an octet; white space is
/// dropped.
fn decode_quoted_printable(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("checked hex");
                out.push(u8::from_str_radix(hex, 16).expect("checked hex"));
                i += 3;
            }
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The reverse: octets outside dkim-safe-char written as "=XX".
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if (0x21..=0x3a).contains(&b) || b == 0x3c || (0x3e..=0x7e).contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "={b:02X}");
        }
    }
    out
}
