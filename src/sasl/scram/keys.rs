//! The salted credentials a server keeps for one SCRAM hash: never the password.

use std::num::NonZeroU32;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{ScramHash, xor};
use crate::sasl::nonce::random_bytes;

/// The iteration count for new credentials: above RFC 7677's minimum of 4096,
/// still quick for a client to compute at each login.
const ITERATIONS: NonZeroU32 = NonZeroU32::new(10_000).unwrap();

/// The salt length of new credentials, and so of the fake ones.
const SALT_LEN: usize = 16;

/// Salt, iteration count, StoredKey and ServerKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScramCredentials {
    pub(crate) iterations: NonZeroU32,
    pub(crate) salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl ScramCredentials {
    /// From a prepared password, with a new random salt.
    pub(crate) fn derive(hash: ScramHash, password: &str) -> ScramCredentials {
        ScramCredentials::with_salt(hash, password, &random_bytes::<SALT_LEN>(), ITERATIONS)
    }

    pub(crate) fn with_salt(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: NonZeroU32,
    ) -> ScramCredentials {
        let (client_key, server_key) = hash.keys(&hash.salted_password(password, salt, iterations));
        ScramCredentials {
            iterations,
            salt: salt.to_vec(),
            stored_key: hash.hash(&client_key),
            server_key,
        }
    }

    /// Credentials for a user who does not exist, shaped like new real ones
    /// (salt length, iteration count) so that server-first-message tells
    /// nothing about which accounts exist. The salt is
    /// HMAC-SHA-256(secret, hash name || 0 || lowercase(username)) cut to the
    /// real length: it differs per hash as real salts do, is the same for
    /// every case variant of a name, and stays the same across restarts for
    /// as long as the secret does. `username` should be the prepared name
    /// where there is one. No proof verifies against the keys; the caller
    /// still refuses the exchange.
    pub(crate) fn fake(hash: ScramHash, secret: &[u8; 32], username: &str) -> ScramCredentials {
        let hash_name: &[u8] = match hash {
            ScramHash::Sha1 => b"SCRAM-SHA-1",
            ScramHash::Sha256 => b"SCRAM-SHA-256",
        };
        let input = [hash_name, &[0], username.to_lowercase().as_bytes()].concat();
        let salt = ScramHash::Sha256.hmac(secret, &input);
        ScramCredentials {
            iterations: ITERATIONS,
            salt: salt[..SALT_LEN].to_vec(),
            stored_key: vec![0; hash.output_len()],
            server_key: vec![0; hash.output_len()],
        }
    }

    /// Whether ClientProof proves knowledge of ClientKey: ClientKey is
    /// ClientProof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) must be
    /// StoredKey, compared in constant time.
    pub(crate) fn verify_proof(&self, hash: ScramHash, auth_message: &[u8], proof: &[u8]) -> bool {
        let signature = hash.hmac(&self.stored_key, auth_message);
        proof.len() == signature.len()
            && verify_slices_are_equal(&hash.hash(&xor(proof, &signature)), &self.stored_key)
                .is_ok()
    }

    /// ServerSignature := HMAC(ServerKey, AuthMessage).
    pub(crate) fn server_signature(&self, hash: ScramHash, auth_message: &[u8]) -> Vec<u8> {
        hash.hmac(&self.server_key, auth_message)
    }

    /// `iterations:salt$StoredKey:ServerKey`, RFC 5803 without the scheme name.
    pub(crate) fn to_text(&self) -> String {
        let b64 = |bytes: &[u8]| STANDARD.encode(bytes);
        format!(
            "{}:{}${}:{}",
            self.iterations,
            b64(&self.salt),
            b64(&self.stored_key),
            b64(&self.server_key)
        )
    }

    pub(crate) fn from_text(hash: ScramHash, text: &str) -> Option<ScramCredentials> {
        let (salting, keys) = text.split_once('$')?;
        let (iterations, salt) = salting.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let key = |text| {
            STANDARD
                .decode(text)
                .ok()
                .filter(|k: &Vec<u8>| k.len() == hash.output_len())
        };
        Some(ScramCredentials {
            iterations: iterations.parse().ok()?,
            salt: STANDARD.decode(salt).ok().filter(|s| !s.is_empty())?,
            stored_key: key(stored_key)?,
            server_key: key(server_key)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_for_both_hashes() {
        for hash in [ScramHash::Sha1, ScramHash::Sha256] {
            let credentials = ScramCredentials::derive(hash, "pencil");
            assert_eq!(credentials.iterations.get(), 10_000);
            assert_eq!(credentials.salt.len(), 16);
            let text = credentials.to_text();
            assert_eq!(ScramCredentials::from_text(hash, &text), Some(credentials));
            let other = match hash {
                ScramHash::Sha1 => ScramHash::Sha256,
                ScramHash::Sha256 => ScramHash::Sha1,
            };
            assert_eq!(ScramCredentials::from_text(other, &text), None);
        }
    }

    #[test]
    fn fake_salts_are_stable_per_name() {
        let secret = [7; 32];
        let a = ScramCredentials::fake(ScramHash::Sha256, &secret, "nobody");
        assert_eq!(
            a,
            ScramCredentials::fake(ScramHash::Sha256, &secret, "nobody")
        );
        assert_eq!(
            a,
            ScramCredentials::fake(ScramHash::Sha256, &secret, "NoBody")
        );
        assert_ne!(
            a.salt,
            ScramCredentials::fake(ScramHash::Sha256, &secret, "somebody").salt
        );
        assert_ne!(
            a.salt,
            ScramCredentials::fake(ScramHash::Sha1, &secret, "nobody").salt
        );
        assert_ne!(
            a.salt,
            ScramCredentials::fake(ScramHash::Sha256, &[8; 32], "nobody").salt
        );
        assert_eq!(a.iterations, ITERATIONS);
        assert_eq!(a.salt.len(), SALT_LEN);
        assert!(!a.verify_proof(ScramHash::Sha256, b"message", &[0; 32]));
    }

    /// The derivation is pinned: a change would change every unknown user's
    /// salt at the upgrade, which a probe before and after would notice.
    #[test]
    fn fake_salt_derivation_is_pinned() {
        let salt = |hash, name| STANDARD.encode(ScramCredentials::fake(hash, &[0; 32], name).salt);
        assert_eq!(salt(ScramHash::Sha1, "Nobody"), "he2+GMLbUyEsvZkY2hGvMQ==");
        assert_eq!(
            salt(ScramHash::Sha256, "nobody"),
            "N/Jx9XZs9SdhTpvrNwcaZQ=="
        );
    }
}
