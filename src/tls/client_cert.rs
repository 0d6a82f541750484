//! Client certificates: asked for, never required, never checked against a CA.
//!
//! An account registers the public keys of its devices (see [`SpkiFingerprint`]),
//! so the certificate is only a container for the key. What must still be
//! checked is that the client holds the private key: rustls has it sign the
//! handshake, and this verifier checks that signature with the provider's
//! algorithms. Without that check anyone could replay a known certificate.
//!
//! [`SpkiFingerprint`]: super::SpkiFingerprint

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

/// Accepts any client certificate, or none, and verifies the handshake
/// signature made with its key.
#[derive(Debug)]
pub struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyClientCert {
    pub fn new(provider: &CryptoProvider) -> Self {
        AnyClientCert {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    /// Optional, so clients without a certificate can still log in with a password.
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    /// No CA names: any certificate the client has may be offered.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    /// Only parses the certificate, so a key that cannot be fingerprinted later
    /// fails the handshake instead of the session.
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        ParsedCertificate::try_from(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
