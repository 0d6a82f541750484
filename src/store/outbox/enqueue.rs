//! Putting a message in the queue, durably.

use rusqlite::params;

use super::hold_rules::held_by_rule;
use super::suppression::suppression_reason;
use super::{Outbox, OutgoingId};
use crate::store::{MessageId, StoreError};

/// A message for the queue.
#[derive(Debug, Clone, Default)]
pub struct NewOutgoing {
    pub account: String,
    pub sender: String,
    pub smtputf8: bool,
    /// RET= and ENVID= (RFC 3461) as given at submission.
    pub ret: Option<String>,
    pub envid: Option<String>,
    pub requiretls: bool,
    pub header_message_id: String,
    /// X-Gannet-Extra-* data as a JSON object.
    pub extra: String,
    /// The random id in `sender` that makes it unique to this message, if any.
    pub from_id: String,
    pub recipients: Vec<NewRecipient>,
    /// When the first attempt is due (FUTURERELEASE holds it back).
    pub first_attempt: i64,
}

#[derive(Debug, Clone, Default)]
pub struct NewRecipient {
    pub address: String,
    /// ASCII, lower case.
    pub domain: String,
    /// The RCPT TO parameters in their wire form (` NOTIFY=... ORCPT=...`).
    pub params: String,
}

impl Outbox {
    /// Queues `data` for `new`'s recipients, on hold where a hold rule says so,
    /// never due where the account's suppression list has the recipient.
    /// When this returns, the message is on disk and committed: the submitter
    /// may be told it was taken.
    pub fn enqueue(
        &self,
        new: &NewOutgoing,
        data: &[u8],
        now: i64,
    ) -> Result<OutgoingId, StoreError> {
        let io = |e| StoreError::io(self.files.dir(), e);
        let staged = self.files.stage(data).map_err(io)?;
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO message (account, sender, size, smtputf8, ret, envid, requiretls,
                                  header_message_id, extra, queued, from_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                new.account,
                new.sender,
                data.len() as i64,
                new.smtputf8,
                new.ret,
                new.envid,
                new.requiretls,
                new.header_message_id,
                if new.extra.is_empty() {
                    "{}"
                } else {
                    &new.extra
                },
                now,
                new.from_id
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare(
                "INSERT INTO recipient (message_id, address, domain, params, next_attempt, hold)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )?;
            for r in &new.recipients {
                let hold = held_by_rule(&tx, &new.account, &new.sender, &r.domain)?;
                // Never due: the queue fails it at once (`Queue::enqueue`), and
                // no delivery may start before that.
                let suppressed = suppression_reason(&tx, &new.account, &r.address)?.is_some();
                let next_attempt = match suppressed {
                    true => i64::MAX,
                    false => new.first_attempt,
                };
                insert.execute(params![
                    id,
                    r.address,
                    r.domain,
                    r.params,
                    next_attempt,
                    hold
                ])?;
            }
        }
        let file = MessageId(id);
        let placed = self
            .files
            .install(&staged, file)
            .and_then(|()| self.files.sync(&[file], &[file]));
        if let Err(e) = placed {
            // The row goes with the rollback; the file, if it got there, is an
            // orphan the next open removes.
            let _ = std::fs::remove_file(&staged);
            return Err(io(e));
        }
        tx.commit()?;
        Ok(id)
    }
}
