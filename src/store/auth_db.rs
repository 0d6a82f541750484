//! Server-wide authentication state in `DATA_DIR/auth.db`: each account's derived
//! credentials, the TLS client public keys registered on accounts, and the record of
//! login attempts.
//!
//! It lives apart from the account databases so that the CLI can change a password
//! or a key while the server runs without opening (and recovering) an account, and
//! so that a login can be checked without opening the account's mail.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, schema};

/// The file in the data directory.
pub const AUTH_DB_FILE: &str = "auth.db";

/// How long login attempts are kept, and how many per account at most.
pub const LOGIN_RECORD_DAYS: i64 = 30;
pub const LOGIN_RECORDS_PER_ACCOUNT: usize = 10_000;
const PRUNE_EVERY: i64 = 100;

const MIGRATIONS: &[&str] = &[
    // 1: credentials, TLS client keys, login records.
    r#"
    CREATE TABLE credentials (
        account TEXT PRIMARY KEY,
        -- The sasl module's text form: password hash and SCRAM/CRAM-MD5 state,
        -- never the password.
        secrets TEXT NOT NULL,
        updated INTEGER NOT NULL
    );

    CREATE TABLE tls_pubkey (
        fingerprint BLOB PRIMARY KEY,   -- SHA-256 of the SubjectPublicKeyInfo
        account TEXT NOT NULL,
        login_address TEXT NOT NULL,
        name TEXT NOT NULL,
        no_imap_preauth INTEGER NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE INDEX tls_pubkey_account ON tls_pubkey (account);

    -- One row per distinct attempt; repeats only count up and move `last`.
    CREATE TABLE login_attempt (
        id INTEGER PRIMARY KEY,
        protocol TEXT NOT NULL,
        mechanism TEXT NOT NULL,
        login TEXT NOT NULL,
        account TEXT NOT NULL,          -- '' when the login name is unknown
        remote_ip TEXT NOT NULL,
        tls TEXT NOT NULL,              -- '' without TLS
        user_agent TEXT NOT NULL,       -- '' when the client did not say
        result TEXT NOT NULL,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL,
        count INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX login_attempt_key ON login_attempt
        (account, login, protocol, mechanism, remote_ip, tls, user_agent, result);
    CREATE INDEX login_attempt_last ON login_attempt (account, last);
    "#,
    // 2: a random server secret, made once (see `AuthDb::secret`).
    r#"
    CREATE TABLE server_secret (id INTEGER PRIMARY KEY CHECK (id = 1), value BLOB NOT NULL);
    "#,
];

/// A TLS client key registered on an account: a client presenting a certificate
/// with this public key is logged in as `login_address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPubKey {
    pub fingerprint: [u8; 32],
    pub account: String,
    pub login_address: String,
    /// Free text, e.g. the device.
    pub name: String,
    /// IMAP greets such a client with OK, not PREAUTH, so it can log in as someone else.
    pub no_imap_preauth: bool,
    /// Unix seconds.
    pub created: i64,
}

/// What came of a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginResult {
    Success,
    /// Wrong password or proof, or unknown login name.
    BadCredentials,
    /// The client message did not follow the mechanism.
    Malformed,
    /// SCRAM-PLUS channel binding did not match, or a downgrade was detected.
    ChannelBinding,
    /// The account or its domain has logins disabled.
    Disabled,
    /// Too many failures from the client's network.
    RateLimited,
    /// The client cancelled the exchange.
    Cancelled,
}

impl LoginResult {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginResult::Success => "ok",
            LoginResult::BadCredentials => "bad-credentials",
            LoginResult::Malformed => "malformed",
            LoginResult::ChannelBinding => "channel-binding",
            LoginResult::Disabled => "disabled",
            LoginResult::RateLimited => "rate-limited",
            LoginResult::Cancelled => "cancelled",
        }
    }

    /// The result a record names; text a newer gannet wrote shows as malformed.
    fn parse(s: &str) -> LoginResult {
        [
            LoginResult::Success,
            LoginResult::BadCredentials,
            LoginResult::ChannelBinding,
            LoginResult::Disabled,
            LoginResult::RateLimited,
            LoginResult::Cancelled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .unwrap_or(LoginResult::Malformed)
    }
}

/// One login attempt, as the protocol saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// "submission", "imap", "web", ...
    pub protocol: String,
    /// SASL mechanism name, or "password" for IMAP LOGIN and web forms.
    pub mechanism: String,
    pub login: String,
    /// The account the login name belongs to, if any.
    pub account: Option<String>,
    pub remote_ip: IpAddr,
    /// TLS version and cipher suite, when encrypted.
    pub tls: Option<String>,
    /// The client's name and version, from IMAP ID or an HTTP User-Agent.
    pub user_agent: Option<String>,
    pub result: LoginResult,
}

/// Attempts grouped: identical ones are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub attempt: LoginAttempt,
    /// Unix seconds of the first and the latest of these attempts.
    pub first: i64,
    pub last: i64,
    pub count: u64,
}

/// The open authentication database.
pub struct AuthDb {
    db: Connection,
}

impl AuthDb {
    /// Opens (or creates) `DATA_DIR/auth.db`. The file holds what logs accounts in,
    /// so it is created readable by its owner only (SQLite gives its WAL files the
    /// same mode), in a data directory created likewise.
    pub fn open(data_dir: &Path) -> Result<AuthDb, StoreError> {
        create_private_dir(data_dir).map_err(|e| StoreError::io(data_dir, e))?;
        let path = data_dir.join(AUTH_DB_FILE);
        create_private_file(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut db = Connection::open(&path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // Login records are many and small: NORMAL keeps the database consistent
        // and only risks the last records on power loss, where FULL would cost an
        // fsync per login attempt.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        // The CLI and the server may write at the same time.
        db.busy_timeout(Duration::from_secs(10))?;
        schema::apply(&mut db, MIGRATIONS)?;
        Ok(AuthDb { db })
    }

    /// A random secret made at first use and kept: SCRAM derives the fake salts
    /// of unknown users from it, so they stay the same across restarts.
    pub fn secret(&mut self) -> Result<[u8; 32], StoreError> {
        let tx = self.db.transaction()?;
        let stored: Option<Vec<u8>> = tx
            .query_row("SELECT value FROM server_secret WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        let secret = match stored.and_then(|v| <[u8; 32]>::try_from(v).ok()) {
            Some(secret) => secret,
            None => {
                let secret: [u8; 32] = rand::random();
                tx.execute(
                    "INSERT OR REPLACE INTO server_secret (id, value) VALUES (1, ?)",
                    [&secret[..]],
                )?;
                secret
            }
        };
        tx.commit()?;
        Ok(secret)
    }

    /// The account's credentials in the sasl module's text form, if it has a password.
    pub fn credentials(&self, account: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT secrets FROM credentials WHERE account = ?",
                [account],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Replaces the account's credentials; `None` removes them (no password login).
    pub fn set_credentials(
        &mut self,
        account: &str,
        secrets: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        match secrets {
            Some(s) => self.db.execute(
                "INSERT INTO credentials (account, secrets, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account) DO UPDATE SET secrets = ?2, updated = ?3",
                params![account, s, now],
            )?,
            None => self
                .db
                .execute("DELETE FROM credentials WHERE account = ?", [account])?,
        };
        Ok(())
    }

    /// Registers a client key; a fingerprint can belong to one account only.
    pub fn add_tls_pubkey(&mut self, key: &TlsPubKey) -> Result<(), StoreError> {
        let inserted = self.db.execute(
            "INSERT INTO tls_pubkey
                 (fingerprint, account, login_address, name, no_imap_preauth, created)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            params![
                &key.fingerprint[..],
                key.account,
                key.login_address,
                key.name,
                key.no_imap_preauth,
                key.created
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::TlsPubKeyExists);
        }
        Ok(())
    }

    /// Removes a client key; whether it was registered.
    pub fn remove_tls_pubkey(&mut self, fingerprint: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.db.execute(
            "DELETE FROM tls_pubkey WHERE fingerprint = ?",
            [&fingerprint[..]],
        )? > 0)
    }

    pub fn tls_pubkey(&self, fingerprint: &[u8; 32]) -> Result<Option<TlsPubKey>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT fingerprint, account, login_address, name, no_imap_preauth, created
                 FROM tls_pubkey WHERE fingerprint = ?",
                [&fingerprint[..]],
                tls_pubkey_row,
            )
            .optional()?)
    }

    /// The registered keys, of one account or of all, by account and name.
    pub fn tls_pubkeys(&self, account: Option<&str>) -> Result<Vec<TlsPubKey>, StoreError> {
        let mut stmt = self.db.prepare(
            "SELECT fingerprint, account, login_address, name, no_imap_preauth, created
             FROM tls_pubkey WHERE ?1 IS NULL OR account = ?1 ORDER BY account, name",
        )?;
        let rows = stmt.query_map([account], tls_pubkey_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records an attempt at `now` (Unix seconds) and drops records older than
    /// [`LOGIN_RECORD_DAYS`] or beyond [`LOGIN_RECORDS_PER_ACCOUNT`].
    pub fn record_login(&mut self, a: &LoginAttempt, now: i64) -> Result<(), StoreError> {
        let tx = self.db.transaction()?;
        let account = a.account.as_deref().unwrap_or("");
        let (id, count): (i64, i64) = tx.query_row(
            "INSERT INTO login_attempt (protocol, mechanism, login, account, remote_ip, tls,
                 user_agent, result, first, last, count)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?9, ?9, 1)
             ON CONFLICT DO UPDATE SET last = max(last, excluded.last), count = count + 1
             RETURNING id, count",
            params![
                a.protocol,
                a.mechanism,
                a.login,
                account,
                a.remote_ip.to_string(),
                a.tls.as_deref().unwrap_or(""),
                a.user_agent.as_deref().unwrap_or(""),
                a.result.as_str(),
                now
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // Pruning walks the account's records, so it runs on every PRUNE_EVERY-th new
        // row only: between runs an account may briefly hold that many more.
        let new_row = count == 1;
        if new_row && id % PRUNE_EVERY == 0 {
            tx.execute(
                "DELETE FROM login_attempt WHERE last < ?",
                [now - LOGIN_RECORD_DAYS * 24 * 3600],
            )?;
            tx.execute(
                "DELETE FROM login_attempt WHERE account = ?1 AND id IN
                     (SELECT id FROM login_attempt WHERE account = ?1
                      ORDER BY last DESC, id DESC LIMIT -1 OFFSET ?2)",
                params![account, LOGIN_RECORDS_PER_ACCOUNT as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The latest `limit` records, of one account or of all, newest first.
    pub fn login_records(
        &self,
        account: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LoginRecord>, StoreError> {
        let mut stmt = self.db.prepare(
            "SELECT protocol, mechanism, login, account, remote_ip, tls, user_agent, result,
                 first, last, count
             FROM login_attempt WHERE ?1 IS NULL OR account = ?1
             ORDER BY last DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![account, limit as i64], login_record_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

fn tls_pubkey_row(r: &Row<'_>) -> rusqlite::Result<TlsPubKey> {
    let fingerprint: Vec<u8> = r.get(0)?;
    Ok(TlsPubKey {
        fingerprint: fingerprint.try_into().unwrap_or([0; 32]),
        account: r.get(1)?,
        login_address: r.get(2)?,
        name: r.get(3)?,
        no_imap_preauth: r.get(4)?,
        created: r.get(5)?,
    })
}

fn login_record_row(r: &Row<'_>) -> rusqlite::Result<LoginRecord> {
    let optional = |s: String| (!s.is_empty()).then_some(s);
    let ip: String = r.get(4)?;
    let result: String = r.get(7)?;
    Ok(LoginRecord {
        attempt: LoginAttempt {
            protocol: r.get(0)?,
            mechanism: r.get(1)?,
            login: r.get(2)?,
            account: optional(r.get(3)?),
            remote_ip: ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            tls: optional(r.get(5)?),
            user_agent: optional(r.get(6)?),
            result: LoginResult::parse(&result),
        },
        first: r.get(8)?,
        last: r.get(9)?,
        count: r.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(login: &str, result: LoginResult) -> LoginAttempt {
        LoginAttempt {
            protocol: "submission".into(),
            mechanism: "PLAIN".into(),
            login: login.into(),
            account: Some("alice".into()),
            remote_ip: "192.0.2.7".parse().unwrap(),
            tls: Some("TLS1.3 TLS_AES_128_GCM_SHA256".into()),
            user_agent: None,
            result,
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_the_owner_can_read_the_database() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        AuthDb::open(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(AUTH_DB_FILE)), 0o600);
    }

    #[test]
    fn the_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = AuthDb::open(dir.path()).unwrap().secret().unwrap();
        assert_ne!(first, [0; 32]);
        assert_eq!(AuthDb::open(dir.path()).unwrap().secret().unwrap(), first);
    }

    #[test]
    fn credentials_are_set_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = AuthDb::open(dir.path()).unwrap();
        assert_eq!(db.credentials("alice").unwrap(), None);
        db.set_credentials("alice", Some("v1"), 1).unwrap();
        db.set_credentials("alice", Some("v2"), 2).unwrap();
        let reopened = AuthDb::open(dir.path()).unwrap();
        assert_eq!(
            reopened.credentials("alice").unwrap().as_deref(),
            Some("v2")
        );
        db.set_credentials("alice", None, 3).unwrap();
        assert_eq!(db.credentials("alice").unwrap(), None);
    }

    #[test]
    fn a_tls_key_belongs_to_one_account() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = AuthDb::open(dir.path()).unwrap();
        let key = TlsPubKey {
            fingerprint: [7; 32],
            account: "alice".into(),
            login_address: "alice@example.org".into(),
            name: "laptop".into(),
            no_imap_preauth: true,
            created: 100,
        };
        db.add_tls_pubkey(&key).unwrap();
        let again = TlsPubKey {
            account: "bob".into(),
            ..key.clone()
        };
        assert!(matches!(
            db.add_tls_pubkey(&again),
            Err(StoreError::TlsPubKeyExists)
        ));
        assert_eq!(db.tls_pubkey(&[7; 32]).unwrap(), Some(key.clone()));
        assert_eq!(db.tls_pubkeys(Some("alice")).unwrap(), [key]);
        assert!(db.tls_pubkeys(Some("bob")).unwrap().is_empty());
        assert!(db.remove_tls_pubkey(&[7; 32]).unwrap());
        assert!(!db.remove_tls_pubkey(&[7; 32]).unwrap());
        assert_eq!(db.tls_pubkey(&[7; 32]).unwrap(), None);
    }

    #[test]
    fn identical_attempts_are_counted_and_old_ones_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = AuthDb::open(dir.path()).unwrap();
        let day = 24 * 3600;
        db.record_login(&attempt("alice", LoginResult::Success), 0)
            .unwrap();
        db.record_login(&attempt("alice", LoginResult::BadCredentials), 10 * day)
            .unwrap();
        db.record_login(&attempt("alice", LoginResult::BadCredentials), 11 * day)
            .unwrap();
        let records = db.login_records(None, 10).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0].attempt,
            attempt("alice", LoginResult::BadCredentials)
        );
        assert_eq!(
            (records[0].first, records[0].last, records[0].count),
            (10 * day, 11 * day, 2)
        );
        // 31 days after the first success, at the next pruning pass, it has aged out.
        for i in 0..PRUNE_EVERY - 2 {
            let a = attempt(&format!("other{i}"), LoginResult::BadCredentials);
            db.record_login(&a, 31 * day).unwrap();
        }
        let records = db.login_records(Some("alice"), 1000).unwrap();
        assert_eq!(records.len() as i64, PRUNE_EVERY - 1);
        assert!(records.iter().all(|r| r.first >= 10 * day));
        assert!(db.login_records(Some("bob"), 10).unwrap().is_empty());
    }

    #[test]
    fn at_most_the_latest_records_per_account_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = AuthDb::open(dir.path()).unwrap();
        // This test is about pruning, not durability: skip 10,000 fsyncs.
        db.db.pragma_update(None, "synchronous", "OFF").unwrap();
        // The 10,100th new row triggers a pruning pass.
        for i in 0..LOGIN_RECORDS_PER_ACCOUNT + 100 {
            let a = attempt(&format!("login{i}"), LoginResult::BadCredentials);
            db.record_login(&a, i as i64).unwrap();
        }
        let records = db.login_records(Some("alice"), usize::MAX >> 1).unwrap();
        assert_eq!(records.len(), LOGIN_RECORDS_PER_ACCOUNT);
        assert_eq!(records.last().unwrap().attempt.login, "login100");
    }
}
