//! SCRAM (RFC 5802) with SHA-1 and SHA-256 (RFC 7677), and the -PLUS variants
//! bound to `tls-exporter` (RFC 9266). One implementation serves both hashes:
//! [`ScramHash`] is the only thing that differs.

mod client;
mod keys;
mod messages;
mod server;

use std::num::NonZeroU32;

use aws_lc_rs::{digest, hmac, pbkdf2};

pub(crate) use client::ScramClient;
pub(crate) use keys::ScramCredentials;
#[cfg(test)]
pub(crate) use messages::{
    Binding, ClientFinal, ClientFirst, ServerFinal, ServerFirst, escape_saslname,
};
pub(crate) use server::ScramServer;

/// The channel binding type of the -PLUS variants: rustls has no `tls-unique`.
const BINDING_TYPE: &str = "tls-exporter";

/// The hash function H of a SCRAM mechanism, with its HMAC and PBKDF2 (Hi).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            ScramHash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => &digest::SHA256,
        }
    }

    fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            ScramHash::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            ScramHash::Sha256 => hmac::HMAC_SHA256,
        }
    }

    fn pbkdf2_algorithm(self) -> pbkdf2::Algorithm {
        match self {
            ScramHash::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            ScramHash::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        }
    }

    /// The length of H's output, and so of every key, proof and signature.
    pub(crate) fn output_len(self) -> usize {
        self.digest_algorithm().output_len()
    }

    /// H(data).
    fn hash(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_algorithm(), data)
            .as_ref()
            .to_vec()
    }

    /// HMAC(key, data).
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        let key = hmac::Key::new(self.hmac_algorithm(), key);
        hmac::sign(&key, data).as_ref().to_vec()
    }

    /// SaltedPassword := Hi(Normalize(password), salt, i), Hi being PBKDF2.
    fn salted_password(self, password: &str, salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
        let mut out = vec![0; self.output_len()];
        pbkdf2::derive(
            self.pbkdf2_algorithm(),
            iterations,
            salt,
            password.as_bytes(),
            &mut out,
        );
        out
    }

    /// ClientKey and ServerKey from the salted password.
    fn keys(self, salted_password: &[u8]) -> (Vec<u8>, Vec<u8>) {
        (
            self.hmac(salted_password, b"Client Key"),
            self.hmac(salted_password, b"Server Key"),
        )
    }
}

/// a XOR b, for proofs: both have H's output length where this is used.
fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}
