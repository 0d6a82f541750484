//! The account store: every account's mail, for IMAP, SMTP delivery, the webmail and
//! the webapi.
//!
//! Per account, a directory with an SQLite database (WAL) and one file per message.
//! A message file is written and fsynced before the transaction that refers to it
//! commits, and callers acknowledge only after the commit (see `files`). Every
//! committed change is published on the account's change feed. All SQL lives here.

mod account;
mod annotations;
mod auth_db;
mod export;
mod feed;
mod files;
mod import;
mod mailboxes;
mod mbox;
mod messages;
pub mod outbox;
mod parse;
#[cfg(test)]
mod proptests;
mod quota;
mod registry;
mod schema;
mod search;
#[cfg(test)]
mod tests;
mod types;
mod verify;

use std::io;
use std::path::{Path, PathBuf};

pub use account::Account;
pub use annotations::{
    Annotation, AnnotationUpdate, MAX_ANNOTATION_VALUE, MAX_ANNOTATIONS, MAX_ANNOTATIONS_SIZE,
};
pub use auth_db::{
    AUTH_DB_FILE, AuthDb, LOGIN_RECORD_DAYS, LOGIN_RECORDS_PER_ACCOUNT, LoginAttempt, LoginRecord,
    LoginResult, TlsPubKey,
};
pub use export::export;
pub use feed::{Change, ChangeSet};
pub use import::{
    ImportOptions, MailFormat, MessageError, OnError, Phase, Position, Progress, TransferError,
    TransferFailed, TransferSummary, import,
};
pub use mailboxes::{SEPARATOR, normalize_name};
pub use mbox::{
    MboxEntry, MboxError, MboxFromLine, MboxReader, mbox_from_line_date, split_mbox,
    write_mbox_entry,
};
pub use messages::{FlagsResult, NewMessage, Staged};
pub use parse::parse_owned;
pub use quota::{Quota, Usage};
pub use registry::{SharedAccount, Store};
pub use search::{DateField, SearchKey};
pub use types::{
    Counts, FlagOp, Flags, Mailbox, MailboxId, MessageId, MessageMeta, ModSeq, Received,
    SpecialUse, Uid,
};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "database schema version {found} is newer than this gannet knows ({known}); use a newer gannet"
    )]
    SchemaTooNew { found: usize, known: usize },
    #[error(
        "database schema version {found} is older than this gannet's ({known}) and cannot be migrated by a reading command; run gannet store verify (or the server) once"
    )]
    SchemaTooOld { found: usize, known: usize },
    #[error("mailbox {0:?} does not exist")]
    NoMailbox(String),
    #[error("message UID {0} does not exist (expunged?)")]
    NoMessage(u32),
    #[error("mailbox {0:?} already exists")]
    MailboxExists(String),
    #[error("invalid mailbox name {name:?}: {reason}")]
    InvalidMailboxName { name: String, reason: String },
    #[error("mailbox {0:?} has child mailboxes; delete or move them first")]
    HasChildren(String),
    #[error("the Inbox cannot be {0}")]
    InboxFixed(&'static str),
    #[error(
        "invalid keyword {0:?}: keywords are single words without spaces or control characters"
    )]
    InvalidKeyword(String),
    #[error(
        "invalid annotation entry {0:?}: it must start with '/' and have no wildcards or control characters"
    )]
    InvalidEntry(String),
    #[error("an annotation value may be at most {0} octets")]
    AnnotationTooBig(usize),
    #[error("the account has as many annotations as it may keep")]
    TooManyAnnotations,
    #[error("over quota: {used} of {limit} {unit} used, {needed} more needed")]
    OverQuota {
        unit: &'static str,
        used: u64,
        limit: u64,
        needed: u64,
    },
    /// A delivery committed together with another that failed: see that one's error.
    #[error("the transaction this delivery was part of failed: {0}")]
    BatchFailed(String),
    #[error("this TLS public key is already registered")]
    TlsPubKeyExists,
    /// Another process has the account open for writing: two writers would each
    /// take the other's half-delivered files for crash leftovers, and neither
    /// would see the other's changes.
    #[error(
        "account {0:?} is in use by another gannet process (a running server?); stop it first, or read with gannet export, which may run alongside"
    )]
    InUse(String),
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where accounts live: `DATA_DIR/accounts/NAME`.
pub fn account_dir(data_dir: &Path, account: &str) -> PathBuf {
    data_dir.join("accounts").join(account)
}
