//! Client configs: for tests, and for the outgoing SMTP client (opportunistic
//! or verified against the system's trust store).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::aws_lc_rs;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

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
    let builder = builder().with_root_certificates(roots);
    let config = match client_cert {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn builder() -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
    ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&TLS13, &TLS12])
        .expect("the aws-lc-rs provider supports TLS 1.2 and 1.3")
}

/// For STARTTLS to a host whose certificate nothing tells us to check (an MX
/// host without a DANE or MTA-STS policy, RFC 7435 opportunistic security):
/// any certificate is taken, so a passive listener sees nothing, while the
/// handshake signatures are still checked.
pub fn opportunistic_client_config() -> Arc<ClientConfig> {
    let provider = aws_lc_rs::default_provider();
    let verifier = AnyCertificate(provider.signature_verification_algorithms);
    Arc::new(
        builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
    )
}

/// For a host whose certificate must verify (a smarthost or submission
/// service): the system's trust store. Certificates it cannot parse are
/// skipped; an empty store is an error, since nothing could verify.
pub fn system_client_config() -> Result<Arc<ClientConfig>, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found.errors.first().map(ToString::to_string);
        return Err(TlsError::NoTrustAnchors(why.unwrap_or_default()));
    }
    Ok(Arc::new(
        builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// Takes any server certificate; see [`opportunistic_client_config`].
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
