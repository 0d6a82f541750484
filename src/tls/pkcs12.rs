//! A PKCS#12 (.p12) writer for one private key and its certificate, the form
//! OpenSSL 3 writes by default (RFC 7292, RFC 8018):
//!
//! ```text
//! PFX { version 3,
//!       authSafe: data [ encryptedData (PBES2) { CertBag },
//!                        data { PKCS8ShroudedKeyBag (PBES2) } ],
//!       macData: HMAC-SHA256, key from the PKCS#12 KDF (appendix B) }
//! ```
//!
//! PBES2 is PBKDF2-HMAC-SHA256 with AES-256-CBC. The legacy RC2/3DES with
//! SHA-1 format (`openssl pkcs12 -legacy`), which some old systems still need,
//! is not written: its ciphers are broken. All crypto is aws-lc-rs; yasna
//! writes the DER.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{AES_256, PaddedBlockEncryptingKey, UnboundCipherKey};
use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::{hmac, pbkdf2, rand};
use yasna::models::ObjectIdentifier;
use yasna::{DERWriter, Tag};

/// PBKDF2 and MAC iterations. OpenSSL 3 uses 2048; more costs a guesser more
/// and is still instant for the user.
const ITERATIONS: NonZeroU32 = NonZeroU32::new(10_000).unwrap();
/// NIST SP 800-132 asks for at least 128 bits of PBKDF2 salt.
const PBKDF2_SALT_LEN: usize = 16;
/// As OpenSSL writes.
const MAC_SALT_LEN: usize = 8;
/// RFC 7292 B.3: the PKCS#12 KDF makes a MAC key when its ID byte is 3.
const KDF_ID_MAC: u8 = 3;

// Object identifiers.
/// RFC 5652 id-data.
const DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];
/// RFC 5652 id-encryptedData.
const ENCRYPTED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 6];
/// RFC 7292 pkcs-12-pkcs-8ShroudedKeyBag.
const SHROUDED_KEY_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 2];
/// RFC 7292 pkcs-12-certBag.
const CERT_BAG: &[u64] = &[1, 2, 840, 113549, 1, 12, 10, 1, 3];
/// RFC 7292 x509Certificate (a certType of pkcs-9).
const X509_CERTIFICATE: &[u64] = &[1, 2, 840, 113549, 1, 9, 22, 1];
/// RFC 2985 pkcs-9-at-friendlyName.
const FRIENDLY_NAME: &[u64] = &[1, 2, 840, 113549, 1, 9, 20];
/// RFC 2985 pkcs-9-at-localKeyId.
const LOCAL_KEY_ID: &[u64] = &[1, 2, 840, 113549, 1, 9, 21];
/// RFC 8018 id-PBES2.
const PBES2: &[u64] = &[1, 2, 840, 113549, 1, 5, 13];
/// RFC 8018 id-PBKDF2.
const PBKDF2: &[u64] = &[1, 2, 840, 113549, 1, 5, 12];
/// RFC 8018 id-hmacWithSHA256.
const HMAC_WITH_SHA256: &[u64] = &[1, 2, 840, 113549, 2, 9];
/// RFC 8018 aes256-CBC-PAD (NIST aes256-CBC).
const AES_256_CBC: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 1, 42];
/// RFC 5754 id-sha256.
const SHA_256: &[u64] = &[2, 16, 840, 1, 101, 3, 4, 2, 1];

/// A PKCS#12 file holding `pkcs8_der` (a PKCS#8 private key) and `cert_der`,
/// both labeled with `name` and `local_key_id`, protected with `password`.
/// Fails only if aws-lc-rs does (its random generator, say).
pub(super) fn write(
    name: &str,
    local_key_id: &[u8],
    pkcs8_der: &[u8],
    cert_der: &[u8],
    password: &str,
) -> Result<Vec<u8>, Unspecified> {
    let attributes = |w: DERWriter| bag_attributes(w, name, local_key_id);

    // The certificate, in its own encrypted SafeContents.
    let cert_bag = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&oid(X509_CERTIFICATE));
            w.next()
                .write_tagged(Tag::context(0), |w| w.write_bytes(cert_der));
        })
    });
    let certs = safe_contents(CERT_BAG, &cert_bag, attributes);
    let (certs_algorithm, certs_encrypted) = pbes2_encrypt(password, &certs)?;

    // The key: encrypted by itself (EncryptedPrivateKeyInfo, RFC 5958), in a
    // plain SafeContents.
    let (key_algorithm, key_encrypted) = pbes2_encrypt(password, pkcs8_der)?;
    let shrouded_key = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&key_algorithm);
            w.next().write_bytes(&key_encrypted);
        })
    });
    let keys = safe_contents(SHROUDED_KEY_BAG, &shrouded_key, attributes);

    // AuthenticatedSafe: a sequence of ContentInfo.
    let auth_safe = yasna::construct_der(|w| {
        w.write_sequence_of(|w| {
            content_info(w.next(), ENCRYPTED_DATA, |w| {
                w.write_sequence(|w| {
                    w.next().write_u8(0); // EncryptedData version
                    // EncryptedContentInfo
                    w.next().write_sequence(|w| {
                        w.next().write_oid(&oid(DATA));
                        w.next().write_der(&certs_algorithm);
                        w.next().write_tagged_implicit(Tag::context(0), |w| {
                            w.write_bytes(&certs_encrypted)
                        });
                    });
                })
            });
            content_info(w.next(), DATA, |w| w.write_bytes(&keys));
        })
    });

    // The MAC covers the contents of the authSafe OCTET STRING.
    let mut mac_salt = [0; MAC_SALT_LEN];
    rand::fill(&mut mac_salt)?;
    let mut mac_key = [0; digest::SHA256_OUTPUT_LEN];
    pkcs12_kdf(
        KDF_ID_MAC,
        &bmp_password(password),
        &mac_salt,
        ITERATIONS,
        &mut mac_key,
    );
    let mac = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &mac_key), &auth_safe);

    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(3); // version v3
            content_info(w.next(), DATA, |w| w.write_bytes(&auth_safe));
            // MacData
            w.next().write_sequence(|w| {
                // DigestInfo
                w.next().write_sequence(|w| {
                    algorithm_with_null(w.next(), SHA_256);
                    w.next().write_bytes(mac.as_ref());
                });
                w.next().write_bytes(&mac_salt);
                w.next().write_u32(ITERATIONS.get());
            });
        })
    }))
}

fn oid(components: &[u64]) -> ObjectIdentifier {
    ObjectIdentifier::from_slice(components)
}

/// ContentInfo (RFC 5652): a content type and its content, explicitly tagged.
fn content_info(w: DERWriter, content_type: &[u64], content: impl FnOnce(DERWriter)) {
    w.write_sequence(|w| {
        w.next().write_oid(&oid(content_type));
        w.next().write_tagged(Tag::context(0), content);
    });
}

/// The DER of a SafeContents holding one SafeBag.
fn safe_contents(bag_id: &[u64], bag_value: &[u8], attributes: impl FnOnce(DERWriter)) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence_of(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&oid(bag_id));
                w.next()
                    .write_tagged(Tag::context(0), |w| w.write_der(bag_value));
                attributes(w.next());
            });
        })
    })
}

/// The friendlyName a client shows, and the localKeyId that pairs the key
/// with its certificate.
fn bag_attributes(w: DERWriter, name: &str, local_key_id: &[u8]) {
    w.write_set_of(|w| {
        w.next().write_sequence(|w| {
            w.next().write_oid(&oid(FRIENDLY_NAME));
            w.next().write_set_of(|w| w.next().write_bmp_string(name));
        });
        w.next().write_sequence(|w| {
            w.next().write_oid(&oid(LOCAL_KEY_ID));
            w.next()
                .write_set_of(|w| w.next().write_bytes(local_key_id));
        });
    });
}

/// An AlgorithmIdentifier whose parameters are NULL.
fn algorithm_with_null(w: DERWriter, algorithm: &[u64]) {
    w.write_sequence(|w| {
        w.next().write_oid(&oid(algorithm));
        w.next().write_null();
    });
}

/// RFC 8018 PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (PKCS#7 padding),
/// a fresh salt and IV: the DER of its AlgorithmIdentifier, and the ciphertext.
/// As OpenSSL does, PBKDF2 gets the password's UTF-8 bytes.
fn pbes2_encrypt(password: &str, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Unspecified> {
    let mut salt = [0; PBKDF2_SALT_LEN];
    rand::fill(&mut salt)?;
    let mut key = [0; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        ITERATIONS,
        &salt,
        password.as_bytes(),
        &mut key,
    );
    let key = PaddedBlockEncryptingKey::cbc_pkcs7(UnboundCipherKey::new(&AES_256, &key)?)?;
    let mut ciphertext = plaintext.to_vec();
    // aws-lc-rs picks a random IV and returns it.
    let context = key.encrypt(&mut ciphertext)?;
    let iv: &[u8] = (&context).try_into()?;

    let algorithm = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&oid(PBES2));
            // PBES2-params
            w.next().write_sequence(|w| {
                // keyDerivationFunc
                w.next().write_sequence(|w| {
                    w.next().write_oid(&oid(PBKDF2));
                    // PBKDF2-params; keyLength is left out, AES-256 fixes it.
                    w.next().write_sequence(|w| {
                        w.next().write_bytes(&salt);
                        w.next().write_u32(ITERATIONS.get());
                        algorithm_with_null(w.next(), HMAC_WITH_SHA256);
                    });
                });
                // encryptionScheme
                w.next().write_sequence(|w| {
                    w.next().write_oid(&oid(AES_256_CBC));
                    w.next().write_bytes(iv);
                });
            });
        })
    });
    Ok((algorithm, ciphertext))
}

/// RFC 7292 B.1: the password as a BMPString (big-endian UTF-16), with two
/// zero bytes at the end. Characters beyond the BMP become surrogate pairs,
/// as in OpenSSL.
fn bmp_password(password: &str) -> Vec<u8> {
    password
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_be_bytes)
        .collect()
}

/// RFC 7292 B.2, the PKCS#12 key derivation function, with SHA-256 (as
/// OpenSSL 3 uses it for HMAC-SHA256 MACs). `password` is already a BMPString.
fn pkcs12_kdf(id: u8, password: &[u8], salt: &[u8], iterations: NonZeroU32, out: &mut [u8]) {
    // v: the hash's block length in bytes; u: its output length.
    let v = SHA256.block_len();
    let u = SHA256.output_len();
    let diversifier = vec![id; v];
    // S and P: the salt and the password each repeated to a multiple of v bytes.
    let repeat = |x: &[u8]| -> Vec<u8> {
        x.iter()
            .copied()
            .cycle()
            .take(x.len().div_ceil(v) * v)
            .collect()
    };
    let mut input = [repeat(salt), repeat(password)].concat();

    for chunk in out.chunks_mut(u) {
        // A = H^r(D || I)
        let mut context = digest::Context::new(&SHA256);
        context.update(&diversifier);
        context.update(&input);
        let mut a = context.finish();
        for _ in 1..iterations.get() {
            a = digest::digest(&SHA256, a.as_ref());
        }
        chunk.copy_from_slice(&a.as_ref()[..chunk.len()]);

        // For the next round, each v-byte block I_j of I becomes
        // (I_j + B + 1) mod 2^(8v), where B is A repeated to v bytes.
        let b: Vec<u8> = a.as_ref().iter().copied().cycle().take(v).collect();
        for block in input.chunks_mut(v) {
            let mut carry = 1;
            for (x, y) in block.iter_mut().zip(&b).rev() {
                let [high, low] = (u16::from(*x) + u16::from(*y) + carry).to_be_bytes();
                *x = low;
                carry = u16::from(high);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn bmp_password_is_utf16_with_a_terminator() {
        assert_eq!(bmp_password("sesame"), b"\0s\0e\0s\0a\0m\0e\0\0");
        assert_eq!(bmp_password(""), [0, 0]);
        assert_eq!(
            bmp_password("é𝄞"),
            [0x00, 0xe9, 0xd8, 0x34, 0xdd, 0x1e, 0, 0]
        );
    }

    /// Expected values from OpenSSL 3: `openssl kdf -keylen 70 -kdfopt digest:SHA256
    /// -kdfopt hexpass:0073006500730061006d00650000 -kdfopt hexsalt:0102030405060708
    /// -kdfopt iter:3 -kdfopt id:3 PKCS12KDF` (and -keylen 32, iter:2048).
    #[test]
    fn kdf_agrees_with_openssl() {
        let password = bmp_password("sesame");
        let salt = [1, 2, 3, 4, 5, 6, 7, 8];

        // More than two blocks of output, the last one partial.
        let mut out = [0; 70];
        pkcs12_kdf(3, &password, &salt, NonZeroU32::new(3).unwrap(), &mut out);
        assert_eq!(
            hex(&out),
            "d90e2eac689525eb1b78f85c12c23d3c9e2a24b2cc9887fddacf14b435b6186e\
             b326625e696ffa528680346240ea7cac4fdcc87e5833b49e3d43ff837e074fe7\
             756d105d5bfd"
        );

        let mut out = [0; 32];
        pkcs12_kdf(
            3,
            &password,
            &salt,
            NonZeroU32::new(2048).unwrap(),
            &mut out,
        );
        assert_eq!(
            hex(&out),
            "387e92981f3af02830d01363708fdf6f85b057dcdb05db4a9517f71109cb2d56"
        );
    }
}
