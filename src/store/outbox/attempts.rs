//! What is due, and what became of each attempt: retry later, or retire the
//! recipient as delivered or failed.

use rusqlite::{OptionalExtension, Row, params};

use super::{Outbox, OutgoingId};
use crate::store::{MessageId, StoreError};

/// A recipient due for an attempt, with what its message's delivery needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub recipient: i64,
    pub message: OutgoingId,
    pub address: String,
    pub domain: String,
    pub params: String,
    /// Attempts made so far.
    pub attempts: u32,
    pub delay_reported: bool,
    pub account: String,
    pub sender: String,
    pub smtputf8: bool,
    pub ret: Option<String>,
    pub envid: Option<String>,
    pub requiretls: bool,
    pub queued: i64,
    pub size: i64,
}

impl Due {
    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Due> {
        Ok(Due {
            recipient: row.get("id")?,
            message: row.get("message_id")?,
            address: row.get("address")?,
            domain: row.get("domain")?,
            params: row.get("params")?,
            attempts: row.get("attempts")?,
            delay_reported: row.get("delay_reported")?,
            account: row.get("account")?,
            sender: row.get("sender")?,
            smtputf8: row.get("smtputf8")?,
            ret: row.get("ret")?,
            envid: row.get("envid")?,
            requiretls: row.get("requiretls")?,
            queued: row.get("queued")?,
            size: row.get("size")?,
        })
    }
}

pub(super) const DUE_COLUMNS: &str =
    "r.id, r.message_id, r.address, r.domain, r.params, r.attempts,
    r.delay_reported, m.account, m.sender, m.smtputf8, m.ret, m.envid, m.requiretls,
    m.queued, m.size";

/// What an attempt came to for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again at this time.
    Retry(i64),
    Failed,
    /// Failed without a delivery attempt deciding it: by the operator, or
    /// by the suppression list. It does not count towards suppression.
    Cancelled,
}

/// One attempt for one recipient, for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: i64,
    /// The host tried, or what stood in for one ("dns" when the lookup failed).
    pub host: String,
    /// What happened, with the server's whole reply where there was one.
    pub result: String,
    pub outcome: Outcome,
}

impl Outbox {
    /// Recipients not on hold whose next attempt is due at `now`, oldest first.
    pub fn due(&self, now: i64, limit: usize) -> Result<Vec<Due>, StoreError> {
        let db = self.db();
        let mut query = db.prepare_cached(&format!(
            "SELECT {DUE_COLUMNS} FROM recipient r JOIN message m ON m.id = r.message_id
             WHERE r.hold = 0 AND r.next_attempt <= ? ORDER BY r.next_attempt, r.id LIMIT ?"
        ))?;
        let rows = query.query_map(params![now, limit as i64], Due::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The earliest next attempt of a recipient not on hold.
    pub fn next_due(&self) -> Result<Option<i64>, StoreError> {
        let db = self.db();
        let next = db
            .query_row(
                "SELECT min(next_attempt) FROM recipient WHERE hold = 0",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?;
        Ok(next.flatten())
    }

    /// Records `attempt` for `recipient`. Delivered or failed, the recipient
    /// retires (its history stays); a message without recipients left goes,
    /// file and all. False, with nothing recorded, when the recipient is no
    /// longer queued (an operator failed or dropped it meanwhile): whoever
    /// retires a recipient reports on it, once.
    pub fn record(&self, recipient: i64, attempt: &Attempt) -> Result<bool, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let message: Option<i64> = tx
            .query_row(
                "SELECT message_id FROM recipient WHERE id = ?",
                [recipient],
                |r| r.get(0),
            )
            .optional()?;
        let Some(message) = message else {
            return Ok(false);
        };
        tx.execute(
            "INSERT INTO attempt (recipient_id, at, host, result) VALUES (?, ?, ?, ?)",
            params![recipient, attempt.at, attempt.host, attempt.result],
        )?;
        let delivered = match attempt.outcome {
            Outcome::Retry(next) => {
                tx.execute(
                    "UPDATE recipient SET attempts = attempts + 1, next_attempt = ?, last_error = ?
                     WHERE id = ?",
                    params![next, attempt.result, recipient],
                )?;
                tx.commit()?;
                return Ok(true);
            }
            Outcome::Delivered => true,
            Outcome::Failed | Outcome::Cancelled => false,
        };
        let attempted = attempt.outcome != Outcome::Cancelled;
        tx.execute(
            "INSERT INTO retired (id, message_id, account, sender, address, header_message_id,
                                  extra, queued, finished, delivered, attempts, last_result,
                                  from_id, attempted)
             SELECT r.id, m.id, m.account, m.sender, r.address, m.header_message_id, m.extra,
                    m.queued, ?, ?, r.attempts + ?, ?, m.from_id, ?
             FROM recipient r JOIN message m ON m.id = r.message_id WHERE r.id = ?",
            params![
                attempt.at,
                delivered,
                // A cancelled recipient was not attempted this time.
                i64::from(attempted),
                attempt.result,
                attempted,
                recipient
            ],
        )?;
        tx.execute("DELETE FROM recipient WHERE id = ?", [recipient])?;
        let last = !tx
            .prepare("SELECT 1 FROM recipient WHERE message_id = ?")?
            .exists([message])?;
        if last {
            tx.execute("DELETE FROM message WHERE id = ?", [message])?;
        }
        tx.commit()?;
        if last {
            self.files.remove_all(&[MessageId(message)]);
        }
        Ok(true)
    }

    /// Notes that a delay DSN went out for `recipient`, so one is sent once.
    pub fn mark_delay_reported(&self, recipient: i64) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE recipient SET delay_reported = 1 WHERE id = ?",
            [recipient],
        )?;
        Ok(())
    }

    /// Forgets retired deliveries finished before `before`, with their history.
    pub fn prune_retired(&self, before: i64) -> Result<usize, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "DELETE FROM attempt WHERE recipient_id IN (SELECT id FROM retired WHERE finished < ?)",
            [before],
        )?;
        let n = tx.execute("DELETE FROM retired WHERE finished < ?", [before])?;
        tx.commit()?;
        Ok(n)
    }

    /// The attempts of a recipient, queued or retired, oldest first.
    pub fn history(&self, recipient: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT at, host, result FROM attempt WHERE recipient_id = ? ORDER BY rowid",
        )?;
        let rows = query.query_map([recipient], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
