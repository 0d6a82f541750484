//! SASL (RFC 4422) for SMTP AUTH, IMAP AUTHENTICATE and the outgoing SMTP client:
//! PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1/256 with the -PLUS variants bound to
//! `tls-exporter`, and EXTERNAL for TLS client certificates.
//!
//! Each mechanism is a small state machine over raw bytes; the protocols carry
//! those bytes as base64 lines (see [`decode_response`] and friends) and map the
//! outcome to their replies. Nothing here knows about accounts, configuration or
//! TLS: a [`ServerContext`] says what the connection offers and a
//! [`CredentialLookup`] gives the [`StoredCredentials`] of a login name, so no
//! plaintext password is ever stored.

mod client;
mod cram_md5;
mod credentials;
mod error;
mod external;
mod line;
mod login;
mod mechanism;
mod nonce;
mod plain;
mod prep;
#[cfg(test)]
mod proptests;
mod scram;
mod server;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use client::{ClientCredentials, ClientExchange};
pub use credentials::{CredentialsFormatError, StoredCredentials};
pub use error::SaslError;
pub use line::{
    Response, decode_initial_response, decode_response, encode_challenge, encode_initial_response,
};
pub use mechanism::Mechanism;
pub use nonce::NonceSource;
pub use prep::saslprep;
pub use server::{CredentialLookup, ServerContext, ServerExchange, Step};
