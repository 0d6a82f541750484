//! What is in the queue and what retired from it, for `gannet queue` and tests.

use rusqlite::Row;
use serde::{Deserialize, Serialize};

use super::{Outbox, OutgoingId};
use crate::store::StoreError;

/// One queued recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub recipient: i64,
    pub message: OutgoingId,
    pub account: String,
    pub sender: String,
    pub address: String,
    pub attempts: u32,
    pub next_attempt: i64,
    pub hold: bool,
    pub last_error: String,
    pub queued: i64,
    pub size: i64,
    /// X-Gannet-Extra-* data, a JSON object.
    pub extra: String,
}

/// A recipient whose delivery finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retired {
    pub recipient: i64,
    pub message: OutgoingId,
    pub account: String,
    pub sender: String,
    pub address: String,
    pub header_message_id: String,
    pub queued: i64,
    pub finished: i64,
    pub delivered: bool,
    pub attempts: u32,
    pub last_result: String,
    pub extra: String,
    /// What a DSN that came back after the delivery said; empty if none did.
    pub later_dsn: String,
}

impl Queued {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Queued> {
        Ok(Queued {
            recipient: r.get(0)?,
            message: r.get(1)?,
            account: r.get(2)?,
            sender: r.get(3)?,
            address: r.get(4)?,
            attempts: r.get(5)?,
            next_attempt: r.get(6)?,
            hold: r.get(7)?,
            last_error: r.get(8)?,
            queued: r.get(9)?,
            size: r.get(10)?,
            extra: r.get(11)?,
        })
    }
}

impl Retired {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Retired> {
        Ok(Retired {
            recipient: r.get(0)?,
            message: r.get(1)?,
            account: r.get(2)?,
            sender: r.get(3)?,
            address: r.get(4)?,
            header_message_id: r.get(5)?,
            queued: r.get(6)?,
            finished: r.get(7)?,
            delivered: r.get(8)?,
            attempts: r.get(9)?,
            last_result: r.get(10)?,
            extra: r.get(11)?,
            later_dsn: r.get(12)?,
        })
    }
}

impl Outbox {
    /// Every queued recipient, in the order they were queued.
    pub fn list(&self) -> Result<Vec<Queued>, StoreError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT r.id, m.id, m.account, m.sender, r.address, r.attempts, r.next_attempt,
                    r.hold, r.last_error, m.queued, m.size, m.extra
             FROM recipient r JOIN message m ON m.id = r.message_id ORDER BY r.id",
        )?;
        let rows = query.query_map([], Queued::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every retired recipient, most recently finished first.
    pub fn retired(&self) -> Result<Vec<Retired>, StoreError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT id, message_id, account, sender, address, header_message_id, queued,
                    finished, delivered, attempts, last_result, extra, later_dsn
             FROM retired ORDER BY finished DESC, id DESC",
        )?;
        let rows = query.query_map([], Retired::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
