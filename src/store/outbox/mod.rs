//! The outgoing queue's database, `DATA_DIR/queue/queue.db`, and its message
//! files, `DATA_DIR/queue/msg/`: what waits for delivery to other hosts, each
//! recipient's attempts, and the "retired" record of finished deliveries.
//!
//! The same durability rule as the accounts': a message file is written and
//! fsynced before the transaction that refers to it commits, and the reply to
//! the submitter waits for that commit. The queue's logic (when to try, where,
//! what to do with the result) is in `crate::queue`; this module only keeps
//! its state.

mod admin;
mod attempts;
mod dsn_match;
mod enqueue;
mod filter;
mod hold_rules;
mod listing;
mod suppression;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;

use super::files::Files;
use super::{StoreError, schema};

pub use attempts::{Attempt, Due, Outcome};
pub use dsn_match::{LaterDsn, LaterMatch};
pub use enqueue::{NewOutgoing, NewRecipient};
pub use filter::Filter;
pub use hold_rules::HoldRule;
pub use listing::{Queued, Retired};
pub use suppression::Suppressed;

const MIGRATIONS: &[&str] = &[
    // 1: messages, their recipients, attempts, and retired deliveries.
    r#"
    CREATE TABLE message (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,          -- the submitter; '' for the server's own mail (DSNs)
        sender TEXT NOT NULL,           -- reverse-path without brackets; '' is the null path
        size INTEGER NOT NULL,
        smtputf8 INTEGER NOT NULL,
        ret TEXT,                       -- RET= (RFC 3461): 'FULL' or 'HDRS'
        envid TEXT,                     -- ENVID=, decoded
        requiretls INTEGER NOT NULL,
        header_message_id TEXT NOT NULL, -- the Message-ID field, to match incoming DSNs
        extra TEXT NOT NULL,            -- X-Gannet-Extra-* data, JSON object
        queued INTEGER NOT NULL
    );

    CREATE TABLE recipient (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id INTEGER NOT NULL REFERENCES message(id),
        address TEXT NOT NULL,          -- forward-path without brackets
        domain TEXT NOT NULL,           -- ASCII, lower case: deliveries are grouped by it
        params TEXT NOT NULL,           -- RCPT TO parameters as sent (NOTIFY, ORCPT)
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt INTEGER NOT NULL,
        hold INTEGER NOT NULL DEFAULT 0,
        delay_reported INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX recipient_due ON recipient (hold, next_attempt);
    CREATE INDEX recipient_message ON recipient (message_id);

    -- Each attempt of a recipient, kept while it is queued and after it retires
    -- (a retired row keeps its recipient's id).
    CREATE TABLE attempt (
        recipient_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        host TEXT NOT NULL,
        result TEXT NOT NULL            -- 'delivered', 'temporary' or 'permanent', and why
    );
    CREATE INDEX attempt_recipient ON attempt (recipient_id);

    CREATE TABLE retired (
        id INTEGER PRIMARY KEY,         -- the recipient's id
        message_id INTEGER NOT NULL,
        account TEXT NOT NULL,
        sender TEXT NOT NULL,
        address TEXT NOT NULL,
        header_message_id TEXT NOT NULL,
        extra TEXT NOT NULL,
        queued INTEGER NOT NULL,
        finished INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        last_result TEXT NOT NULL
    );
    CREATE INDEX retired_finished ON retired (finished);
    CREATE INDEX retired_header_message_id ON retired (header_message_id);
    "#,
    // 2: hold rules and per-account suppression lists.
    r#"
    -- A new recipient matching a rule is queued on hold. An empty field
    -- matches anything; a rule with all three empty holds everything.
    CREATE TABLE hold_rule (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        sender_domain TEXT NOT NULL,    -- ASCII, lower case
        recipient_domain TEXT NOT NULL  -- ASCII, lower case
    );

    -- Recipients an account's mail is not sent to: it fails at once.
    CREATE TABLE suppression (
        account TEXT NOT NULL,
        address TEXT NOT NULL,          -- as first seen
        key TEXT NOT NULL,              -- the address in lower case, for matching
        reason TEXT NOT NULL,
        manual INTEGER NOT NULL,        -- added by the operator, not by a failure
        created INTEGER NOT NULL,
        PRIMARY KEY (account, key)
    );
    CREATE INDEX retired_address ON retired (account, lower(address));
    "#,
    // 3: unique MAIL FROM ids, and what a DSN that came back later said.
    r#"
    -- The random id in the sender's local part (after the catchall
    -- separator) when the account sends with a unique MAIL FROM; '' if not.
    ALTER TABLE message ADD COLUMN from_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE retired ADD COLUMN from_id TEXT NOT NULL DEFAULT '';
    -- A DSN received for the delivery after it retired: what it reported.
    ALTER TABLE retired ADD COLUMN later_dsn TEXT NOT NULL DEFAULT '';
    -- 0 when no delivery attempt decided the outcome (the operator failed or
    -- dropped it, or the suppression list did): such failures do not count
    -- towards suppressing the recipient.
    ALTER TABLE retired ADD COLUMN attempted INTEGER NOT NULL DEFAULT 1;
    "#,
];

/// The queue's state on disk. One per data directory; the server opens it.
pub struct Outbox {
    db: Mutex<Connection>,
    files: Files,
}

/// A queued message's id: its row, and the name of its file.
pub type OutgoingId = i64;

impl Outbox {
    /// Opens (creating, migrating) the queue in `DATA_DIR/queue` and removes
    /// what a crash left: staged files, and files no message refers to.
    pub fn open(data_dir: &Path) -> Result<Outbox, StoreError> {
        let dir = data_dir.join("queue");
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let path = dir.join("queue.db");
        let mut db = Connection::open(&path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(10))?;
        schema::apply(&mut db, MIGRATIONS)?;
        let outbox = Outbox {
            db: Mutex::new(db),
            files: Files::new(&dir),
        };
        outbox.recover()?;
        Ok(outbox)
    }

    fn recover(&self) -> Result<(), StoreError> {
        let io = |e| StoreError::io(self.files.dir(), e);
        self.files.clear_tmp().map_err(io)?;
        let present = self.files.list().map_err(io)?;
        let db = self.db();
        let mut known = db.prepare("SELECT 1 FROM message WHERE id = ?")?;
        let mut orphans = Vec::new();
        for id in present {
            if !known.exists([id.0])? {
                orphans.push(id);
            }
        }
        if !orphans.is_empty() {
            tracing::warn!(
                count = orphans.len(),
                "removing queue files no message refers to (left by a crash)"
            );
        }
        self.files.remove_all(&orphans);
        Ok(())
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The message of `id` as queued.
    pub fn read(&self, id: OutgoingId) -> Result<Vec<u8>, StoreError> {
        let path = self.files.path(super::MessageId(id));
        std::fs::read(&path).map_err(|e| StoreError::io(&path, e))
    }
}
