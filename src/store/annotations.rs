//! Annotations (IMAP METADATA, RFC 5464): per-mailbox or server-wide entries, shared
//! or private, changed with a modseq and announced on the change feed.

use rusqlite::params;

use super::StoreError;
use super::account::{Account, next_modseq};
use super::feed::Change;
use super::types::{MailboxId, ModSeq};

/// One stored annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// `None` for a server annotation.
    pub mailbox: Option<MailboxId>,
    /// The entry name, e.g. `/private/comment` without its private/shared prefix:
    /// `/comment`.
    pub entry: String,
    pub private: bool,
    pub value: Vec<u8>,
    pub modseq: ModSeq,
}

impl Account {
    /// Sets an annotation, or removes it when `value` is `None` (RFC 5464 NIL).
    pub fn set_annotation(
        &mut self,
        mailbox: Option<MailboxId>,
        entry: &str,
        private: bool,
        value: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        if !entry.starts_with('/')
            || entry.contains(['*', '%'])
            || entry.chars().any(char::is_control)
        {
            return Err(StoreError::InvalidEntry(entry.to_string()));
        }
        if let Some(id) = mailbox {
            self.mailbox_by_id(id)?;
        }
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        let key = params![mailbox.map(|m| m.0), entry, private];
        let changed = match value {
            Some(v) => tx.execute(
                "INSERT INTO annotation (mailbox_id, entry, private, value, modseq) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (ifnull(mailbox_id, 0), entry, private) DO UPDATE SET value = ?4, modseq = ?5",
                params![mailbox.map(|m| m.0), entry, private, v, modseq],
            )?,
            None => tx.execute(
                "DELETE FROM annotation WHERE ifnull(mailbox_id, 0) = ifnull(?1, 0) AND entry = ?2 AND private = ?3",
                key,
            )?,
        };
        if changed == 0 {
            return Ok(()); // removing what is not there: nothing to record
        }
        if let Some(id) = mailbox {
            tx.execute(
                "UPDATE mailbox SET modseq = ? WHERE id = ?",
                params![modseq, id.0],
            )?;
        }
        tx.commit()?;
        self.feed.publish(
            modseq,
            vec![Change::AnnotationChanged {
                mailbox,
                entry: entry.to_string(),
            }],
        );
        Ok(())
    }

    /// The annotations of a mailbox, or the server annotations for `None`, by entry.
    pub fn annotations(&self, mailbox: Option<MailboxId>) -> Result<Vec<Annotation>, StoreError> {
        let mut stmt = self.db.prepare(
            "SELECT mailbox_id, entry, private, value, modseq FROM annotation
             WHERE ifnull(mailbox_id, 0) = ifnull(?, 0) ORDER BY entry, private",
        )?;
        let rows = stmt.query_map([mailbox.map(|m| m.0)], |r| {
            Ok(Annotation {
                mailbox: r.get::<_, Option<i64>>(0)?.map(MailboxId),
                entry: r.get(1)?,
                private: r.get(2)?,
                value: r.get(3)?,
                modseq: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
