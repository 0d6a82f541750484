//! Client configs: for tests now, and the start of the outgoing SMTP client's.

use std::sync::Arc;

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, RootCertStore};

use super::TlsError;

/// A certificate chain (leaf first) and its private key, to present to a server.
pub type ClientCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// A TLS 1.2/1.3 client config that trusts exactly the certificates in
/// `trusted` (as CAs or as self-signed server certificates) and, if given,
/// presents `client_cert` when the server asks for one.
pub fn client_config(
    trusted: &[CertificateDer<'static>],
    client_cert: Option<ClientCert>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in trusted {
        roots.add(cert.clone())?;
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&TLS13, &TLS12])?
        .with_root_certificates(roots);
    let config = match client_cert {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}
