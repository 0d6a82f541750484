//! Signing keys: generated, stored as PEM, loaded, and their public halves as key
//! records. aws-lc-rs does the cryptography.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};

use super::key::{KeyRecord, KeyType};
use super::signature::Algorithm;

/// A private key for signing.
pub enum PrivateKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// Why a key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl PrivateKey {
    /// A new 2048-bit RSA key (RFC 8301 asks for at least 1024; 2048 is the
    /// common floor today and fits a TXT record).
    pub fn generate_rsa() -> Result<PrivateKey, KeyError> {
        RsaKeyPair::generate(KeySize::Rsa2048)
            .map(PrivateKey::Rsa)
            .map_err(|_| KeyError("generating an RSA key failed".into()))
    }

    pub fn generate_ed25519() -> Result<PrivateKey, KeyError> {
        Ed25519KeyPair::generate()
            .map(PrivateKey::Ed25519)
            .map_err(|_| KeyError("generating an Ed25519 key failed".into()))
    }

    /// Reads a PEM key: "PRIVATE KEY" (PKCS#8, RSA or Ed25519) or "RSA PRIVATE
    /// KEY" (PKCS#1).
    pub fn from_pem(text: &str) -> Result<PrivateKey, KeyError> {
        let block = pem::parse(text).map_err(|e| KeyError(format!("not a PEM key: {e}")))?;
        let der = block.contents();
        let rejected =
            |e: aws_lc_rs::error::KeyRejected| KeyError(format!("the key was rejected: {e}"));
        match block.tag() {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der)
                .map(PrivateKey::Rsa)
                .map_err(rejected),
            "PRIVATE KEY" => match Ed25519KeyPair::from_pkcs8(der) {
                Ok(key) => Ok(PrivateKey::Ed25519(key)),
                Err(_) => RsaKeyPair::from_pkcs8(der)
                    .map(PrivateKey::Rsa)
                    .map_err(rejected),
            },
            other => Err(KeyError(format!(
                "a PEM block \"{other}\" is not a private key (PRIVATE KEY or RSA PRIVATE KEY)"
            ))),
        }
    }

    /// The key as PEM ("PRIVATE KEY", PKCS#8 v1).
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let failed = |_| KeyError("encoding the key failed".into());
        let der: Pkcs8V1Der<'static> = match self {
            PrivateKey::Rsa(key) => key.as_der().map_err(failed)?,
            PrivateKey::Ed25519(key) => key.as_der().map_err(failed)?,
        };
        let block = pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec());
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        Ok(pem::encode_config(&block, config))
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PrivateKey::Rsa(_) => Algorithm::RsaSha256,
            PrivateKey::Ed25519(_) => Algorithm::Ed25519Sha256,
        }
    }

    /// The key record to publish at SELECTOR._domainkey.DOMAIN.
    pub fn key_record(&self) -> Result<KeyRecord, KeyError> {
        let (key_type, public_key) = match self {
            PrivateKey::Rsa(key) => {
                let der: PublicKeyX509Der<'static> = key
                    .public_key()
                    .as_der()
                    .map_err(|_| KeyError("encoding the public key failed".into()))?;
                (KeyType::Rsa, der.as_ref().to_vec())
            }
            PrivateKey::Ed25519(key) => (KeyType::Ed25519, key.public_key().as_ref().to_vec()),
        };
        Ok(KeyRecord {
            key_type,
            public_key,
            hashes: None,
            strict_identity: false,
            testing: false,
        })
    }

    /// Signs `data` (the canonicalized header fields): RSA PKCS#1 v1.5 over its
    /// SHA-256, or Ed25519 over its SHA-256 digest (RFC 8463 3).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            PrivateKey::Rsa(key) => {
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    data,
                    &mut out,
                )
                .map_err(|_| KeyError("RSA signing failed".into()))?;
                Ok(out)
            }
            PrivateKey::Ed25519(key) => {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
                Ok(key.sign(digest.as_ref()).as_ref().to_vec())
            }
        }
    }
}
