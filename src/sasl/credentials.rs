//! What an account stores so that every mechanism can check a password without
//! the password: an argon2id hash for PLAIN and LOGIN, SCRAM salted keys for
//! each hash, and the CRAM-MD5 intermediate state.

use std::fmt;
use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

use super::SaslError;
use super::cram_md5::CramMd5Secret;
use super::prep::prepare;
use super::scram::{ScramCredentials, ScramHash};

/// The first line of the text form; a later format gets a new number.
const VERSION_LINE: &str = "gannet-credentials 1";

/// The derived credentials of one account.
///
/// The text form ([`StoredCredentials::to_text`]) is one line per scheme after
/// a version line:
///
/// ```text
/// gannet-credentials 1
/// argon2id $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
/// scram-sha-1 <iterations>:<salt>$<StoredKey>:<ServerKey>
/// scram-sha-256 <iterations>:<salt>$<StoredKey>:<ServerKey>
/// cram-md5 <64 hex digits: MD5 state after key^opad, then after key^ipad>
/// ```
///
/// The argon2id value is its PHC string; the SCRAM values are RFC 5803's
/// authPassword form without the scheme name (salt and keys in base64).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    pub(super) password_hash: String,
    pub(super) scram_sha1: ScramCredentials,
    pub(super) scram_sha256: ScramCredentials,
    pub(super) cram_md5: CramMd5Secret,
}

/// Text that is not a [`StoredCredentials::to_text`] form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored credentials: {0}")]
pub struct CredentialsFormatError(String);

impl StoredCredentials {
    /// Everything every mechanism needs, from the password after SASLprep.
    pub fn derive(password: &str) -> Result<StoredCredentials, SaslError> {
        let password = prepare(password, "the password")?;
        let scram = |hash| ScramCredentials::derive(hash, &password);
        Ok(StoredCredentials {
            password_hash: hash_password(&password),
            scram_sha1: scram(ScramHash::Sha1),
            scram_sha256: scram(ScramHash::Sha256),
            cram_md5: CramMd5Secret::derive(&password),
        })
    }

    /// The stable text form described on the type, ending with a line feed.
    pub fn to_text(&self) -> String {
        let lines = [
            VERSION_LINE.to_owned(),
            format!("argon2id {}", self.password_hash),
            format!("scram-sha-1 {}", self.scram_sha1.to_text()),
            format!("scram-sha-256 {}", self.scram_sha256.to_text()),
            format!("cram-md5 {}", self.cram_md5.to_text()),
        ];
        lines.map(|line| line + "\n").concat()
    }

    /// Reads [`StoredCredentials::to_text`]'s form: every scheme exactly once,
    /// in any order.
    pub fn from_text(text: &str) -> Result<StoredCredentials, CredentialsFormatError> {
        let error = |m: String| CredentialsFormatError(m);
        let mut lines = text.lines();
        if lines.next() != Some(VERSION_LINE) {
            return Err(error(format!("the first line must be {VERSION_LINE:?}")));
        }
        let mut schemes: [Option<&str>; 4] = [None; 4];
        for line in lines {
            let (scheme, value) = line
                .split_once(' ')
                .ok_or_else(|| error(format!("expected 'scheme value' in {line:?}")))?;
            let slot = match scheme {
                "argon2id" => 0,
                "scram-sha-1" => 1,
                "scram-sha-256" => 2,
                "cram-md5" => 3,
                _ => return Err(error(format!("unknown scheme {scheme:?}"))),
            };
            if schemes[slot].replace(value).is_some() {
                return Err(error(format!("scheme {scheme:?} appears twice")));
            }
        }
        let [Some(argon2id), Some(sha1), Some(sha256), Some(cram_md5)] = schemes else {
            return Err(error(
                "every scheme (argon2id, scram-sha-1, scram-sha-256, cram-md5) is needed".into(),
            ));
        };
        let scram = |hash, scheme, value| {
            ScramCredentials::from_text(hash, value)
                .ok_or_else(|| error(format!("invalid {scheme} value")))
        };
        Ok(StoredCredentials {
            password_hash: check_password_hash(argon2id)
                .ok_or_else(|| error("invalid argon2id PHC string".into()))?,
            scram_sha1: scram(ScramHash::Sha1, "scram-sha-1", sha1)?,
            scram_sha256: scram(ScramHash::Sha256, "scram-sha-256", sha256)?,
            cram_md5: CramMd5Secret::from_text(cram_md5)
                .ok_or_else(|| error("cram-md5 must be 64 lowercase hex digits".into()))?,
        })
    }

    /// Whether a prepared password matches the argon2id hash.
    pub(super) fn verify_password(&self, password: &str) -> bool {
        argon2_matches(password.as_bytes(), &self.password_hash)
    }

    pub(super) fn scram(&self, hash: ScramHash) -> &ScramCredentials {
        match hash {
            ScramHash::Sha1 => &self.scram_sha1,
            ScramHash::Sha256 => &self.scram_sha256,
        }
    }
}

/// Secrets stay out of logs, even hashed ones.
impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials").finish_non_exhaustive()
    }
}

/// Work memory of argon2id checks, kept for the next check. Each check needs its
/// m_cost (19 MiB by default); allocating it afresh left that much with the
/// allocator in every blocking thread that ever checked a password (RSS grew by
/// hundreds of MiB under many logins). Checks run at most one per CPU (the
/// authenticator's gate), so the pool stays that small.
static BLOCKS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `f` with `count` argon2 blocks from the pool.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let taken = BLOCKS.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut blocks = match taken {
        Some(b) if b.len() == count => b,
        _ => vec![Block::default(); count],
    };
    let result = f(&mut blocks);
    let mut pool = BLOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if pool.len() < cpus {
        pool.push(blocks);
    }
    result
}

/// Whether `password` hashes to the PHC string's argon2id hash, with its salt and
/// parameters, computed in pooled memory.
fn argon2_matches(password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(params), Ok(version)) = (
        Params::try_from(&hash),
        hash.version
            .map_or(Ok(Version::default()), Version::try_from),
    ) else {
        return false;
    };
    let argon2 = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let hashed = with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, salt, &mut out, blocks)
    });
    // Output's equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|o| &o == expected)
}

fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2id with default parameters and a random salt")
        .to_string()
}

fn check_password_hash(phc: &str) -> Option<String> {
    let hash = PasswordHash::new(phc).ok()?;
    (hash.algorithm == argon2::ARGON2ID_IDENT && hash.hash.is_some()).then(|| phc.to_owned())
}

/// The work of a password check for a user who does not exist, so that the
/// time taken does not tell which users do. The result is thrown away.
pub(super) fn dummy_verify_password(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("no account has this password"));
    let _ = argon2_matches(password.as_bytes(), hash);
}

/// A CRAM-MD5 secret to compute with for a user who does not exist.
pub(super) fn dummy_cram_md5() -> &'static CramMd5Secret {
    static DUMMY: OnceLock<CramMd5Secret> = OnceLock::new();
    DUMMY.get_or_init(|| CramMd5Secret::derive("no account has this password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let credentials = StoredCredentials::derive("pencil").unwrap();
        let text = credentials.to_text();
        assert!(
            text.starts_with("gannet-credentials 1\nargon2id $argon2id$v=19$m=19456,t=2,p=1$"),
            "{text}"
        );
        assert!(!text.contains("pencil"));
        assert_eq!(text.lines().count(), 5);
        assert_eq!(StoredCredentials::from_text(&text), Ok(credentials.clone()));
        // Any order of the scheme lines.
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1..].reverse();
        assert_eq!(
            StoredCredentials::from_text(&lines.join("\n")),
            Ok(credentials)
        );
    }

    #[test]
    fn text_errors_are_refused() {
        let text = StoredCredentials::derive("pencil").unwrap().to_text();
        let lines: Vec<&str> = text.lines().collect();
        let without = |i: usize| {
            let mut l = lines.clone();
            l.remove(i);
            l.join("\n")
        };
        let replaced = |i: usize, with: &str| {
            let mut l = lines.clone();
            l[i] = with;
            l.join("\n")
        };
        let bad = [
            String::new(),
            without(0),
            without(2),
            format!("{text}{}\n", lines[3]),
            replaced(0, "gannet-credentials 2"),
            replaced(1, "argon2id $argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaA"),
            replaced(1, "argon2id not-a-phc"),
            replaced(2, "scram-sha-1 4096:c2FsdA==$AAAA:AAAA"),
            replaced(
                2,
                "scram-sha-1 0:c2FsdA==$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
            ),
            replaced(
                3,
                "scram-sha-256 4096:c2FsdA==$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
            ),
            replaced(4, "cram-md5 00"),
            replaced(4, "md5 00"),
            replaced(4, "cram-md5"),
        ];
        for text in bad {
            assert!(StoredCredentials::from_text(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn password_is_prepared_and_checked() {
        let credentials = StoredCredentials::derive("I\u{ad}X").unwrap();
        assert!(credentials.verify_password("IX"));
        assert!(!credentials.verify_password("I\u{ad}X"));
        assert!(!credentials.verify_password("ix"));
        assert_eq!(
            StoredCredentials::derive("").unwrap_err(),
            SaslError::Unpreparable("the password")
        );
        assert!(StoredCredentials::derive("bell\u{7}").is_err());
        assert_eq!(format!("{credentials:?}"), "StoredCredentials { .. }");
    }
}
