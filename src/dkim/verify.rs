//! Verification (RFC 6376 6): every DKIM-Signature of a message checked against
//! its key in DNS, each with a result and a reason.

use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};

use super::canon::Canon;
use super::key::{KeyRecord, KeyType};
use super::signature::{Algorithm, Signature};
use super::{DkimResult, SignatureResult};
use crate::dns::{DnsError, Resolver};
use crate::message::{HeaderField, HeaderSection};

/// Signatures looked at per message; more are reported as not checked, so that a
/// message cannot make us do unbounded DNS and crypto work.
const MAX_SIGNATURES: usize = 10;

/// Checks every DKIM-Signature of `message` (CRLF line ends). `now` (seconds since
/// the epoch) decides expiry. No signatures: an empty list.
pub async fn verify(resolver: &dyn Resolver, message: &[u8], now: u64) -> Vec<SignatureResult> {
    let header = match HeaderSection::parse(message) {
        Ok(h) => h,
        Err(e) => {
            return vec![SignatureResult::unparsed(format!(
                "the message header cannot be read: {e}"
            ))];
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
    let result = |result: DkimResult, reason: String| SignatureResult {
        result,
        reason,
        domain: s.domain.clone(),
        selector: s.selector.clone(),
        algorithm: Some(s.algorithm),
        identity: s.identity.clone(),
        testing: false,
    };
    if s.algorithm == Algorithm::RsaSha1 {
        return result(
            DkimResult::Policy,
            "rsa-sha1 is not accepted (RFC 8301 3.1)".into(),
        );
    }
    if let Some(x) = s.expiration
        && x < now
    {
        return result(
            DkimResult::Permerror,
            format!("the signature expired (x={x})"),
        );
    }
    let key = match key_of(resolver, s).await {
        Ok(key) => key,
        Err((kind, reason)) => return result(kind, reason),
    };
    let mut outcome = check(s, &key, header, field, value, parsed.b_value.clone(), body);
    outcome.testing = key.testing;
    outcome.domain = s.domain.clone();
    outcome.selector = s.selector.clone();
    outcome.algorithm = Some(s.algorithm);
    outcome.identity = s.identity.clone();
    outcome
}

/// The signature's key record, checked against the signature.
async fn key_of(resolver: &dyn Resolver, s: &Signature) -> Result<KeyRecord, (DkimResult, String)> {
    let name = format!("{}._domainkey.{}", s.selector, s.domain);
    let answer = match resolver.txt(&name).await {
        Ok(answer) => answer,
        Err(DnsError::Temporary { reason, .. }) => {
            return Err((
                DkimResult::Temperror,
                format!("looking up the key at {name}: {reason}"),
            ));
        }
        Err(e) => return Err((DkimResult::Permerror, format!("key name {name}: {e}"))),
    };
    if answer.records.is_empty() {
        return Err((DkimResult::Permerror, format!("no key record at {name}")));
    }
    let mut problem = String::new();
    for txt in &answer.records {
        let parsed = std::str::from_utf8(txt)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|t| KeyRecord::parse(t).map_err(|e| e.to_string()));
        match parsed {
            Ok(key) => return usable(s, key, &name),
            Err(e) => problem = e,
        }
    }
    Err((
        DkimResult::Permerror,
        format!("the key record at {name} is invalid: {problem}"),
    ))
}

/// Whether `key` may verify `s` (RFC 6376 6.1.2): its type, hashes, flags and the
/// key material itself, before any hashing.
fn usable(s: &Signature, key: KeyRecord, name: &str) -> Result<KeyRecord, (DkimResult, String)> {
    let perm = |reason: String| Err((DkimResult::Permerror, reason));
    if key.public_key.is_empty() {
        return perm(format!("the key at {name} was revoked (empty p=)"));
    }
    if key.key_type.name() != s.algorithm.key_type() {
        return perm(format!(
            "the key at {name} is {} but the signature is {}",
            key.key_type.name(),
            s.algorithm.name()
        ));
    }
    if let Some(hashes) = &key.hashes
        && !hashes.iter().any(|h| h == s.algorithm.hash())
    {
        return perm(format!(
            "the key at {name} does not allow {}",
            s.algorithm.hash()
        ));
    }
    match key.key_type {
        KeyType::Ed25519 if key.public_key.len() != 32 => {
            return perm(format!("the Ed25519 key at {name} is not 32 octets"));
        }
        KeyType::Rsa => match rsa_bits(&key.public_key) {
            None => return perm(format!("the RSA key at {name} cannot be read")),
            Some(bits) if bits < 1024 => {
                return Err((
                    DkimResult::Policy,
                    format!(
                        "the RSA key at {name} has {bits} bits; at least 1024 are required (RFC 8301 3.2)"
                    ),
                ));
            }
            Some(_) => {}
        },
        KeyType::Ed25519 => {}
    }
    if key.strict_identity
        && let Some(identity) = &s.identity
        && !identity
            .to_ascii_lowercase()
            .ends_with(&format!("@{}", s.domain))
    {
        return perm(format!("the key at {name} requires i= in d= itself (t=s)"));
    }
    Ok(key)
}

/// The body hash and the signature itself.
fn check(
    s: &Signature,
    key: &KeyRecord,
    header: &HeaderSection<'_>,
    field: &HeaderField<'_>,
    value: &str,
    b_value: std::ops::Range<usize>,
    body: &[u8],
) -> SignatureResult {
    let mut outcome = SignatureResult::unparsed(String::new());
    let canonical = s.body_canon.body(body);
    if let Some(l) = s.length {
        let l = usize::try_from(l).unwrap_or(usize::MAX);
        if l > canonical.len() {
            outcome.result = DkimResult::Fail;
            outcome.reason = format!("l={l} is longer than the body ({} octets)", canonical.len());
            return outcome;
        }
        if l < canonical.len() {
            // Content after l= is not covered: someone could have added it.
            outcome.result = DkimResult::Policy;
            outcome.reason = format!(
                "l={l} leaves {} octets of the body unsigned; gannet does not accept partly signed bodies",
                canonical.len() - l
            );
            return outcome;
        }
    }
    if digest::digest(&SHA256, &canonical).as_ref() != s.body_hash.as_slice() {
        outcome.result = DkimResult::Fail;
        outcome.reason = "the body hash does not match (the body was changed)".into();
        return outcome;
    }
    let data = signed_data(s, header, field, value, b_value);
    match verify_signature(s.algorithm, key, &data, &s.signature) {
        Ok(()) => {
            outcome.result = DkimResult::Pass;
            outcome.reason = format!("signed by {} (s={})", s.domain, s.selector);
        }
        Err((result, reason)) => {
            outcome.result = result;
            outcome.reason = reason;
        }
    }
    outcome
}

/// What the signature signs (RFC 6376 3.7): the fields h= names, picked from the
/// bottom up, then this DKIM-Signature with b= empty and no final CRLF.
pub(super) fn signed_data(
    s: &Signature,
    header: &HeaderSection<'_>,
    field: &HeaderField<'_>,
    value: &str,
    b_value: std::ops::Range<usize>,
) -> Vec<u8> {
    let mut data = header_data(s.header_canon, &s.headers, header);
    let name_part = &field.raw()[..field.value_offset()];
    let mut own = name_part.to_vec();
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
pub(super) fn header_data(canon: Canon, names: &[String], header: &HeaderSection<'_>) -> Vec<u8> {
    let mut used = vec![false; header.fields().len()];
    let mut data = Vec::new();
    for name in names {
        let pick = header
            .fields()
            .iter()
            .enumerate()
            .rev()
            .find(|(i, f)| !used[*i] && f.name().eq_ignore_ascii_case(name));
        if let Some((i, f)) = pick {
            used[i] = true;
            data.extend_from_slice(&canon.header(f.raw()));
        }
    }
    data
}

fn verify_signature(
    algorithm: Algorithm,
    key: &KeyRecord,
    data: &[u8],
    signature: &[u8],
) -> Result<(), (DkimResult, String)> {
    match (algorithm, key.key_type) {
        (Algorithm::RsaSha256, KeyType::Rsa) => {
            let bits = rsa_bits(&key.public_key).ok_or((
                DkimResult::Permerror,
                "the RSA key in p= cannot be read".to_string(),
            ))?;
            if bits < 1024 {
                return Err((
                    DkimResult::Policy,
                    format!(
                        "the RSA key has {bits} bits; at least 1024 are required (RFC 8301 3.2)"
                    ),
                ));
            }
            UnparsedPublicKey::new(
                &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                &key.public_key,
            )
            .verify(data, signature)
            .map_err(|_| {
                (
                    DkimResult::Fail,
                    "the signature does not verify".to_string(),
                )
            })
        }
        (Algorithm::Ed25519Sha256, KeyType::Ed25519) => {
            if key.public_key.len() != 32 {
                return Err((
                    DkimResult::Permerror,
                    "the Ed25519 key in p= is not 32 octets".into(),
                ));
            }
            let digest = digest::digest(&SHA256, data);
            UnparsedPublicKey::new(&sig::ED25519, &key.public_key)
                .verify(digest.as_ref(), signature)
                .map_err(|_| {
                    (
                        DkimResult::Fail,
                        "the signature does not verify".to_string(),
                    )
                })
        }
        _ => Err((
            DkimResult::Permerror,
            "the key does not fit the algorithm".into(),
        )),
    }
}

/// The modulus size of an RSA public key (SubjectPublicKeyInfo or bare
/// RSAPublicKey DER).
fn rsa_bits(der: &[u8]) -> Option<usize> {
    let key = aws_lc_rs::rsa::PublicKey::from_der(der).ok()?;
    Some(key.modulus_len() * 8)
}
