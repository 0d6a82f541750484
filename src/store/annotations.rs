//! Annotations (IMAP METADATA, RFC 5464): per-mailbox or server-wide entries, shared
//! or private, changed with a modseq and announced on the change feed.

use rusqlite::{Transaction, params};

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

/// Limits on an account's annotations, so that METADATA cannot fill the disk. RFC
/// 5464 5.2 asks servers to take at least 1024-octet values and 10 annotations.
pub const MAX_ANNOTATION_VALUE: usize = 64 * 1024;
pub const MAX_ANNOTATIONS: usize = 1000;
/// All values of the account together.
pub const MAX_ANNOTATIONS_SIZE: usize = 1024 * 1024;

/// One entry to set: its name (without the `/private` or `/shared` prefix), whether
/// private, and the value (`None` removes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationUpdate {
    pub entry: String,
    pub private: bool,
    pub value: Option<Vec<u8>>,
}

impl Account {
    /// Sets and removes annotations of a mailbox (or the server's, `None`), all or
    /// none (RFC 5464 4.3), within the account's limits. Returns the modseq of the
    /// change, `None` when nothing changed.
    pub fn set_annotations(
        &mut self,
        mailbox: Option<MailboxId>,
        updates: &[AnnotationUpdate],
    ) -> Result<Option<ModSeq>, StoreError> {
        for u in updates {
            check_entry(&u.entry)?;
            if u.value
                .as_ref()
                .is_some_and(|v| v.len() > MAX_ANNOTATION_VALUE)
            {
                return Err(StoreError::AnnotationTooBig(MAX_ANNOTATION_VALUE));
            }
        }
        if let Some(id) = mailbox {
            self.mailbox_by_id(id)?;
        }
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        let mut changes = Vec::new();
        for u in updates {
            if set_one(&tx, mailbox, u, modseq)? {
                changes.push(Change::AnnotationChanged {
                    mailbox,
                    entry: u.entry.clone(),
                    private: u.private,
                });
            }
        }
        if changes.is_empty() {
            return Ok(None);
        }
        let (count, size): (i64, i64) = tx.query_row(
            "SELECT count(*), ifnull(sum(length(value)), 0) FROM annotation",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count as usize > MAX_ANNOTATIONS || size as usize > MAX_ANNOTATIONS_SIZE {
            return Err(StoreError::TooManyAnnotations);
        }
        if let Some(id) = mailbox {
            tx.execute(
                "UPDATE mailbox SET modseq = ? WHERE id = ?",
                params![modseq, id.0],
            )?;
        }
        tx.commit()?;
        self.feed.publish(modseq, changes);
        Ok(Some(modseq))
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

/// An entry name as stored: `/` and at least one more character, no wildcards and no
/// control characters.
fn check_entry(entry: &str) -> Result<(), StoreError> {
    if entry.len() < 2
        || !entry.starts_with('/')
        || entry.contains(['*', '%'])
        || entry.chars().any(char::is_control)
    {
        return Err(StoreError::InvalidEntry(entry.to_string()));
    }
    Ok(())
}

/// Writes or removes one annotation; whether anything changed.
fn set_one(
    tx: &Transaction<'_>,
    mailbox: Option<MailboxId>,
    u: &AnnotationUpdate,
    modseq: ModSeq,
) -> Result<bool, StoreError> {
    let id = mailbox.map(|m| m.0);
    let changed = match &u.value {
        Some(v) => tx.execute(
            "INSERT INTO annotation (mailbox_id, entry, private, value, modseq) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (ifnull(mailbox_id, 0), entry, private) DO UPDATE SET value = ?4, modseq = ?5
             WHERE value != ?4",
            params![id, u.entry, u.private, v, modseq],
        )?,
        None => tx.execute(
            "DELETE FROM annotation WHERE ifnull(mailbox_id, 0) = ifnull(?1, 0) AND entry = ?2 AND private = ?3",
            params![id, u.entry, u.private],
        )?,
    };
    Ok(changed > 0)
}
