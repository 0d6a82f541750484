//! The self-signed certificate of `gannet localserve`. It is made once and
//! reused, so a developer who told a mail client to trust it is not asked again
//! at every start.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, RootCertStore};
use time::{Duration, OffsetDateTime};

use super::TlsError;
use super::files::{Access, load_certified_key, write_file};

pub const CERT_FILE: &str = "localhost.crt";
pub const KEY_FILE: &str = "localhost.key";

/// Names every localserve certificate has, so clients may connect by any of them.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Apple platforms reject TLS server certificates valid for more than 825 days;
/// a year stays well within that.
const VALIDITY: Duration = Duration::days(365);

/// Renew this long before expiry, so a localserve left running does not reach it.
const RENEW_BEFORE: Duration = Duration::days(30);

/// Backdated by a day, so a client whose clock is a little behind accepts it.
const BACKDATE: Duration = Duration::days(1);

/// The certificate and key files for a listener's TLS config.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The certificate, for clients (and tests) to trust.
    pub cert: CertificateDer<'static>,
}

/// Reuses `localhost.crt` and `localhost.key` in `dir`, or writes new ones when
/// they are missing, unreadable, do not match, expire within 30 days, or lack
/// one of the names. The names are localhost, 127.0.0.1, ::1 and `names` (host
/// names or IP addresses).
pub fn load_or_generate(dir: &Path, names: &[&str]) -> Result<SelfSigned, TlsError> {
    let names = wanted_names(names);
    let cert_file = dir.join(CERT_FILE);
    let key_file = dir.join(KEY_FILE);
    let cert = match reusable(&cert_file, &key_file, &names) {
        Ok(cert) => cert,
        Err(why) => {
            tracing::info!(dir = %dir.display(), "generating a self-signed certificate: {why}");
            generate(dir, &cert_file, &key_file, &names)?
        }
    };
    Ok(SelfSigned {
        cert_file,
        key_file,
        cert,
    })
}

/// A subject alternative name of the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Dns(String),
    Ip(IpAddr),
}

fn wanted_names(extra: &[&str]) -> Vec<Name> {
    let mut names: Vec<Name> = Vec::new();
    for name in LOCAL_NAMES.iter().chain(extra) {
        let name = match name.parse() {
            Ok(ip) => Name::Ip(ip),
            Err(_) => Name::Dns(name.to_ascii_lowercase()),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The existing certificate if it can serve on, or why not.
fn reusable(
    cert_file: &Path,
    key_file: &Path,
    names: &[Name],
) -> Result<CertificateDer<'static>, String> {
    let provider = aws_lc_rs::default_provider();
    let certified =
        load_certified_key(cert_file, key_file, &provider).map_err(|e| e.to_string())?;
    let cert = certified.cert.into_iter().next().ok_or("no certificate")?;
    let now = std::time::Duration::from_secs(UnixTime::now().as_secs());
    let soon = UnixTime::since_unix_epoch(now + RENEW_BEFORE.unsigned_abs());
    serves(&cert, names, soon, provider)
        .map_err(|why| format!("{}: {why}", cert_file.display()))?;
    Ok(cert)
}

/// Whether a client that trusts `cert` accepts it at `time` for each of
/// `names`, or why not. The check is the one rustls makes (webpki): the
/// validity period and the subject alternative names, and also the signature
/// and the serverAuth purpose.
fn serves(
    cert: &CertificateDer<'_>,
    names: &[Name],
    time: UnixTime,
    provider: CryptoProvider,
) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert.clone().into_owned())
        .map_err(|e| e.to_string())?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::new(provider))
        .build()
        .map_err(|e| e.to_string())?;
    for name in names {
        let server_name = match name {
            Name::Dns(dns) => ServerName::try_from(dns.as_str())
                .map_err(|e| format!("{dns}: {e}"))?
                .to_owned(),
            Name::Ip(ip) => ServerName::from(*ip),
        };
        match verifier.verify_server_cert(cert, &[], &server_name, &[], time) {
            Ok(_) => {}
            Err(rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            )) => {
                return Err(format!(
                    "expires within {} days or has expired",
                    RENEW_BEFORE.whole_days()
                ));
            }
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => return Err(format!("lacks {name:?}")),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

fn generate(
    dir: &Path,
    cert_file: &Path,
    key_file: &Path,
    names: &[Name],
) -> Result<CertificateDer<'static>, TlsError> {
    let key = KeyPair::generate()?;
    let cert = params(names)?.self_signed(&key)?;
    fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_owned(),
        source,
    })?;
    // Key first: a crash in between leaves a mismatch, which the next start
    // detects and repairs by generating again.
    write_file(key_file, key.serialize_pem().as_bytes(), Access::Private)?;
    write_file(cert_file, cert.pem().as_bytes(), Access::Public)?;
    Ok(cert.der().clone())
}

fn params(names: &[Name]) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    params.subject_alt_names = names
        .iter()
        .map(|name| match name {
            Name::Dns(dns) => Ok(SanType::DnsName(dns.clone().try_into()?)),
            Name::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "gannet localserve");
    // Apple platforms require the serverAuth purpose on TLS server certificates.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + VALIDITY;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;

    use super::*;

    #[test]
    fn reuses_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(dir.path(), &[]).unwrap();
        let again = load_or_generate(dir.path(), &[]).unwrap();
        assert_eq!(first.cert, again.cert);
        assert_eq!(first.key_file, dir.path().join(KEY_FILE));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&first.key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn has_the_local_and_given_names() {
        let dir = tempfile::tempdir().unwrap();
        let cert = load_or_generate(dir.path(), &["Mail.Test", "192.0.2.1"]).unwrap();
        let want = wanted_names(&["mail.test", "192.0.2.1"]);
        assert_eq!(want.len(), 5);
        let provider = aws_lc_rs::default_provider;
        serves(&cert.cert, &want, UnixTime::now(), provider()).unwrap();
        for other in ["other.test", "192.0.2.2", "::2"] {
            assert_eq!(
                serves(
                    &cert.cert,
                    &wanted_names(&[other]),
                    UnixTime::now(),
                    provider()
                ),
                Err(format!("lacks {:?}", wanted_names(&[other])[3]))
            );
        }
        // Asking for a subset reuses it; a new name makes a new one.
        let again = load_or_generate(dir.path(), &["mail.test"]).unwrap();
        assert_eq!(again.cert, cert.cert);
        let other = load_or_generate(dir.path(), &["other.test"]).unwrap();
        assert_ne!(other.cert, cert.cert);
    }

    #[test]
    fn replaces_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(dir.path(), &[]).unwrap();
        fs::write(&first.cert_file, "garbage").unwrap();
        let second = load_or_generate(dir.path(), &[]).unwrap();
        assert_ne!(first.cert, second.cert);
        let on_disk = CertificateDer::from_pem_file(&second.cert_file).unwrap();
        assert_eq!(on_disk, second.cert);
    }

    /// Replaced when expired or expiring within 30 days, kept otherwise.
    #[test]
    fn replaces_an_expiring_certificate() {
        let names = wanted_names(&[]);
        for (days_left, kept) in [(-1, false), (29, false), (31, true)] {
            let dir = tempfile::tempdir().unwrap();
            let key = KeyPair::generate().unwrap();
            let mut old = params(&names).unwrap();
            old.not_before = OffsetDateTime::now_utc() - Duration::days(300);
            old.not_after = OffsetDateTime::now_utc() + Duration::days(days_left);
            let old = old.self_signed(&key).unwrap();
            let (cert_file, key_file) = (dir.path().join(CERT_FILE), dir.path().join(KEY_FILE));
            write_file(&key_file, key.serialize_pem().as_bytes(), Access::Private).unwrap();
            write_file(&cert_file, old.pem().as_bytes(), Access::Public).unwrap();
            let reused = reusable(&cert_file, &key_file, &names);
            if !kept {
                let why = reused.unwrap_err();
                assert!(why.contains("expires within 30 days"), "{why}");
            }
            let new = load_or_generate(dir.path(), &[]).unwrap();
            assert_eq!(&new.cert == old.der(), kept, "{days_left} days left");
        }
    }
}
