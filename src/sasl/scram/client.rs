//! The client side of SCRAM, which also authenticates the server: the exchange
//! only succeeds once the server's signature has verified.

use aws_lc_rs::constant_time::verify_slices_are_equal;

use super::messages::{Binding, ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use super::{BINDING_TYPE, ScramHash, xor};
use crate::sasl::SaslError;
use crate::sasl::client::ClientMechanism;
use crate::sasl::error::utf8;

/// The most iterations the client computes: a hostile server must not make it
/// spin for minutes (a million takes well under a second).
const MAX_ITERATIONS: u32 = 1_000_000;

pub(crate) struct ScramClient {
    hash: ScramHash,
    first: ClientFirst,
    password: String,
    /// The `tls-exporter` data sent in `c=` with `p=`, else empty.
    binding_data: Vec<u8>,
    state: State,
}

enum State {
    Start,
    SentFirst,
    SentFinal {
        server_signature: Vec<u8>,
    },
    Verified,
    /// A message came out of turn or did not verify.
    Failed,
}

impl ScramClient {
    /// `username` and `password` are prepared. A client that has binding data
    /// but uses a mechanism without -PLUS says `y`, so that a server that did
    /// offer -PLUS detects the downgrade.
    pub(crate) fn new(
        hash: ScramHash,
        plus: bool,
        username: String,
        password: String,
        authzid: Option<String>,
        channel_binding: Option<&[u8]>,
        nonce: String,
    ) -> ScramClient {
        let (binding, binding_data) = match (plus, channel_binding) {
            (true, Some(data)) => (Binding::Bound(BINDING_TYPE.into()), data.to_vec()),
            (false, Some(_)) => (Binding::NotOffered, Vec::new()),
            _ => (Binding::Unsupported, Vec::new()),
        };
        ScramClient {
            hash,
            first: ClientFirst {
                binding,
                authzid,
                username,
                nonce,
            },
            password,
            binding_data,
            state: State::Start,
        }
    }

    fn client_first(&mut self) -> Vec<u8> {
        self.state = State::SentFirst;
        self.first.to_string().into_bytes()
    }

    fn client_final(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        let text = utf8(challenge, "server-first-message")?;
        let server_first = ServerFirst::parse(text)?;
        let ours = &self.first.nonce;
        if !(server_first.nonce.starts_with(ours.as_str()) && server_first.nonce.len() > ours.len())
        {
            return Err(SaslError::malformed(
                "server-first-message: the nonce does not extend the client's",
            ));
        }
        let iterations = server_first.iterations;
        if iterations.get() > MAX_ITERATIONS {
            return Err(SaslError::malformed(format!(
                "server-first-message: {iterations} iterations is more than the {MAX_ITERATIONS} the client computes"
            )));
        }
        let hash = self.hash;
        let salted = hash.salted_password(&self.password, &server_first.salt, iterations);
        let (client_key, server_key) = hash.keys(&salted);
        let mut last = ClientFinal {
            channel_binding: [self.first.gs2_header().as_bytes(), &self.binding_data].concat(),
            nonce: server_first.nonce,
            proof: Vec::new(),
        };
        let auth_message = format!("{},{text},{}", self.first.bare(), last.without_proof());
        let client_signature = hash.hmac(&hash.hash(&client_key), auth_message.as_bytes());
        last.proof = xor(&client_key, &client_signature);
        self.state = State::SentFinal {
            server_signature: hash.hmac(&server_key, auth_message.as_bytes()),
        };
        Ok(last.to_string().into_bytes())
    }

    fn verify_server(&mut self, expected: &[u8], challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match ServerFinal::parse(utf8(challenge, "server-final-message")?)? {
            ServerFinal::Verifier(signature)
                if verify_slices_are_equal(&signature, expected).is_ok() =>
            {
                self.state = State::Verified;
                Ok(Vec::new())
            }
            ServerFinal::Verifier(_) => Err(SaslError::ServerNotVerified),
            ServerFinal::Error(_) => Err(SaslError::AuthenticationFailed),
        }
    }
}

impl ClientMechanism for ScramClient {
    fn initial_response(&mut self) -> Option<Vec<u8>> {
        Some(self.client_first())
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Start if challenge.is_empty() => Ok(self.client_first()),
            State::SentFirst => self.client_final(challenge),
            State::SentFinal { server_signature } => {
                self.verify_server(&server_signature, challenge)
            }
            _ => Err(SaslError::malformed("unexpected SCRAM challenge")),
        }
    }

    fn finish(&self) -> Result<(), SaslError> {
        match self.state {
            State::Verified => Ok(()),
            _ => Err(SaslError::ServerNotVerified),
        }
    }
}
