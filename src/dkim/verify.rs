//! Verification (RFC 6376 6): every DKIM-Signature of a message checked against
//! its key in DNS, each with a result and a reason.

use std::collections::HashMap;

use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};

use super::canon::Canon;
use super::key::{KeyRecord, KeyType};
use super::signature::{Algorithm, Signature};
use super::{DkimResult, SignatureResult};
use crate::dns::{DnsError, Resolver};
use crate::message::{HeaderField, HeaderSection};

/// Signatures looked at per message; more are reported as not checked.
const MAX_SIGNATURES: usize = 10;
/// Names in h= a signature may list: RFC 6376 5.4.1 recommends about twenty, and
/// oversigning doubles some. More would let a message make us hash at will.
const MAX_SIGNED_FIELDS: usize = 200;

/// Checks every DKIM-Signature of `message` (CRLF line ends). `now` (seconds since
/// the epoch) decides expiry. No signatures: an empty list.
pub async fn verify(resolver: &dyn Resolver, message: &[u8], now: u64) -> Vec<SignatureResult> {
    let header = match HeaderSection::parse(message) {
        Ok(h) => h,
        Err(e) => {
            let reason = format!("the message header cannot be read: {e}");
            return vec![SignatureResult::unparsed(reason)];
        }
    };
    let body = &message[header.body_offset()..];
    let mut results = Vec::new();
    for (n, field) in header.fields_named("DKIM-Signature").enumerate() {
        if n == MAX_SIGNATURES {
            results.push(SignatureResult::unparsed(format!(
                "more than {MAX_SIGNATURES} signatures; the rest were not checked"
            )));
            break;
        }
        results.push(verify_one(resolver, &header, field, body, now).await);
    }
    results
}

async fn verify_one(
    resolver: &dyn Resolver,
    header: &HeaderSection<'_>,
    field: &HeaderField<'_>,
    body: &[u8],
    now: u64,
) -> SignatureResult {
    let Ok(value) = std::str::from_utf8(field.raw_value()) else {
        return SignatureResult::unparsed("the DKIM-Signature is not UTF-8".into());
    };
    let parsed = match Signature::parse(value) {
        Ok(p) => p,
        Err(e) => return SignatureResult::unparsed(format!("invalid signature: {e}")),
    };
    let s = &parsed.signature;
    let result = |result: DkimResult, reason: String, testing: bool| SignatureResult {
        result,
        reason,
        domain: s.domain.clone(),
        selector: s.selector.clone(),
        algorithm: Some(s.algorithm),
        identity: s.identity.clone(),
        testing,
    };
    if s.algorithm == Algorithm::RsaSha1 {
        let reason = "rsa-sha1 is not accepted (RFC 8301 3.1)".into();
        return result(DkimResult::Policy, reason, false);
    }
    if let Some(x) = s.expiration
        && x < now
    {
        return result(
            DkimResult::Permerror,
            format!("the signature expired (x={x})"),
            false,
        );
    }
    if s.headers.len() > MAX_SIGNED_FIELDS {
        let reason = format!(
            "h= lists {} fields; gannet checks at most {MAX_SIGNED_FIELDS}",
            s.headers.len()
        );
        return result(DkimResult::Policy, reason, false);
    }
    let key = match lookup_key(resolver, &s.selector, &s.domain).await {
        Ok((_, key)) => key,
        Err((kind, reason)) => return result(kind, reason, false),
    };
    if let Err(reason) = fits(s, &key) {
        return result(DkimResult::Permerror, reason, key.testing);
    }
    let (kind, reason) = match check(s, &key, header, field, value, parsed.b_value.clone(), body) {
        Ok(()) => (
            DkimResult::Pass,
            format!("signed by {} (s={})", s.domain, s.selector),
        ),
        Err(failure) => failure,
    };
    result(kind, reason, key.testing)
}

/// The key record at SELECTOR._domainkey.DOMAIN, parsed, with usable key material
/// (RFC 6376 6.1.2; RFC 8301 3.2 for RSA sizes). With the record's text.
pub async fn lookup_key(
    resolver: &dyn Resolver,
    selector: &str,
    domain: &str,
) -> Result<(String, KeyRecord), (DkimResult, String)> {
    let name = format!("{selector}._domainkey.{domain}");
    let answer = match resolver.txt(&name).await {
        Ok(answer) => answer,
        Err(DnsError::Temporary { reason, .. }) => {
            let reason = format!("looking up the key at {name}: {reason}");
            return Err((DkimResult::Temperror, reason));
        }
        Err(e) => return Err((DkimResult::Permerror, format!("key name {name}: {e}"))),
    };
    if answer.records.is_empty() {
        return Err((DkimResult::Permerror, format!("no key record at {name}")));
    }
    // Several records: the first usable one counts (RFC 6376 6.1.2 lets the
    // verifier choose); otherwise the last one's problem is the reason.
    let mut problem = (DkimResult::Permerror, String::new());
    for txt in &answer.records {
        let Ok(text) = std::str::from_utf8(txt) else {
            problem.1 = format!("the key record at {name} is not UTF-8");
            continue;
        };
        match KeyRecord::parse(text) {
            Ok(key) => match material(&key, &name) {
                Ok(()) => return Ok((text.to_string(), key)),
                Err(p) => problem = p,
            },
            Err(e) => problem.1 = format!("the key record at {name} is invalid: {e}"),
        }
    }
    Err(problem)
}

/// Whether the key itself can be used: not revoked, of a size or length that its
/// type allows.
fn material(key: &KeyRecord, name: &str) -> Result<(), (DkimResult, String)> {
    let perm = |reason: String| Err((DkimResult::Permerror, reason));
    if key.public_key.is_empty() {
        return perm(format!("the key at {name} was revoked (empty p=)"));
    }
    match key.key_type {
        KeyType::Ed25519 if key.public_key.len() != 32 => {
            perm(format!("the Ed25519 key at {name} is not 32 octets"))
        }
        KeyType::Ed25519 => Ok(()),
        KeyType::Rsa => match rsa_bits(&key.public_key) {
            None => perm(format!("the RSA key at {name} cannot be read")),
            Some(bits) if bits < 1024 => Err((
                DkimResult::Policy,
                format!(
                    "the RSA key at {name} has {bits} bits; at least 1024 are required (RFC 8301 3.2)"
                ),
            )),
            Some(bits) if bits > 8192 => Err((
                DkimResult::Policy,
                format!(
                    "the RSA key at {name} has {bits} bits; gannet verifies keys of up to 8192"
                ),
            )),
            Some(_) => Ok(()),
        },
    }
}

/// Whether `key` may verify `s`: its type, hash algorithms and identity flag
/// (RFC 6376 6.1.2).
fn fits(s: &Signature, key: &KeyRecord) -> Result<(), String> {
    if key.key_type.name() != s.algorithm.key_type() {
        return Err(format!(
            "the key is {} but the signature is {}",
            key.key_type.name(),
            s.algorithm.name()
        ));
    }
    if let Some(hashes) = &key.hashes
        && !hashes.iter().any(|h| h == s.algorithm.hash())
    {
        return Err(format!("the key does not allow {}", s.algorithm.hash()));
    }
    if key.strict_identity
        && let Some(identity) = &s.identity
        && !identity
            .to_ascii_lowercase()
            .ends_with(&format!("@{}", s.domain))
    {
        return Err("the key requires i= in d= itself (t=s)".into());
    }
    Ok(())
}

/// The body hash, then the signature itself.
fn check(
    s: &Signature,
    key: &KeyRecord,
    header: &HeaderSection<'_>,
    field: &HeaderField<'_>,
    value: &str,
    b_value: std::ops::Range<usize>,
    body: &[u8],
) -> Result<(), (DkimResult, String)> {
    let canonical = s.body_canon.body(body);
    if let Some(l) = s.length {
        let l = usize::try_from(l).unwrap_or(usize::MAX);
        if l > canonical.len() {
            let reason = format!("l={l} is longer than the body ({} octets)", canonical.len());
            return Err((DkimResult::Fail, reason));
        }
        if l < canonical.len() {
            // Content after l= is not covered: someone could have added it.
            let reason = format!(
                "l={l} leaves {} octets of the body unsigned; gannet does not accept partly signed bodies",
                canonical.len() - l
            );
            return Err((DkimResult::Policy, reason));
        }
    }
    if digest::digest(&SHA256, &canonical).as_ref() != s.body_hash.as_slice() {
        let reason = "the body hash does not match (the body was changed)".into();
        return Err((DkimResult::Fail, reason));
    }
    let data = signed_data(s, header, field, value, b_value);
    let (algorithm, message): (&'static dyn sig::VerificationAlgorithm, Vec<u8>) =
        match key.key_type {
            KeyType::Rsa => (&sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, data),
            // RFC 8463 3: Ed25519 signs the SHA-256 digest of the data.
            KeyType::Ed25519 => (
                &sig::ED25519,
                digest::digest(&SHA256, &data).as_ref().to_vec(),
            ),
        };
    UnparsedPublicKey::new(algorithm, &key.public_key)
        .verify(&message, &s.signature)
        .map_err(|_| {
            (
                DkimResult::Fail,
                "the signature does not verify".to_string(),
            )
        })
}

/// What the signature signs (RFC 6376 3.7): the fields h= names, picked from the
/// bottom up, then this DKIM-Signature with b='s value (and the white space around
/// it) deleted, without its final CRLF.
pub(super) fn signed_data(
    s: &Signature,
    header: &HeaderSection<'_>,
    field: &HeaderField<'_>,
    value: &str,
    b_value: std::ops::Range<usize>,
) -> Vec<u8> {
    let mut data = header_data(s.header_canon, &s.headers, header);
    let mut own = field.raw()[..field.value_offset()].to_vec();
    own.extend_from_slice(&value.as_bytes()[..b_value.start]);
    own.extend_from_slice(&value.as_bytes()[b_value.end..]);
    own.extend_from_slice(b"\r\n");
    let mut canonical = s.header_canon.header(&own);
    canonical.truncate(canonical.len() - 2);
    data.extend_from_slice(&canonical);
    data
}

/// The canonicalized fields named in `names`: each name takes the last instance
/// not yet taken; a name with none left adds nothing (which is what makes
/// oversigning work, RFC 6376 5.4.2).
fn header_data(canon: Canon, names: &[String], header: &HeaderSection<'_>) -> Vec<u8> {
    // Each name's fields in message order; taking from the end picks bottom up.
    let mut by_name: HashMap<String, Vec<&HeaderField<'_>>> = HashMap::new();
    for f in header.fields() {
        by_name
            .entry(f.name().to_ascii_lowercase())
            .or_default()
            .push(f);
    }
    let mut data = Vec::new();
    for name in names {
        if let Some(f) = by_name
            .get_mut(&name.to_ascii_lowercase())
            .and_then(Vec::pop)
        {
            data.extend_from_slice(&canon.header(f.raw()));
        }
    }
    data
}

/// The modulus size of an RSA public key (SubjectPublicKeyInfo or bare
/// RSAPublicKey DER).
fn rsa_bits(der: &[u8]) -> Option<usize> {
    let key = aws_lc_rs::rsa::PublicKey::from_der(der).ok()?;
    Some(key.modulus_len() * 8)
}
