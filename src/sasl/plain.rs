//! PLAIN (RFC 4616): one client message, `[authzid] NUL authcid NUL passwd`.

use super::error::utf8;
use super::server::{ServerMechanism, check_password};
use super::{CredentialLookup, SaslError, Step};

/// The client's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlainMessage {
    pub(crate) authzid: Option<String>,
    pub(crate) authcid: String,
    pub(crate) password: String,
}

impl PlainMessage {
    pub(crate) fn parse(message: &[u8]) -> Result<PlainMessage, SaslError> {
        let text = utf8(message, "PLAIN message")?;
        let mut fields = text.split('\0');
        let (Some(authzid), Some(authcid), Some(password), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(SaslError::malformed(
                "a PLAIN message is [authzid] NUL authcid NUL password",
            ));
        };
        if authcid.is_empty() || password.is_empty() {
            return Err(SaslError::malformed(
                "the PLAIN user name and password must not be empty",
            ));
        }
        Ok(PlainMessage {
            authzid: (!authzid.is_empty()).then(|| authzid.to_owned()),
            authcid: authcid.to_owned(),
            password: password.to_owned(),
        })
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let authzid = self.authzid.as_deref().unwrap_or_default();
        format!("{authzid}\0{}\0{}", self.authcid, self.password).into_bytes()
    }
}

/// PLAIN has nothing to remember: its one message says it all.
pub(crate) struct PlainServer;

impl ServerMechanism for PlainServer {
    fn step(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        let PlainMessage {
            authzid,
            authcid,
            password,
        } = PlainMessage::parse(message)?;
        check_password(&authcid, &password, authzid, credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4616_examples() {
        let message = PlainMessage::parse(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!(message.authzid, None);
        assert_eq!(message.authcid, "tim");
        assert_eq!(message.password, "tanstaaftanstaaf");
        let message = PlainMessage::parse(b"Ursel\0Kurt\0xipj3plmq").unwrap();
        assert_eq!(message.authzid.as_deref(), Some("Ursel"));
        assert_eq!(message.to_bytes(), b"Ursel\0Kurt\0xipj3plmq");
    }

    #[test]
    fn malformed_messages() {
        for bad in [
            &b""[..],
            b"\0",
            b"\0\0",
            b"\0tim\0",
            b"\0\0secret",
            b"tim\0secret",
            b"\0tim\0secret\0",
            b"\0tim\0sec\xffret",
        ] {
            assert!(
                matches!(PlainMessage::parse(bad), Err(SaslError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
