//! The client side, for the outgoing SMTP client and for tests: one
//! [`ClientExchange`] per authentication attempt.

use std::fmt;

use super::cram_md5::CramMd5Client;
use super::login::LoginClient;
use super::plain::PlainMessage;
use super::prep::prepare;
use super::scram::ScramClient;
use super::{Mechanism, NonceSource, SaslError};

/// What the client authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub username: String,
    pub password: String,
    /// Whom to act as, if not `username` (EXTERNAL sends only this).
    pub authzid: Option<String>,
}

/// The password stays out of logs.
impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("username", &self.username)
            .field("authzid", &self.authzid)
            .finish_non_exhaustive()
    }
}

/// One mechanism's client state machine.
pub(crate) trait ClientMechanism: Send {
    /// The first message, for mechanisms where the client speaks first.
    fn initial_response(&mut self) -> Option<Vec<u8>>;

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError>;

    /// Whether a success reported by the server may be believed now.
    fn finish(&self) -> Result<(), SaslError> {
        Ok(())
    }
}

/// The client side of one exchange.
pub struct ClientExchange {
    mechanism: Mechanism,
    state: Box<dyn ClientMechanism>,
}

impl ClientExchange {
    /// `channel_binding` is the connection's `tls-exporter` data: required for
    /// the -PLUS variants; with it, plain SCRAM tells the server the client
    /// could have bound (`y`), which catches a stripped -PLUS offer. The user
    /// name and password are prepared with SASLprep.
    pub fn new(
        mechanism: Mechanism,
        credentials: &ClientCredentials,
        channel_binding: Option<&[u8]>,
        nonces: &NonceSource,
    ) -> Result<ClientExchange, SaslError> {
        let unavailable = || SaslError::MechanismUnavailable(mechanism.name().to_owned());
        let authzid = credentials.authzid.clone();
        let username = || prepare(&credentials.username, "the user name");
        let password = || prepare(&credentials.password, "the password");
        let state: Box<dyn ClientMechanism> = match (mechanism, mechanism.scram()) {
            (Mechanism::External, _) => Box::new(SingleMessage(Some(
                authzid.unwrap_or_default().into_bytes(),
            ))),
            (_, Some((_, true))) if channel_binding.is_none() => return Err(unavailable()),
            (_, Some((hash, plus))) => Box::new(ScramClient::new(
                hash,
                plus,
                username()?,
                password()?,
                authzid,
                channel_binding,
                nonces.nonce(),
            )),
            (Mechanism::Plain, _) => {
                let message = PlainMessage {
                    authzid,
                    authcid: username()?,
                    password: password()?,
                };
                Box::new(SingleMessage(Some(message.to_bytes())))
            }
            (Mechanism::Login, _) => Box::new(LoginClient::new(&username()?, &password()?)),
            (Mechanism::CramMd5, _) => Box::new(CramMd5Client::new(username()?, password()?)),
            (_, None) => return Err(unavailable()),
        };
        Ok(ClientExchange { mechanism, state })
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The message to send with the command (SASL-IR), or `None` where the
    /// server speaks first (LOGIN, CRAM-MD5). A client that does not send one
    /// answers the server's empty first challenge with [`ClientExchange::respond`].
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        self.state.initial_response()
    }

    /// The answer to a server challenge. For SCRAM the last challenge is the
    /// server's `v=`, which is verified here and answered with an empty message.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.state.respond(challenge)
    }

    /// Call when the server reports success: SCRAM fails here unless the
    /// server proved it knows the credentials.
    pub fn finish(&self) -> Result<(), SaslError> {
        self.state.finish()
    }
}

/// Shows the mechanism only: the state holds the password.
impl fmt::Debug for ClientExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientExchange")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

/// PLAIN and EXTERNAL: one message, as the initial response or in answer to
/// the server's empty challenge.
struct SingleMessage(Option<Vec<u8>>);

impl ClientMechanism for SingleMessage {
    fn initial_response(&mut self) -> Option<Vec<u8>> {
        self.0.take()
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        match (challenge, self.0.take()) {
            ([], Some(message)) => Ok(message),
            _ => Err(SaslError::malformed("unexpected challenge")),
        }
    }
}
