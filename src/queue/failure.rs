//! Why an attempt did not deliver, in the one form the history, the retry
//! decision and the DSN all read.

use std::fmt;

use crate::smtp::{Enhanced, Reply};
use crate::smtpclient::ClientError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Trying again will not help.
    pub permanent: bool,
    /// For the DSN's Status field (RFC 3463).
    pub status: Enhanced,
    pub reason: String,
    /// The remote server's whole reply, when the failure was one.
    pub reply: Option<Reply>,
}

impl Failure {
    pub fn temporary(status: Enhanced, reason: impl Into<String>) -> Failure {
        Failure {
            permanent: false,
            status,
            reason: reason.into(),
            reply: None,
        }
    }

    pub fn permanent(status: Enhanced, reason: impl Into<String>) -> Failure {
        Failure {
            permanent: true,
            ..Failure::temporary(status, reason)
        }
    }
}

impl From<&ClientError> for Failure {
    fn from(e: &ClientError) -> Failure {
        Failure {
            permanent: e.is_permanent(),
            status: e.status(),
            reason: e.to_string(),
            reply: e.reply().cloned(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.permanent {
            "permanent"
        } else {
            "temporary"
        };
        write!(f, "{kind} failure ({}): {}", self.status, self.reason)
    }
}
