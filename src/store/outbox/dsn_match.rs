//! DSNs that come back after a delivery retired (a remote server took the
//! message, then could not deliver it): matched to the retired delivery they
//! report on, which keeps what they said.

use rusqlite::{OptionalExtension, params};

use super::Outbox;
use crate::store::StoreError;

/// A received DSN's word on one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaterDsn<'a> {
    /// The account the DSN was delivered to: the one that sent the message.
    pub account: &'a str,
    /// The address the DSN was sent to: the message's MAIL FROM.
    pub returned_to: &'a str,
    /// The Message-ID of the reported message, where the DSN gives it, with
    /// or without its angle brackets.
    pub message_id: Option<&'a str>,
    /// The recipient it reports on.
    pub recipient: &'a str,
    pub summary: &'a str,
}

/// The retired delivery a DSN matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaterMatch {
    pub id: i64,
    /// Matched by the unique MAIL FROM, which only the receiving server saw;
    /// a Message-ID is known to every recipient, so a DSN matched by it alone
    /// may be forged.
    pub unique: bool,
}

impl Outbox {
    /// Records `dsn` with the retired delivery it reports on and returns that
    /// delivery; none when nothing matches. A unique MAIL FROM identifies the
    /// message by itself; otherwise the Message-ID must.
    pub fn match_later_dsn(&self, dsn: &LaterDsn<'_>) -> Result<Option<LaterMatch>, StoreError> {
        // Stored as in the header field, with its brackets.
        let message_id = dsn.message_id.map(|id| match id.starts_with('<') {
            true => id.to_string(),
            false => format!("<{id}>"),
        });
        let mut db = self.db();
        let tx = db.transaction()?;
        let found = tx
            .query_row(
                "SELECT id, from_id != '' AND lower(sender) = lower(?3) FROM retired
                 WHERE account = ?1 AND lower(address) = lower(?2)
                   AND ((from_id != '' AND lower(sender) = lower(?3))
                        OR (?4 IS NOT NULL AND header_message_id = ?4))
                 ORDER BY finished DESC, id DESC LIMIT 1",
                params![dsn.account, dsn.recipient, dsn.returned_to, message_id],
                |r| {
                    Ok(LaterMatch {
                        id: r.get(0)?,
                        unique: r.get(1)?,
                    })
                },
            )
            .optional()?;
        if let Some(found) = found {
            tx.execute(
                "UPDATE retired SET later_dsn = ? WHERE id = ?",
                params![dsn.summary, found.id],
            )?;
        }
        tx.commit()?;
        Ok(found)
    }
}
