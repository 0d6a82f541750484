//! What can go wrong loading, generating or using certificates and keys. Each
//! file error names the file, so an operator knows which one to fix.

use std::io;
use std::path::PathBuf;

/// Why a TLS configuration, certificate or key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "{path}: no certificate found; expected a PEM block starting with \"-----BEGIN CERTIFICATE-----\""
    )]
    NoCertificate { path: PathBuf },
    #[error("{path}: not a valid X.509 certificate: {detail}")]
    BadCertificate { path: PathBuf, detail: String },
    #[error(
        "{path}: no private key found; expected a PEM block such as \"-----BEGIN PRIVATE KEY-----\""
    )]
    NoKey { path: PathBuf },
    #[error("{path}: unusable private key: {detail}")]
    BadKey { path: PathBuf, detail: String },
    #[error(
        "{key}: the private key does not match the certificate in {cert}; check that both files belong to the same certificate"
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("a certificate has no public key usable for TLS: {0}")]
    BadPeerCertificate(rustls::Error),
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// Only if aws-lc-rs fails, its random generator say.
    #[error("cannot write a PKCS#12 file: the crypto library failed ({0})")]
    Pkcs12(aws_lc_rs::error::Unspecified),
    #[error("no trusted CA certificates found in the system's store (install ca-certificates) {0}")]
    NoTrustAnchors(String),
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}
