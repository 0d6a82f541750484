//! The base64 lines that carry SASL messages in SMTP AUTH (RFC 4954) and IMAP
//! AUTHENTICATE (RFC 9051, SASL-IR RFC 4959), shared by both protocols.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::SaslError;

/// A client's line in answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `*`: the client gives up; SMTP answers 501, IMAP BAD.
    Cancel,
    /// The decoded message; an empty line is an empty message.
    Message(Vec<u8>),
}

/// The initial response on the AUTH or AUTHENTICATE line: `=` is an empty one
/// (distinct from none at all), anything else must be canonical base64.
pub fn decode_initial_response(text: &str) -> Result<Vec<u8>, SaslError> {
    match text {
        "=" => Ok(Vec::new()),
        "" => Err(SaslError::malformed(
            "an empty initial response is sent as '='",
        )),
        _ => decode(text),
    }
}

/// A continuation line: `*` cancels, an empty line is an empty message, and
/// anything else must be canonical base64.
pub fn decode_response(line: &str) -> Result<Response, SaslError> {
    match line {
        "*" => Ok(Response::Cancel),
        _ => decode(line).map(Response::Message),
    }
}

/// A server challenge as sent after `334 ` or `+ ` (empty for an empty one).
pub fn encode_challenge(challenge: &[u8]) -> String {
    STANDARD.encode(challenge)
}

/// A client's initial response for the AUTH or AUTHENTICATE line: `=` when empty.
pub fn encode_initial_response(message: &[u8]) -> String {
    match message {
        [] => "=".to_owned(),
        _ => STANDARD.encode(message),
    }
}

fn decode(text: &str) -> Result<Vec<u8>, SaslError> {
    STANDARD
        .decode(text)
        .map_err(|e| SaslError::malformed(format!("invalid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_response_equals_sign_is_empty() {
        assert_eq!(decode_initial_response("="), Ok(Vec::new()));
        assert_eq!(
            decode_initial_response("AGFsaWNlAHNlY3JldA=="),
            Ok(b"\0alice\0secret".to_vec())
        );
        assert!(decode_initial_response("").is_err());
        assert!(decode_initial_response("*").is_err());
        assert_eq!(encode_initial_response(b""), "=");
        assert_eq!(
            encode_initial_response(b"\0alice\0secret"),
            "AGFsaWNlAHNlY3JldA=="
        );
    }

    #[test]
    fn continuation_star_cancels_and_empty_is_empty() {
        assert_eq!(decode_response("*"), Ok(Response::Cancel));
        assert_eq!(decode_response(""), Ok(Response::Message(Vec::new())));
        assert_eq!(
            decode_response("dGlt"),
            Ok(Response::Message(b"tim".to_vec()))
        );
        assert_eq!(encode_challenge(b""), "");
        assert_eq!(encode_challenge(b"Username:"), "VXNlcm5hbWU6");
    }

    #[test]
    fn non_canonical_base64_is_malformed() {
        for bad in ["dGlt=", "dGl", "dG=l", "dGlt\r", " dGlt", "dGk=x", "dGj="] {
            assert!(
                matches!(decode_response(bad), Err(SaslError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
