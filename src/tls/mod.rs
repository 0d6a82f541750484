//! TLS for every listener and client: rustls with its aws-lc-rs provider.
//!
//! - [`listener_config`] builds a listener's server config from its PEM files:
//!   TLS 1.2 and 1.3, optional client certificates of any issuer, Extended
//!   Master Secret required on TLS 1.2.
//! - After a handshake, [`ConnectionInfo`] tells the session what was
//!   negotiated, the client's public key ([`SpkiFingerprint`]) and the
//!   `tls-exporter` channel binding for SCRAM-*-PLUS.
//! - [`self_signed::load_or_generate`] keeps the certificate of `gannet localserve`.
//! - [`generate_identity`] makes a client key, certificate and .p12 file for
//!   `gannet config tlspubkey gen`.
//! - [`client_config`] makes client configs (tests, the outgoing SMTP client).
//! - [`read_chain`] and [`write_file`] read certificates and write key material
//!   for the command line.

mod client;
mod client_cert;
mod error;
mod files;
mod fingerprint;
mod identity;
mod info;
mod pkcs12;
pub mod self_signed;
mod server;
#[cfg(test)]
mod tests;

pub use client::{ClientCert, client_config, opportunistic_client_config, system_client_config};
pub use error::TlsError;
pub use files::{Access, read_chain, write_file};
pub use fingerprint::{BadFingerprint, SpkiFingerprint};
pub use identity::{ClientIdentity, generate_identity};
pub use info::{ConnectionInfo, summary};
pub use server::{listener_config, server_config_from_files};
