//! The server side of SCRAM: client-first, server-first, client-final, then
//! success with server-final.

use super::messages::{Binding, ClientFinal, ClientFirst, ServerFinal, ServerFirst};
use super::{BINDING_TYPE, ScramCredentials, ScramHash};
use crate::sasl::error::utf8;
use crate::sasl::prep::prepared;
use crate::sasl::server::{ServerMechanism, authorize};
use crate::sasl::{CredentialLookup, SaslError, Step};

pub(crate) struct ScramServer {
    hash: ScramHash,
    /// Whether this is the -PLUS variant.
    plus: bool,
    /// This connection's `tls-exporter` data; its presence means the -PLUS
    /// variants were offered, which makes a client's `y` a downgrade.
    channel_binding: Option<Vec<u8>>,
    nonce: String,
    /// The server secret for the fake salts of unknown users.
    secret: [u8; 32],
    pending: Option<Pending>,
}

/// What the server remembers between its first message and the client's final one.
struct Pending {
    /// The prepared user name, `None` if there is no such user.
    user: Option<String>,
    authzid: Option<String>,
    credentials: ScramCredentials,
    nonce: String,
    /// client-first-message-bare "," server-first-message ","
    auth_message: String,
    /// What `c=` must decode to.
    binding_input: Vec<u8>,
}

impl ScramServer {
    pub(crate) fn new(
        hash: ScramHash,
        plus: bool,
        channel_binding: Option<Vec<u8>>,
        nonce: String,
        secret: [u8; 32],
    ) -> ScramServer {
        ScramServer {
            hash,
            plus,
            channel_binding,
            nonce,
            secret,
            pending: None,
        }
    }

    fn client_first(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        let (first, header, bare) = ClientFirst::parse(utf8(message, "client-first-message")?)?;
        let binding_data = self.check_binding(&first.binding)?;
        let user = prepared(&first.username).map(|u| u.into_owned());
        let stored = user.as_deref().and_then(|u| credentials.lookup(u));
        let credentials = match &stored {
            Some(stored) => stored.scram(self.hash).clone(),
            None => {
                let name = user.as_deref().unwrap_or(&first.username);
                ScramCredentials::fake(self.hash, &self.secret, name)
            }
        };
        let nonce = format!("{}{}", first.nonce, self.nonce);
        let server_first = ServerFirst {
            nonce: nonce.clone(),
            salt: credentials.salt.clone(),
            iterations: credentials.iterations,
        }
        .to_string();
        self.pending = Some(Pending {
            user: user.filter(|_| stored.is_some()),
            authzid: first.authzid,
            credentials,
            nonce,
            auth_message: format!("{bare},{server_first},"),
            binding_input: [header.as_bytes(), binding_data].concat(),
        });
        Ok(Step::Challenge(server_first.into_bytes()))
    }

    /// Checks the client's gs2-cbind-flag against the mechanism and the
    /// connection; returns the binding data that `c=` must carry after the
    /// gs2-header.
    fn check_binding(&self, binding: &Binding) -> Result<&[u8], SaslError> {
        match (binding, self.plus, &self.channel_binding) {
            (Binding::Bound(name), true, Some(data)) if name == BINDING_TYPE => Ok(data),
            (Binding::Bound(_), true, _) => Err(SaslError::ChannelBinding(
                "the only channel binding type offered is tls-exporter",
            )),
            (_, true, _) => Err(SaslError::ChannelBinding(
                "a -PLUS mechanism needs 'p=tls-exporter'",
            )),
            (Binding::Bound(_), false, _) => {
                Err(SaslError::ChannelBinding("'p=' needs a -PLUS mechanism"))
            }
            (Binding::NotOffered, false, Some(_)) => Err(SaslError::ChannelBinding(
                "the client supports channel binding and the server offered it: a downgrade",
            )),
            _ => Ok(&[]),
        }
    }

    fn client_final(&mut self, pending: Pending, message: &[u8]) -> Result<Step, SaslError> {
        let (last, without_proof) = ClientFinal::parse(utf8(message, "client-final-message")?)?;
        if last.nonce != pending.nonce {
            return Err(SaslError::malformed(
                "client-final-message: the nonce is not the one the server sent",
            ));
        }
        if last.channel_binding != pending.binding_input {
            return Err(SaslError::ChannelBinding(
                "the channel binding data is not this connection's",
            ));
        }
        let auth_message = pending.auth_message + without_proof;
        let credentials = &pending.credentials;
        let verified = credentials.verify_proof(self.hash, auth_message.as_bytes(), &last.proof);
        match pending.user {
            Some(user) if verified => {
                let signature = credentials.server_signature(self.hash, auth_message.as_bytes());
                let server_final = ServerFinal::Verifier(signature).to_string().into_bytes();
                authorize(user, pending.authzid, Some(server_final))
            }
            _ => Err(SaslError::AuthenticationFailed),
        }
    }
}

impl ServerMechanism for ScramServer {
    fn step(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        match self.pending.take() {
            None => self.client_first(message, credentials),
            Some(pending) => self.client_final(pending, message),
        }
    }
}
