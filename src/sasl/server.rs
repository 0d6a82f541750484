//! The server side: one [`ServerExchange`] per AUTH or AUTHENTICATE command.

use std::fmt;

use super::cram_md5::CramMd5Server;
use super::credentials::dummy_verify_password;
use super::external::ExternalServer;
use super::login::LoginServer;
use super::plain::PlainServer;
use super::prep::prepared;
use super::scram::ScramServer;
use super::{Mechanism, NonceSource, SaslError, StoredCredentials, saslprep};

/// What the connection brings to authentication.
///
/// The default has no TLS, no hostname, random nonces and an all-zero
/// `secret`: fine for tests, not for service.
#[derive(Clone, Default)]
pub struct ServerContext {
    /// The connection's `tls-exporter` data (RFC 9266), where TLS supports it
    /// (TLS 1.3, or 1.2 with Extended Master Secret): enables the -PLUS variants.
    pub channel_binding: Option<Vec<u8>>,
    /// The login name the client's TLS certificate maps to: enables EXTERNAL.
    pub external_identity: Option<String>,
    /// The server's name, for the CRAM-MD5 challenge `<nonce@hostname>`.
    pub hostname: String,
    /// Random in service; fixed only to replay recorded exchanges in tests.
    pub nonces: NonceSource,
    /// The server secret for the fake SCRAM salts of unknown users; keep it
    /// stable across restarts (the auth layer stores it), or a probe before
    /// and after a restart shows which users do not exist. It must not be
    /// guessable: whoever knows it can tell fake salts from real ones.
    pub secret: [u8; 32],
}

/// Leaves the secret out.
impl fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerContext")
            .field("channel_binding", &self.channel_binding)
            .field("external_identity", &self.external_identity)
            .field("hostname", &self.hostname)
            .field("nonces", &self.nonces)
            .finish_non_exhaustive()
    }
}

impl ServerContext {
    /// The mechanisms to advertise on this connection.
    pub fn offered(&self) -> Vec<Mechanism> {
        Mechanism::offered(
            self.channel_binding.is_some(),
            self.external_identity.is_some(),
        )
    }
}

/// Where an exchange is after a client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge (base64, possibly empty) and wait for a response.
    Challenge(Vec<u8>),
    /// Authenticated as `authcid` (the prepared login name). With
    /// `server_final` (SCRAM's `v=`), SMTP and IMAP send it as one more
    /// challenge and succeed on the client's empty response.
    Done {
        authcid: String,
        /// Set when the client named an authzid; only its own name is accepted
        /// for now, so this is the authcid again.
        authzid: Option<String>,
        server_final: Option<Vec<u8>>,
    },
}

/// Finds the credentials of a prepared login name; the caller maps login
/// names to accounts.
pub trait CredentialLookup {
    fn lookup(&self, authcid: &str) -> Option<StoredCredentials>;
}

impl<F: Fn(&str) -> Option<StoredCredentials>> CredentialLookup for F {
    fn lookup(&self, authcid: &str) -> Option<StoredCredentials> {
        self(authcid)
    }
}

/// One mechanism's server state machine.
pub(crate) trait ServerMechanism: Send {
    /// The first challenge, when the client sent no initial response.
    fn challenge(&mut self) -> Vec<u8> {
        Vec::new()
    }

    /// The client's initial response; for most mechanisms just its first message.
    fn initial_response(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        self.step(message, credentials)
    }

    fn step(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError>;
}

/// The server side of one exchange. After [`Step::Done`] or an error it is
/// over, and further messages are refused as malformed.
pub struct ServerExchange {
    mechanism: Mechanism,
    /// `None` once the exchange is over.
    state: Option<Box<dyn ServerMechanism>>,
    started: bool,
}

impl ServerExchange {
    /// An exchange for a mechanism the context offers.
    pub fn new(mechanism: Mechanism, context: &ServerContext) -> Result<ServerExchange, SaslError> {
        let unavailable = || SaslError::MechanismUnavailable(mechanism.name().to_owned());
        if !context.offered().contains(&mechanism) {
            return Err(unavailable());
        }
        let nonce = context.nonces.nonce();
        let state: Box<dyn ServerMechanism> = match (mechanism, mechanism.scram()) {
            (_, Some((hash, plus))) => Box::new(ScramServer::new(
                hash,
                plus,
                context.channel_binding.clone(),
                nonce,
                context.secret,
            )),
            (Mechanism::Plain, _) => Box::new(PlainServer),
            (Mechanism::Login, _) => Box::new(LoginServer::default()),
            (Mechanism::CramMd5, _) => Box::new(CramMd5Server::new(&nonce, &context.hostname)),
            (Mechanism::External, _) => {
                let identity = context.external_identity.clone().ok_or_else(unavailable)?;
                Box::new(ExternalServer::new(identity))
            }
            (_, None) => return Err(unavailable()),
        };
        Ok(ServerExchange {
            mechanism,
            state: Some(state),
            started: false,
        })
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Starts with the initial response from the command line (`=` decodes to
    /// an empty one), or with none: the mechanism's first challenge then.
    pub fn start(
        &mut self,
        initial_response: Option<&[u8]>,
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        if self.started {
            return Err(SaslError::malformed("the exchange has already started"));
        }
        match initial_response {
            Some(message) => self.run(|m| m.initial_response(message, credentials)),
            None => self.run(|m| Ok(Step::Challenge(m.challenge()))),
        }
    }

    /// The client's response to the last challenge. Before [`ServerExchange::start`],
    /// the message is taken as the initial response.
    pub fn step(
        &mut self,
        response: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        match self.started {
            false => self.start(Some(response), credentials),
            true => self.run(|m| m.step(response, credentials)),
        }
    }

    fn run(
        &mut self,
        step: impl FnOnce(&mut dyn ServerMechanism) -> Result<Step, SaslError>,
    ) -> Result<Step, SaslError> {
        self.started = true;
        let mut state = self
            .state
            .take()
            .ok_or_else(|| SaslError::malformed("the exchange is over"))?;
        let step = step(state.as_mut())?;
        if let Step::Challenge(_) = step {
            self.state = Some(state);
        }
        Ok(step)
    }
}

/// Shows where the exchange is, not what the mechanism holds.
impl fmt::Debug for ServerExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerExchange")
            .field("mechanism", &self.mechanism)
            .field("started", &self.started)
            .field("over", &self.state.is_none())
            .finish()
    }
}

/// Checks a password given in the clear (PLAIN, LOGIN). An unknown user costs
/// the same argon2id check as a known one. What SASLprep refuses fails at once:
/// anyone can compute that, so the time tells nothing about accounts.
pub(crate) fn check_password(
    authcid: &str,
    password: &str,
    authzid: Option<String>,
    credentials: &dyn CredentialLookup,
) -> Result<Step, SaslError> {
    let (Some(user), Some(password)) = (prepared(authcid), prepared(password)) else {
        return Err(SaslError::AuthenticationFailed);
    };
    match credentials.lookup(&user) {
        Some(stored) if stored.verify_password(&password) => {
            authorize(user.into_owned(), authzid, None)
        }
        Some(_) => Err(SaslError::AuthenticationFailed),
        None => {
            dummy_verify_password(&password);
            Err(SaslError::AuthenticationFailed)
        }
    }
}

/// The end of every successful exchange: an authzid is accepted only when it
/// names the authenticated user (acting for others is refused for now).
pub(crate) fn authorize(
    authcid: String,
    authzid: Option<String>,
    server_final: Option<Vec<u8>>,
) -> Result<Step, SaslError> {
    if let Some(authzid) = &authzid
        && saslprep(authzid).as_deref() != Some(authcid.as_str())
    {
        return Err(SaslError::AuthzidNotPermitted);
    }
    Ok(Step::Done {
        authzid: authzid.map(|_| authcid.clone()),
        authcid,
        server_final,
    })
}
