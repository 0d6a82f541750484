//! The identity of a client certificate: the SHA-256 of its SubjectPublicKeyInfo.
//!
//! Hashing the public key rather than the whole certificate lets a user renew or
//! reissue a certificate for the same key without registering it again, and it
//! means nothing else in the certificate (names, dates, issuer) is trusted.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use rustls::pki_types::CertificateDer;
use rustls::server::ParsedCertificate;

use super::TlsError;

/// SHA-256 of a certificate's SubjectPublicKeyInfo DER. Shown and parsed as 64
/// lowercase hex digits, the same as
/// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpkiFingerprint([u8; 32]);

impl SpkiFingerprint {
    /// The fingerprint of the public key in `cert` (DER). Fails only if the
    /// certificate cannot be parsed.
    pub fn of_certificate(cert: &CertificateDer<'_>) -> Result<Self, TlsError> {
        let parsed = ParsedCertificate::try_from(cert).map_err(TlsError::BadPeerCertificate)?;
        Ok(Self::of_spki(parsed.subject_public_key_info().as_ref()))
    }

    /// The fingerprint of a SubjectPublicKeyInfo given as DER.
    pub fn of_spki(spki_der: &[u8]) -> Self {
        let hash = digest::digest(&digest::SHA256, spki_der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(hash.as_ref());
        SpkiFingerprint(bytes)
    }

    /// A fingerprint as stored, e.g. in the account database.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        SpkiFingerprint(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for SpkiFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Why a text is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a public key fingerprint: expected 64 hex digits (a SHA-256 of a SubjectPublicKeyInfo)"
)]
pub struct BadFingerprint;

impl FromStr for SpkiFingerprint {
    type Err = BadFingerprint;

    /// Accepts upper- and lowercase hex, as people copy it from other tools.
    fn from_str(s: &str) -> Result<Self, BadFingerprint> {
        // Checked first because from_str_radix would also accept a sign.
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BadFingerprint);
        }
        let mut bytes = [0; 32];
        for (byte, i) in bytes.iter_mut().zip((0..64).step_by(2)) {
            *byte = u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| BadFingerprint)?;
        }
        Ok(SpkiFingerprint(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip() {
        let fp = SpkiFingerprint::of_spki(b"not really DER");
        let text = fp.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<SpkiFingerprint>(), Ok(fp));
        assert_eq!(text.to_uppercase().parse::<SpkiFingerprint>(), Ok(fp));
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "00", &"g".repeat(64), &"0".repeat(63), &"+0".repeat(32)] {
            assert_eq!(bad.parse::<SpkiFingerprint>(), Err(BadFingerprint), "{bad}");
        }
    }

    #[test]
    fn sha256_of_spki() {
        // SHA-256 of the empty string, from FIPS 180-2 examples.
        assert_eq!(
            SpkiFingerprint::of_spki(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
