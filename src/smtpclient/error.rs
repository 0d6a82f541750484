//! What can go wrong talking to a server, with the stage it happened at and the
//! server's full reply where there was one, for logs, delivery history and DSNs.

use std::fmt;

use crate::smtp::{Enhanced, Reply};

/// Where in a session something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    /// After the message was sent: the reply that says whether it was taken.
    EndOfData,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connecting",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "EHLO",
            Stage::StartTls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::EndOfData => "end of data",
        })
    }
}

/// Why a session or a transaction failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a failure (4xx or 5xx), or with a reply that
    /// makes no sense at that stage.
    #[error("{stage}: the server replied: {}", reply.one_line())]
    Rejected { stage: Stage, reply: Reply },
    /// The connection failed or broke.
    #[error("{stage}: {reason}")]
    Connection { stage: Stage, reason: String },
    /// No reply (or no progress writing) within the time RFC 5321 4.5.3.2 allows.
    #[error("{stage}: no reply within {seconds} seconds")]
    Timeout { stage: Stage, seconds: u64 },
    /// The server broke the protocol: a malformed reply, data after STARTTLS.
    #[error("{stage}: protocol error: {reason}")]
    Protocol { stage: Stage, reason: String },
    #[error("TLS: {0}")]
    Tls(String),
    /// The message needs something the server does not offer (8BITMIME,
    /// SMTPUTF8, REQUIRETLS, a larger SIZE): trying again will not help.
    #[error("{reason}")]
    Unsupported { enhanced: Enhanced, reason: String },
    /// Authentication could not be done (no usable mechanism, a bad challenge).
    #[error("AUTH: {0}")]
    Auth(String),
}

impl ClientError {
    /// Whether trying again later would meet the same failure: a 5xx reply to
    /// the message's own commands, or a message the server cannot take. Failures
    /// while setting up the session are a problem of that host, not of the
    /// message.
    pub fn is_permanent(&self) -> bool {
        match self {
            ClientError::Rejected { stage, reply } => {
                reply.is_permanent()
                    && matches!(
                        stage,
                        Stage::MailFrom | Stage::RcptTo | Stage::Data | Stage::EndOfData
                    )
            }
            ClientError::Unsupported { .. } => true,
            _ => false,
        }
    }

    /// The server's reply, if the failure was one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            ClientError::Rejected { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// The status for a DSN (RFC 3463): the server's enhanced code if it gave
    /// one, else one derived from the failure.
    pub fn status(&self) -> Enhanced {
        let class = if self.is_permanent() { 5 } else { 4 };
        match self {
            ClientError::Rejected { reply, .. } => {
                reply
                    .enhanced
                    .unwrap_or(Enhanced(reply.code.div_euclid(100) as u8, 0, 0))
            }
            ClientError::Unsupported { enhanced, .. } => *enhanced,
            // 4.4.2: bad connection; 4.4.1: no answer from host.
            ClientError::Connection {
                stage: Stage::Connect,
                ..
            } => Enhanced(class, 4, 1),
            ClientError::Connection { .. } | ClientError::Timeout { .. } => Enhanced(class, 4, 2),
            // 4.5.0: other or undefined protocol status.
            ClientError::Protocol { .. } => Enhanced(class, 5, 0),
            // 4.7.5: cryptographic failure.
            ClientError::Tls(_) => Enhanced(class, 7, 5),
            // 4.7.8: authentication credentials invalid.
            ClientError::Auth(_) => Enhanced(class, 7, 8),
        }
    }
}
