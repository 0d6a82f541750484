//! One account: its database, its message files and its change feed.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, Transaction};
use tokio::sync::broadcast;

use super::feed::{ChangeSet, Feed};
use super::files::{self, Files};
use super::quota::Quota;
use super::types::{ModSeq, SpecialUse};
use super::{StoreError, schema, search};
use std::sync::Arc;

/// The mailboxes of a new account, with their roles (RFC 6154).
const STANDARD_MAILBOXES: &[(&str, Option<SpecialUse>)] = &[
    ("Inbox", None),
    ("Sent", Some(SpecialUse::Sent)),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Trash", Some(SpecialUse::Trash)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Archive", Some(SpecialUse::Archive)),
];

/// An open account. Its methods are synchronous (rusqlite is); async callers run them
/// on a blocking pool. One `Account` serializes its own writes.
pub struct Account {
    pub(super) name: String,
    pub(super) dir: PathBuf,
    pub(super) db: Connection,
    pub(super) files: Files,
    pub(super) feed: Feed,
    /// Files the recovery pass at open removed (left by an interrupted operation).
    recovered: usize,
    /// Held (locked) while the account is open for writing: one writing process
    /// per account. `None` for a read-only open.
    _lock: Option<fs::File>,
    /// The limits deliveries are checked against (from the configuration).
    pub(super) quota: Quota,
}

impl Account {
    /// Opens the account stored in `dir`, creating it with the standard mailboxes if
    /// it is new. Runs the recovery pass: leftovers of a crash are removed.
    pub fn open(dir: &Path, name: &str) -> Result<Account, StoreError> {
        if !dir.exists() {
            create(dir, name)?;
        }
        Account::open_existing(dir, name)
    }

    fn open_existing(dir: &Path, name: &str) -> Result<Account, StoreError> {
        let lock = lock_for_writing(dir, name)?;
        let mut db = Connection::open(dir.join("index.db"))?;
        // WAL with synchronous=FULL: a commit is on disk when it returns.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut db)?;
        let mut account = Account::with(dir, name, db, Some(lock))?;
        account.recovered = account.recover()?;
        account.ensure_standard_mailboxes()?;
        Ok(account)
    }

    /// Opens an existing account for reading only, alongside the process that may
    /// have it open for writing (SQLite's WAL lets readers in). No recovery pass
    /// and no migration: those write. Callers must not change anything through it.
    pub fn open_read_only(dir: &Path, name: &str) -> Result<Account, StoreError> {
        let path = dir.join("index.db");
        if !path.is_file() {
            return Err(StoreError::io(
                &path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let db = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        schema::check_current(&db)?;
        Account::with(dir, name, db, None)
    }

    /// The account over its opened database (`lock` held for writing).
    fn with(
        dir: &Path,
        name: &str,
        db: Connection,
        lock: Option<fs::File>,
    ) -> Result<Account, StoreError> {
        search::register(&db)?;
        Ok(Account {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            db,
            files: Files::new(dir),
            feed: Feed::new(),
            recovered: 0,
            _lock: lock,
            quota: Quota::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many files the recovery pass at open removed: staged files and files no
    /// committed message refers to, left by a crash.
    pub fn recovered_at_open(&self) -> usize {
        self.recovered
    }

    /// Receives every change committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeSet>> {
        self.feed.subscribe()
    }

    fn ensure_standard_mailboxes(&mut self) -> Result<(), StoreError> {
        let count: i64 = self
            .db
            .query_row("SELECT count(*) FROM mailbox", [], |r| r.get(0))?;
        if count > 0 {
            return Ok(());
        }
        for (name, special_use) in STANDARD_MAILBOXES {
            self.create_mailbox(name, *special_use)?;
            self.set_subscribed(name, true)?;
        }
        Ok(())
    }
}

/// Locks the account in `dir` for this process's writes, or says who has it.
/// Makes a new account whole (schema, standard mailboxes) in a staging folder beside
/// `dir` and renames it into place, so that a reader in another process (`gannet
/// export` while the server delivers) never finds an account half made. Account
/// names start with a letter or digit, so the dotted staging name is no account's.
fn create(dir: &Path, name: &str) -> Result<(), StoreError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
    let staging = parent.join(format!(".{name}.new-{}", std::process::id()));
    // A leftover of a crash during an earlier creation by a process with our pid.
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| StoreError::io(&staging, e))?;
    }
    fs::create_dir(&staging).map_err(|e| StoreError::io(&staging, e))?;
    drop(Account::open_existing(&staging, name)?);
    files::sync_dir(&staging).map_err(|e| StoreError::io(&staging, e))?;
    match fs::rename(&staging, dir) {
        Ok(()) => files::sync_dir(parent).map_err(|e| StoreError::io(parent, e)),
        // Another process created it first: theirs stands.
        Err(_) if dir.exists() => {
            fs::remove_dir_all(&staging).map_err(|e| StoreError::io(&staging, e))
        }
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

fn lock_for_writing(dir: &Path, name: &str) -> Result<fs::File, StoreError> {
    let path = dir.join("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    // A lock we just released can still be held for a moment: a child process
    // forked in between (any thread's Command) shares the file until its exec
    // closes it. Another process that really has the account holds it longer.
    for _ in 0..LOCK_TRIES {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => std::thread::sleep(LOCK_PAUSE),
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
        }
    }
    Err(StoreError::InUse(name.to_string()))
}

const LOCK_TRIES: u32 = 20;
const LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Takes the next account-wide modseq; one per transaction, shared by all its changes.
pub(super) fn next_modseq(tx: &Transaction<'_>) -> Result<ModSeq, StoreError> {
    Ok(tx
        .prepare_cached("UPDATE account_state SET modseq = modseq + 1 RETURNING modseq")?
        .query_row([], |r| r.get(0))?)
}
