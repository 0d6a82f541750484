//! One account: its database, its message files and its change feed.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, Transaction};
use tokio::sync::broadcast;

use super::feed::{ChangeSet, Feed};
use super::files::{self, Files};
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
}

impl Account {
    /// Opens the account stored in `dir`, creating it with the standard mailboxes if
    /// it is new. Runs the recovery pass: leftovers of a crash are removed.
    pub fn open(dir: &Path, name: &str) -> Result<Account, StoreError> {
        let io = |e| StoreError::io(dir, e);
        let new = !dir.exists();
        fs::create_dir_all(dir).map_err(io)?;
        let mut db = Connection::open(dir.join("index.db"))?;
        if new {
            files::sync_dir(dir).map_err(io)?;
            if let Some(parent) = dir.parent() {
                files::sync_dir(parent).map_err(|e| StoreError::io(parent, e))?;
            }
        }
        // WAL with synchronous=FULL: a commit is on disk when it returns.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut db)?;
        search::register(&db)?;
        let mut account = Account {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            db,
            files: Files::new(dir),
            feed: Feed::new(),
            recovered: 0,
        };
        account.recovered = account.recover()?;
        account.ensure_standard_mailboxes()?;
        Ok(account)
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

/// Takes the next account-wide modseq; one per transaction, shared by all its changes.
pub(super) fn next_modseq(tx: &Transaction<'_>) -> Result<ModSeq, StoreError> {
    Ok(tx
        .prepare_cached("UPDATE account_state SET modseq = modseq + 1 RETURNING modseq")?
        .query_row([], |r| r.get(0))?)
}
