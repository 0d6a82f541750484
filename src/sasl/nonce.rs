//! Nonces for SCRAM and CRAM-MD5 challenges.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Where nonces come from: random in service, fixed in tests that replay a
/// recorded exchange (the RFC examples).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NonceSource {
    /// 18 random bytes from aws-lc-rs as 24 base64 characters: printable, no
    /// comma, so valid in SCRAM and in a CRAM-MD5 msg-id.
    #[default]
    Random,
    /// This text every time. It must be printable ASCII without a comma.
    Fixed(String),
}

impl NonceSource {
    pub(crate) fn nonce(&self) -> String {
        match self {
            NonceSource::Random => STANDARD_NO_PAD.encode(random_bytes::<18>()),
            NonceSource::Fixed(nonce) => nonce.clone(),
        }
    }
}

/// Bytes from the system's secure generator. Its failure is not something a
/// peer can cause and leaves no safe way to go on, so it panics.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's secure random generator failed");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_nonces_are_printable_without_comma_and_differ() {
        let a = NonceSource::Random.nonce();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_graphic() && b != b','));
        assert_ne!(a, NonceSource::Random.nonce());
        assert_eq!(NonceSource::Fixed("x".into()).nonce(), "x");
    }
}
