//! Real handshakes between a rustls client and servers built by this module,
//! over an in-memory duplex stream.

use std::path::Path;
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::version::TLS12;
use rustls::{
    CertificateError, ClientConfig, ProtocolVersion, RootCertStore, ServerConfig, SignatureScheme,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::self_signed::{SelfSigned, load_or_generate};
use super::*;

/// What each side saw of one handshake.
struct Outcome {
    server: ConnectionInfo,
    client_binding: [u8; 32],
}

async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> Result<Outcome, std::io::Error> {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let name = ServerName::try_from("localhost").expect("valid name");
    let (server_stream, client_stream) = tokio::join!(
        TlsAcceptor::from(server.clone()).accept(server_io),
        TlsConnector::from(client).connect(name, client_io),
    );
    let (server_stream, client_stream) = (server_stream?, client_stream?);
    let info = ConnectionInfo::from_connection(server_stream.get_ref().1, &server)
        .expect("handshake done");
    let client_binding = client_stream
        .get_ref()
        .1
        .export_keying_material([0; 32], b"EXPORTER-Channel-Binding", None)
        .expect("exporter after handshake");
    Ok(Outcome {
        server: info,
        client_binding,
    })
}

fn server_cert(dir: &Path) -> (SelfSigned, Arc<ServerConfig>) {
    let cert = load_or_generate(dir, &[]).expect("generate");
    let config = server_config_from_files(&cert.cert_file, &cert.key_file).expect("load");
    (cert, config)
}

fn tls12_client(trusted: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).expect("add root");
    let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&TLS12])
        .expect("TLS 1.2 supported")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn client_cert(identity: &ClientIdentity) -> ClientCert {
    let chain = vec![CertificateDer::from_pem_slice(identity.cert_pem.as_bytes()).expect("cert")];
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("key");
    (chain, key)
}

#[tokio::test]
async fn tls13_negotiates_with_matching_channel_binding() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, server) = server_cert(dir.path());
    let client = client_config(&[cert.cert], None).unwrap();
    let outcome = handshake(server, client).await.unwrap();
    assert_eq!(outcome.server.version, ProtocolVersion::TLSv1_3);
    assert_eq!(outcome.server.channel_binding, Some(outcome.client_binding));
    assert_eq!(outcome.server.client_key, None);
    assert!(
        outcome
            .server
            .summary()
            .starts_with("version=TLS1.3 cipher=TLS_")
    );
}

#[tokio::test]
async fn tls12_negotiates_with_ems_and_matching_channel_binding() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, server) = server_cert(dir.path());
    let outcome = handshake(server, tls12_client(&cert.cert)).await.unwrap();
    assert_eq!(outcome.server.version, ProtocolVersion::TLSv1_2);
    assert_eq!(outcome.server.channel_binding, Some(outcome.client_binding));
    assert!(
        outcome
            .server
            .summary()
            .starts_with("version=TLS1.2 cipher=TLS_ECDHE_ECDSA_WITH_")
    );
}

#[tokio::test]
async fn tls12_has_no_channel_binding_when_ems_is_not_required() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, server) = server_cert(dir.path());
    let mut lax = (*server).clone();
    lax.require_ems = false;
    let outcome = handshake(Arc::new(lax), tls12_client(&cert.cert))
        .await
        .unwrap();
    assert_eq!(outcome.server.channel_binding, None);
}

#[tokio::test]
async fn client_certificate_identifies_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, server) = server_cert(dir.path());
    let identity = generate_identity("phone of mjl", "secret").unwrap();
    let client = client_config(
        std::slice::from_ref(&cert.cert),
        Some(client_cert(&identity)),
    )
    .unwrap();
    let outcome = handshake(server.clone(), client).await.unwrap();
    assert_eq!(outcome.server.version, ProtocolVersion::TLSv1_3);
    assert_eq!(outcome.server.client_key, Some(identity.fingerprint));

    // TLS 1.2 verifies the client's signature through another path.
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert).unwrap();
    let (chain, key) = client_cert(&identity);
    let tls12 = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let outcome = handshake(server, Arc::new(tls12)).await.unwrap();
    assert_eq!(outcome.server.version, ProtocolVersion::TLSv1_2);
    assert_eq!(outcome.server.client_key, Some(identity.fingerprint));
}

/// Presents a certificate with another key's signature: a client that merely
/// knows a registered certificate.
#[derive(Debug)]
struct StolenCert(Arc<CertifiedKey>);

impl ResolvesClientCert for StolenCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn client_certificate_without_its_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, server) = server_cert(dir.path());
    let (victim_chain, _) = client_cert(&generate_identity("victim", "x").unwrap());
    let (_, thief_key) = client_cert(&generate_identity("thief", "x").unwrap());
    let provider = Arc::new(aws_lc_rs::default_provider());
    let signer = provider.key_provider.load_private_key(thief_key).unwrap();
    let stolen = StolenCert(Arc::new(CertifiedKey::new(victim_chain, signer)));
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert).unwrap();
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(stolen));
    let err = handshake(server, Arc::new(client))
        .await
        .err()
        .expect("rejected");
    let err = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    assert_eq!(
        err,
        Some(&rustls::Error::InvalidCertificate(
            CertificateError::BadSignature
        ))
    );
}

#[test]
fn mismatched_key_names_both_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        load_or_generate(a.path(), &[]).unwrap(),
        load_or_generate(b.path(), &[]).unwrap(),
    );
    let err = server_config_from_files(&a.cert_file, &b.key_file).unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&*a.cert_file.to_string_lossy()), "{text}");
    assert!(text.contains(&*b.key_file.to_string_lossy()), "{text}");
    assert!(text.contains("does not match"), "{text}");
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cert = load_or_generate(dir.path(), &[]).unwrap();
    let missing = dir.path().join("nope.key");
    let err = server_config_from_files(&cert.cert_file, &missing).unwrap_err();
    assert!(matches!(err, TlsError::Read { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}", missing.display()))
    );
}

#[test]
fn swapped_files_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cert = load_or_generate(dir.path(), &[]).unwrap();
    let err = server_config_from_files(&cert.key_file, &cert.key_file).unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
    let err = server_config_from_files(&cert.cert_file, &cert.cert_file).unwrap_err();
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
    assert!(err.to_string().contains("no private key found"), "{err}");
}

#[test]
fn listener_paths_are_relative_to_the_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    load_or_generate(&dir.path().join("tls"), &[]).unwrap();
    let tls = crate::config::Tls {
        cert_file: "tls/localhost.crt".into(),
        key_file: "tls/localhost.key".into(),
    };
    let config = listener_config(&tls, dir.path()).unwrap();
    assert!(config.require_ems);
}
