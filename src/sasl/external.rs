//! EXTERNAL (RFC 4422 appendix A): the identity comes from outside SASL, here
//! the login name a TLS client certificate maps to. The client's only message
//! is an authzid, usually empty.

use super::error::utf8;
use super::server::{ServerMechanism, authorize};
use super::{CredentialLookup, SaslError, Step};

pub(crate) struct ExternalServer {
    identity: String,
}

impl ExternalServer {
    pub(crate) fn new(identity: String) -> ExternalServer {
        ExternalServer { identity }
    }
}

impl ServerMechanism for ExternalServer {
    fn step(&mut self, message: &[u8], _: &dyn CredentialLookup) -> Result<Step, SaslError> {
        let authzid = match utf8(message, "EXTERNAL authorization identity")? {
            "" => None,
            authzid => Some(authzid.to_owned()),
        };
        authorize(self.identity.clone(), authzid, None)
    }
}
