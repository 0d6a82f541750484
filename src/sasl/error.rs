//! What can go wrong in an exchange, sorted by what the protocol answers.

/// Why an exchange failed. Every variant is something a peer can cause, so none
/// of them is a server error: SMTP and IMAP answer [`SaslError::Malformed`] with
/// a syntax error and the rest with "authentication failed" (or a more precise
/// text where it reveals nothing about accounts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The peer's message does not follow the mechanism's syntax or order.
    #[error("malformed SASL message: {0}")]
    Malformed(String),
    /// Wrong password, unknown user or wrong SCRAM proof: deliberately one case,
    /// so a client cannot tell which accounts exist.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// SCRAM channel binding: a downgrade (`y` while the server offered -PLUS),
    /// `p=` without -PLUS, a binding type other than `tls-exporter`, or binding
    /// data that differs from this connection's.
    #[error("channel binding failed: {0}")]
    ChannelBinding(&'static str),
    /// The client asked to act as someone other than itself, which is refused.
    #[error("the authorization identity is not permitted")]
    AuthzidNotPermitted,
    /// The mechanism is unknown, or needs what this connection lacks (binding
    /// data for -PLUS, a client certificate for EXTERNAL).
    #[error("mechanism {0} is not available")]
    MechanismUnavailable(String),
    /// A name or password that SASLprep (RFC 4013) refuses, found where we
    /// prepare our own input (deriving credentials, the client side).
    #[error("{0} is empty or has characters that SASLprep (RFC 4013) refuses")]
    Unpreparable(&'static str),
    /// Client side: the server did not prove that it knows the SCRAM
    /// credentials (wrong or missing server signature).
    #[error("the server's SCRAM signature does not verify")]
    ServerNotVerified,
}

impl SaslError {
    pub(crate) fn malformed(detail: impl Into<String>) -> SaslError {
        SaslError::Malformed(detail.into())
    }
}

/// The message as text: every mechanism here speaks UTF-8.
pub(crate) fn utf8<'a>(message: &'a [u8], what: &str) -> Result<&'a str, SaslError> {
    std::str::from_utf8(message).map_err(|e| {
        SaslError::malformed(format!(
            "the {what} is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}
