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
    /// The Message-ID of the reported message, where the DSN gives it.
    pub message_id: Option<&'a str>,
    /// The recipient it reports on.
    pub recipient: &'a str,
    pub summary: &'a str,
}

impl Outbox {
    /// Records `dsn` with the retired delivery it reports on and returns that
    /// delivery's id; none when nothing matches. A unique MAIL FROM
    /// identifies the message by itself; otherwise the Message-ID must.
    pub fn match_later_dsn(&self, dsn: &LaterDsn<'_>) -> Result<Option<i64>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM retired
                 WHERE account = ?1 AND lower(address) = lower(?2)
                   AND ((from_id != '' AND lower(sender) = lower(?3))
                        OR (?4 IS NOT NULL AND header_message_id = ?4))
                 ORDER BY finished DESC, id DESC LIMIT 1",
                params![dsn.account, dsn.recipient, dsn.returned_to, dsn.message_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = id {
            tx.execute(
                "UPDATE retired SET later_dsn = ? WHERE id = ?",
                params![dsn.summary, id],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }
}
