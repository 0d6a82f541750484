//! LOGIN (draft-murchison-sasl-login): the server asks "Username:" then
//! "Password:", the client answers each. Obsolete but still what many clients
//! try first. The user name may come as the initial response.

use super::client::ClientMechanism;
use super::error::utf8;
use super::server::{ServerMechanism, check_password};
use super::{CredentialLookup, SaslError, Step};

const USERNAME: &[u8] = b"Username:";
const PASSWORD: &[u8] = b"Password:";

/// Remembers the user name until the password comes.
#[derive(Default)]
pub(crate) struct LoginServer {
    username: Option<String>,
}

impl ServerMechanism for LoginServer {
    fn challenge(&mut self) -> Vec<u8> {
        USERNAME.to_vec()
    }

    fn step(
        &mut self,
        message: &[u8],
        credentials: &dyn CredentialLookup,
    ) -> Result<Step, SaslError> {
        match self.username.take() {
            None => {
                self.username = Some(field(message, "user name")?.to_owned());
                Ok(Step::Challenge(PASSWORD.to_vec()))
            }
            Some(username) => {
                check_password(&username, field(message, "password")?, None, credentials)
            }
        }
    }
}

fn field<'a>(message: &'a [u8], what: &str) -> Result<&'a str, SaslError> {
    match utf8(message, what)? {
        "" => Err(SaslError::malformed(format!("the LOGIN {what} is empty"))),
        text => Ok(text),
    }
}

/// The client answers the first challenge with the user name and the second
/// with the password, whatever their text: servers word them differently.
pub(crate) struct LoginClient {
    answers: std::vec::IntoIter<Vec<u8>>,
}

impl LoginClient {
    pub(crate) fn new(username: &str, password: &str) -> LoginClient {
        let answers = vec![username.as_bytes().to_vec(), password.as_bytes().to_vec()];
        LoginClient {
            answers: answers.into_iter(),
        }
    }
}

impl ClientMechanism for LoginClient {
    fn initial_response(&mut self) -> Option<Vec<u8>> {
        None
    }

    fn respond(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.answers
            .next()
            .ok_or_else(|| SaslError::malformed("unexpected third LOGIN challenge"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody(_: &str) -> Option<crate::sasl::StoredCredentials> {
        None
    }

    #[test]
    fn asks_for_the_password_after_the_user_name() {
        let mut server = LoginServer::default();
        assert_eq!(server.challenge(), b"Username:");
        assert_eq!(
            server.step(b"tim", &nobody),
            Ok(Step::Challenge(b"Password:".to_vec()))
        );
        assert_eq!(
            server.step(b"secret", &nobody),
            Err(SaslError::AuthenticationFailed)
        );
    }

    #[test]
    fn empty_or_non_utf8_fields_are_malformed() {
        assert!(matches!(
            LoginServer::default().step(b"", &nobody),
            Err(SaslError::Malformed(_))
        ));
        let mut server = LoginServer::default();
        server.step(b"tim", &nobody).unwrap();
        assert!(matches!(
            server.step(b"\xff", &nobody),
            Err(SaslError::Malformed(_))
        ));
    }
}
