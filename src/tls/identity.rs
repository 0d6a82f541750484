//! Client identities for `gannet config tlspubkey gen`: a key pair and a minimal
//! certificate for one device, as PEM and as a PKCS#12 file that mail clients
//! import. The server only ever looks at the public key (see [`SpkiFingerprint`]).

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use super::{SpkiFingerprint, TlsError, pkcs12};

/// A generated private key with its certificate, in the forms a user needs.
#[derive(Clone)]
pub struct ClientIdentity {
    /// PKCS#8, "-----BEGIN PRIVATE KEY-----".
    pub key_pem: String,
    pub cert_pem: String,
    /// What to register on the account.
    pub fingerprint: SpkiFingerprint,
    /// Key and certificate in a PKCS#12 (.p12) file, encrypted with the given password.
    pub p12: Vec<u8>,
}

/// Keeps the private key out of logs.
impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Generates an ECDSA P-256 key, which mail clients that import PKCS#12
/// support (Ed25519 is not widely supported yet), and a self-signed
/// certificate for it with `common_name` as subject, for the user to recognize
/// it in a client's list.
pub fn generate_identity(
    common_name: &str,
    p12_password: &str,
) -> Result<ClientIdentity, TlsError> {
    let key = KeyPair::generate()?;
    let cert = params(common_name).self_signed(&key)?;
    let fingerprint = SpkiFingerprint::of_certificate(cert.der())?;
    // The localKeyId pairs the key with its certificate; any unique bytes do.
    let p12 = pkcs12::write(
        common_name,
        fingerprint.as_bytes(),
        &key.serialize_der(),
        cert.der(),
        p12_password,
    )
    .map_err(TlsError::Pkcs12)?;
    Ok(ClientIdentity {
        key_pem: key.serialize_pem(),
        cert_pem: cert.pem(),
        fingerprint,
        p12,
    })
}

fn params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    // Some clients offer only certificates meant for client authentication.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    // RFC 5280 4.1.2.5: 99991231235959Z means "no well-defined expiration date".
    // The certificate only carries the key, so it should never need replacing.
    params.not_after = rcgen::date_time_ymd(9999, 12, 31) + Duration::seconds(86_399);
    params
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    use super::*;

    fn have(program: &str, args: &[&str]) -> bool {
        let found = Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            println!("skipped: {program} {args:?} does not run");
        }
        found
    }

    /// Reads it back with OpenSSL: the structure and algorithms we claim, the
    /// certificate with its attributes, and a refusal of a wrong password.
    #[test]
    fn p12_holds_the_key_and_certificate() {
        if !have("openssl", &["version"]) {
            return;
        }
        let identity = generate_identity("laptop", "sesame").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p12 = dir.path().join("x.p12");
        std::fs::write(&p12, &identity.p12).unwrap();
        let p12 = p12.to_str().unwrap();
        let openssl = |password: &str, extra: &[&str]| {
            let pass = format!("pass:{password}");
            let mut args = vec!["pkcs12", "-in", p12, "-passin", &pass];
            args.extend(extra);
            Command::new("openssl").args(&args).output().unwrap()
        };

        let out = openssl("sesame", &["-info", "-noout"]);
        let info = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{info}");
        for want in [
            "MAC: sha256, Iteration 10000",
            "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256",
            "Certificate bag",
            "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 10000, PRF hmacWithSHA256",
        ] {
            assert!(info.contains(want), "{want:?} not in {info}");
        }

        let out = openssl("sesame", &["-nokeys"]);
        assert!(out.status.success());
        let pem = String::from_utf8(out.stdout).unwrap();
        let key_id: Vec<String> = identity
            .fingerprint
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert!(pem.contains("friendlyName: laptop"), "{pem}");
        assert!(
            pem.contains(&format!("localKeyID: {}", key_id.join(" "))),
            "{pem}"
        );
        let cert = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(
            SpkiFingerprint::of_certificate(&cert).unwrap(),
            identity.fingerprint
        );

        let out = openssl("wrong", &["-info", "-noout"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Mac verify error"), "{err}");
    }

    /// Another reader: Python's `cryptography` package (on OpenSSL too, but
    /// through its own PKCS#12 loading code), if it is installed.
    #[test]
    fn python_cryptography_reads_the_p12() {
        if !have(
            "python3",
            &[
                "-c",
                "from cryptography.hazmat.primitives.serialization import pkcs12",
            ],
        ) {
            return;
        }
        let identity = generate_identity("laptop", "sesame").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p12 = dir.path().join("x.p12");
        std::fs::write(&p12, &identity.p12).unwrap();
        let script = r#"
import sys
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12
p12 = pkcs12.load_pkcs12(open(sys.argv[1], "rb").read(), sys.argv[2].encode())
spki = p12.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
cert = p12.cert.certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
assert spki == cert
print(p12.cert.friendly_name.decode(), spki.hex())
"#;
        let run = |password: &str| {
            Command::new("python3")
                .args(["-c", script, p12.to_str().unwrap(), password])
                .output()
                .unwrap()
        };
        let out = run("sesame");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = String::from_utf8(out.stdout).unwrap();
        let (name, spki) = out.trim().split_once(' ').unwrap();
        assert_eq!(name, "laptop");
        let spki: Vec<u8> = (0..spki.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&spki[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(SpkiFingerprint::of_spki(&spki), identity.fingerprint);
        assert!(!run("wrong").status.success());
    }

    /// The same check a user can make: OpenSSL opens the file with the password,
    /// and the key inside has the fingerprint we report.
    #[test]
    fn openssl_reads_the_p12() {
        if !have("openssl", &["version"]) {
            return;
        }
        let identity = generate_identity("laptop", "sesame").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p12 = dir.path().join("x.p12");
        std::fs::write(&p12, &identity.p12).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).output().unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let p12 = p12.to_str().unwrap();
        let info = openssl(&[
            "pkcs12",
            "-info",
            "-in",
            p12,
            "-passin",
            "pass:sesame",
            "-noenc",
        ]);
        let info = String::from_utf8(info).unwrap();
        assert!(info.contains("BEGIN CERTIFICATE"), "{info}");
        assert!(info.contains("BEGIN PRIVATE KEY"), "{info}");

        let key = dir.path().join("key.pem");
        std::fs::write(
            &key,
            openssl(&[
                "pkcs12",
                "-in",
                p12,
                "-passin",
                "pass:sesame",
                "-nocerts",
                "-noenc",
            ]),
        )
        .unwrap();
        let spki = openssl(&[
            "pkey",
            "-in",
            key.to_str().unwrap(),
            "-pubout",
            "-outform",
            "DER",
        ]);
        assert_eq!(SpkiFingerprint::of_spki(&spki), identity.fingerprint);
    }

    #[test]
    fn pem_forms_parse() {
        use rustls::pki_types::PrivateKeyDer;

        let identity = generate_identity("laptop", "sesame").unwrap();
        assert!(identity.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(matches!(
            PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()),
            Ok(PrivateKeyDer::Pkcs8(_))
        ));
        let cert = CertificateDer::from_pem_slice(identity.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            SpkiFingerprint::of_certificate(&cert).unwrap(),
            identity.fingerprint
        );
        assert!(!format!("{identity:?}").contains("PRIVATE"));
    }
}
