//! CRAM-MD5 (RFC 2195): the server sends a msg-id-like challenge, the client
//! answers `user SP hex(HMAC-MD5(password, challenge))`.
//!
//! The server keeps no password: HMAC-MD5 first absorbs one 64-byte block of
//! key^ipad and one of key^opad, so the two MD5 states after those blocks are
//! enough to finish any HMAC with that key. This is what Dovecot's CRAM-MD5
//! scheme stores (outer state, then inner, as little-endian words). It is still
//! password-equivalent for CRAM-MD5 itself, which is the mechanism's nature.
//!
//! aws-lc-rs has no MD5, so MD5 comes from RustCrypto's `md-5`, whose block-level
//! core can be serialized and resumed: that is the intermediate state we need,
//! without writing MD5 padding ourselves.

use md5::Md5;
use md5::block_api::Md5Core;
use md5::digest::block_api::{CoreProxy, UpdateCore};
use md5::digest::common::hazmat::SerializableState;
use md5::{Digest, digest};

use super::client::ClientMechanism;
use super::credentials::dummy_cram_md5;
use super::error::utf8;
use super::prep::prepared;
use super::server::{ServerMechanism, authorize};
use super::{CredentialLookup, SaslError, Step};

const BLOCK: usize = 64;

/// The two MD5 states after absorbing key^opad and key^ipad.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CramMd5Secret {
    outer: [u8; 16],
    inner: [u8; 16],
}

impl CramMd5Secret {
    /// From a prepared password.
    pub(crate) fn derive(password: &str) -> CramMd5Secret {
        CramMd5Secret::from_key(password.as_bytes())
    }

    fn from_key(key: &[u8]) -> CramMd5Secret {
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            block[..16].copy_from_slice(&Md5::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let padded = |pad: u8| block.map(|b| b ^ pad);
        CramMd5Secret {
            outer: absorb(padded(0x5c)),
            inner: absorb(padded(0x36)),
        }
    }

    /// HMAC-MD5 of `message` under the key this secret was derived from.
    pub(crate) fn hmac(&self, message: &[u8]) -> [u8; 16] {
        let inner = resume(&self.inner).chain_update(message).finalize();
        resume(&self.outer).chain_update(inner).finalize().into()
    }

    /// 64 lowercase hex digits: outer state, then inner.
    pub(crate) fn to_text(&self) -> String {
        hex_encode(&[self.outer, self.inner].concat())
    }

    pub(crate) fn from_text(text: &str) -> Option<CramMd5Secret> {
        let bytes = hex_decode(text)?;
        let (outer, inner) = bytes.split_at_checked(16)?;
        Some(CramMd5Secret {
            outer: outer.try_into().ok()?,
            inner: inner.try_into().ok()?,
        })
    }
}

/// The state of a fresh MD5 after one block, as the four state words.
fn absorb(block: [u8; BLOCK]) -> [u8; 16] {
    let mut core = Md5Core::default();
    core.update_blocks(&[block.into()]);
    let serialized = core.serialize();
    let mut state = [0; 16];
    state.copy_from_slice(&serialized[..16]);
    state
}

/// An MD5 hasher that has absorbed exactly one block and is in `state`.
fn resume(state: &[u8; 16]) -> Md5 {
    let mut serialized = digest::common::hazmat::SerializedState::<Md5Core>::default();
    serialized[..16].copy_from_slice(state);
    serialized[16..].copy_from_slice(&1u64.to_le_bytes());
    // Any 24 bytes deserialize: md-5 reads four state words and a block count.
    let core = Md5Core::deserialize(&serialized).expect("md-5 accepts every serialized state");
    Md5::compose(core, Default::default())
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            let lower = pair.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            lower.then(|| u8::from_str_radix(pair, 16).ok()).flatten()
        })
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server: one challenge, one response.
pub(crate) struct CramMd5Server {
    challenge: String,
}

impl CramMd5Server {
    /// `nonce` and `hostname` make the msg-id-like challenge `<nonce@hostname>`.
    pub(crate) fn new(nonce: &str, hostname: &str) -> CramMd5Server {
        CramMd5Server {
            challenge: format!("<{nonce}@{hostname}>"),
        }
    }
}

impl ServerMechanism for CramMd5Server {
    fn challenge(&mut self) -> Vec<u8> {
        self.challenge.clone().into_bytes()
    }

    fn initial_response(&mut self, _: &[u8], _: &dyn CredentialLookup) -> Result<Step, SaslError> {
        Err(SaslError::malformed(
            "CRAM-MD5 starts with the server's challenge: no initial response",
        ))
    }

    fn step(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        let (user, digest) = parse_response(utf8(message, "CRAM-MD5 response")?)?;
        let user = prepared(user);
        let stored = user.as_deref().and_then(|u| credentials.lookup(u));
        let secret = match &stored {
            Some(stored) => &stored.cram_md5,
            None => dummy_cram_md5(),
        };
        let expected = secret.hmac(self.challenge.as_bytes());
        let matches = aws_lc_rs::constant_time::verify_slices_are_equal(&expected, &digest).is_ok();
        match (matches && stored.is_some(), user) {
            (true, Some(user)) => authorize(user.into_owned(), None, None),
            _ => Err(SaslError::AuthenticationFailed),
        }
    }
}

/// `user SP digest`, the digest 32 lowercase hex digits. The user name may hold
/// spaces, so the digest is what follows the last one.
fn parse_response(text: &str) -> Result<(&str, Vec<u8>), SaslError> {
    let (user, digest) = text
        .rsplit_once(' ')
        .ok_or_else(|| SaslError::malformed("a CRAM-MD5 response is 'user SP digest'"))?;
    if user.is_empty() {
        return Err(SaslError::malformed("the CRAM-MD5 user name is empty"));
    }
    match hex_decode(digest) {
        Some(digest) if digest.len() == 16 => Ok((user, digest)),
        _ => Err(SaslError::malformed(
            "the CRAM-MD5 digest must be 32 lowercase hex digits",
        )),
    }
}

/// The client: no initial response, one answer to the server's challenge.
pub(crate) struct CramMd5Client {
    username: String,
    password: String,
    answered: bool,
}

impl CramMd5Client {
    /// `password` is prepared, as the server's secret was derived from it.
    pub(crate) fn new(username: String, password: String) -> CramMd5Client {
        CramMd5Client {
            username,
            password,
            answered: false,
        }
    }
}

impl ClientMechanism for CramMd5Client {
    fn initial_response(&mut self) -> Option<Vec<u8>> {
        None
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if std::mem::replace(&mut self.answered, true) {
            return Err(SaslError::malformed("unexpected second CRAM-MD5 challenge"));
        }
        Ok(client_response(&self.username, &self.password, challenge))
    }
}

/// `user SP hex(HMAC-MD5(password, challenge))`.
fn client_response(user: &str, password: &str, challenge: &[u8]) -> Vec<u8> {
    let digest = CramMd5Secret::derive(password).hmac(challenge);
    format!("{user} {}", hex_encode(&digest)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        hex_encode(bytes)
    }

    #[test]
    fn rfc_2104_and_2202_hmac_md5_vectors() {
        let key = [0x0b; 16];
        assert_eq!(
            hex(&CramMd5Secret::from_key(&key).hmac(b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(&CramMd5Secret::from_key(b"Jefe").hmac(b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        let long_key = [0xaa; 80];
        assert_eq!(
            hex(&CramMd5Secret::from_key(&long_key)
                .hmac(b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
    }

    #[test]
    fn rfc_2195_example() {
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        assert_eq!(
            client_response("tim", "tanstaaftanstaaf", challenge),
            b"tim b913a602c7eda7a495b4e6e7334d3890"
        );
    }

    #[test]
    fn secret_text_round_trips() {
        let secret = CramMd5Secret::derive("tanstaaftanstaaf");
        let text = secret.to_text();
        assert_eq!(text.len(), 64);
        assert!(CramMd5Secret::from_text(&text) == Some(secret));
        for bad in [
            "",
            "00",
            &text[1..],
            &text.to_uppercase(),
            &format!("{text}00"),
        ] {
            assert!(CramMd5Secret::from_text(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn response_syntax() {
        let digest = "b913a602c7eda7a495b4e6e7334d3890";
        assert_eq!(parse_response(&format!("tim {digest}")).unwrap().0, "tim");
        assert_eq!(
            parse_response(&format!("tim smith {digest}")).unwrap().0,
            "tim smith"
        );
        for bad in [
            "tim".to_owned(),
            format!(" {digest}"),
            format!("tim {}", digest.to_uppercase()),
            format!("tim {}", &digest[2..]),
            format!("tim {digest} "),
            "tim é9".to_owned(),
        ] {
            assert!(
                matches!(parse_response(&bad), Err(SaslError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
