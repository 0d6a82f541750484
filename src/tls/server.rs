//! Server configs, one per listener, from its certificate and key files.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::version::{TLS12, TLS13};

use super::TlsError;
use super::client_cert::AnyClientCert;
use super::files::load_certified_key;
use crate::config::Tls;

/// The server config for a listener's `[tls]` section; relative paths are
/// relative to `config_dir`, the directory of gannet.toml.
pub fn listener_config(tls: &Tls, config_dir: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_from_files(
        &config_dir.join(&tls.cert_file),
        &config_dir.join(&tls.key_file),
    )
}

/// A server config presenting the chain in `cert_file` (PEM, leaf first) with
/// the key in `key_file` (PEM).
pub fn server_config_from_files(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let key = load_certified_key(cert_file, key_file, &provider)?;
    server_config(provider, key)
}

/// TLS 1.2 and 1.3 with the provider's default cipher suites, optional client
/// certificates of any issuer, and Extended Master Secret (RFC 7627) required on
/// TLS 1.2: without it a TLS 1.2 session's secrets are not unique to the
/// connection, and `tls-exporter` channel binding (RFC 9266) would be unsound.
/// Peers without EMS predate 2016 (OpenSSL 1.0.2 and older); such an old MTA
/// on port 25 typically retries in plaintext, as after any TLS failure.
fn server_config(
    provider: Arc<CryptoProvider>,
    key: CertifiedKey,
) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = Arc::new(AnyClientCert::new(&provider));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
    config.require_ems = true;
    Ok(Arc::new(config))
}
