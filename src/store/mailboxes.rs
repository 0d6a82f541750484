//! Mailboxes: create (with parents), rename (with children), delete, subscribe, list.

use rusqlite::{OptionalExtension, Row, params};

use super::StoreError;
use super::account::{Account, next_modseq};
use super::feed::Change;
use super::types::{Counts, Mailbox, MailboxId, MessageId, SpecialUse};

/// The separator between hierarchy levels, as IMAP LIST reports it.
pub const SEPARATOR: char = '/';

const MAILBOX_COLUMNS: &str = "id, name, parent_id, special_use, uid_validity, uid_next, modseq, create_seq, total, unseen, deleted, size";

fn mailbox_from_row(r: &Row<'_>) -> rusqlite::Result<Mailbox> {
    let special_use: Option<String> = r.get(3)?;
    Ok(Mailbox {
        id: MailboxId(r.get(0)?),
        name: r.get(1)?,
        parent: r.get::<_, Option<i64>>(2)?.map(MailboxId),
        special_use: special_use.as_deref().and_then(SpecialUse::from_attribute),
        uid_validity: r.get(4)?,
        uid_next: r.get(5)?,
        modseq: r.get(6)?,
        create_seq: r.get(7)?,
        counts: Counts {
            total: r.get(8)?,
            unseen: r.get(9)?,
            deleted: r.get(10)?,
            size: r.get(11)?,
        },
    })
}

/// Checks a mailbox name and returns it in stored form: "Inbox" as the first level is
/// case-insensitive (RFC 9051 5.1) and stored as "Inbox".
pub fn normalize_name(name: &str) -> Result<String, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidMailboxName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.split(SEPARATOR).any(str::is_empty) {
        return Err(invalid(
            "it has an empty level (a leading, trailing or double '/')",
        ));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(invalid("it has a control character"));
    }
    if name.contains(['*', '%']) {
        return Err(invalid("'*' and '%' are IMAP LIST wildcards"));
    }
    let (first, rest) = name
        .split_once(SEPARATOR)
        .map_or((name, None), |(f, r)| (f, Some(r)));
    Ok(match (first.eq_ignore_ascii_case("inbox"), rest) {
        (true, None) => "Inbox".to_string(),
        (true, Some(rest)) => format!("Inbox{SEPARATOR}{rest}"),
        (false, _) => name.to_string(),
    })
}

impl Account {
    /// All mailboxes, ordered by name.
    pub fn mailboxes(&self) -> Result<Vec<Mailbox>, StoreError> {
        let mut stmt = self.db.prepare(&format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailbox ORDER BY name"
        ))?;
        let rows = stmt.query_map([], mailbox_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first mailbox, by name, with `role` (RFC 6154), if any.
    pub fn mailbox_with_role(&self, role: SpecialUse) -> Result<Option<Mailbox>, StoreError> {
        Ok(self
            .mailboxes()?
            .into_iter()
            .find(|m| m.special_use == Some(role)))
    }

    /// The mailbox named `name` (any case of "Inbox").
    pub fn mailbox(&self, name: &str) -> Result<Mailbox, StoreError> {
        let name = normalize_name(name)?;
        self.db
            .query_row(
                &format!("SELECT {MAILBOX_COLUMNS} FROM mailbox WHERE name = ?"),
                [&name],
                mailbox_from_row,
            )
            .optional()?
            .ok_or(StoreError::NoMailbox(name))
    }

    pub fn mailbox_by_id(&self, id: MailboxId) -> Result<Mailbox, StoreError> {
        self.db
            .query_row(
                &format!("SELECT {MAILBOX_COLUMNS} FROM mailbox WHERE id = ?"),
                [id.0],
                mailbox_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NoMailbox(format!("#{}", id.0)))
    }

    /// Creates `name` and any missing parents (as IMAP CREATE does).
    pub fn create_mailbox(
        &mut self,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<Mailbox, StoreError> {
        let name = normalize_name(name)?;
        let tx = self.db.transaction()?;
        let exists: bool = tx.query_row(
            "SELECT count(*) FROM mailbox WHERE name = ?",
            [&name],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::MailboxExists(name));
        }
        let modseq = next_modseq(&tx)?;
        let mut changes = Vec::new();
        let mut parent: Option<i64> = None;
        let levels: Vec<&str> = name.split(SEPARATOR).collect();
        for depth in 1..=levels.len() {
            let path = levels[..depth].join(&SEPARATOR.to_string());
            let existing: Option<i64> = tx
                .query_row("SELECT id FROM mailbox WHERE name = ?", [&path], |r| {
                    r.get(0)
                })
                .optional()?;
            parent = Some(match existing {
                Some(id) => id,
                None => {
                    let uid_validity: u32 = tx.query_row(
                        "UPDATE account_state SET uid_validity_next = uid_validity_next + 1 RETURNING uid_validity_next - 1",
                        [],
                        |r| r.get(0),
                    )?;
                    let role = if depth == levels.len() {
                        special_use.map(SpecialUse::attribute)
                    } else {
                        None
                    };
                    let id = tx.query_row(
                        "INSERT INTO mailbox (name, parent_id, special_use, uid_validity, uid_next, modseq, create_seq)
                         VALUES (?, ?, ?, ?, 1, ?, ?) RETURNING id",
                        params![path, parent, role, uid_validity, modseq, modseq],
                        |r| r.get(0),
                    )?;
                    changes.push(Change::MailboxCreated {
                        mailbox: MailboxId(id),
                        name: path,
                    });
                    id
                }
            });
        }
        tx.commit()?;
        self.feed.publish(modseq, changes);
        self.mailbox(&name)
    }

    /// Renames `from` and its children to `to`, creating missing parents of `to`.
    /// The Inbox cannot be renamed here (IMAP's RENAME INBOX moves its messages).
    pub fn rename_mailbox(&mut self, from: &str, to: &str) -> Result<Mailbox, StoreError> {
        let mailbox = self.mailbox(from)?;
        let to = normalize_name(to)?;
        if mailbox.name == "Inbox" {
            return Err(StoreError::InboxFixed("renamed"));
        }
        if to == mailbox.name || to.starts_with(&format!("{}{SEPARATOR}", mailbox.name)) {
            return Err(StoreError::InvalidMailboxName {
                name: to,
                reason: "a mailbox cannot move into itself".into(),
            });
        }
        if self.mailbox(&to).is_ok() {
            return Err(StoreError::MailboxExists(to));
        }
        // Parents of the new name, created first in their own transaction if missing.
        let new_parent = match to.rsplit_once(SEPARATOR) {
            None => None,
            Some((parent, _)) => Some(match self.mailbox(parent) {
                Err(StoreError::NoMailbox(_)) => self.create_mailbox(parent, None)?.id.0,
                other => other?.id.0,
            }),
        };
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        let prefix = format!("{}{SEPARATOR}", mailbox.name);
        let mut renamed: Vec<(i64, String)> = tx
            .prepare("SELECT id, name FROM mailbox WHERE id = ? OR substr(name, 1, length(?)) = ?")?
            .query_map(params![mailbox.id.0, prefix, prefix], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        renamed.sort_by(|a, b| a.1.cmp(&b.1));
        let mut changes = Vec::new();
        for (id, old) in renamed {
            let new = format!("{to}{}", &old[mailbox.name.len()..]);
            tx.execute(
                "UPDATE mailbox SET name = ?, modseq = ? WHERE id = ?",
                params![new, modseq, id],
            )?;
            changes.push(Change::MailboxRenamed {
                mailbox: MailboxId(id),
                old,
                new,
            });
        }
        tx.execute(
            "UPDATE mailbox SET parent_id = ? WHERE id = ?",
            params![new_parent, mailbox.id.0],
        )?;
        tx.commit()?;
        self.feed.publish(modseq, changes);
        self.mailbox(&to)
    }

    /// Deletes a mailbox without children, with its messages and annotations.
    pub fn delete_mailbox(&mut self, name: &str) -> Result<(), StoreError> {
        let mailbox = self.mailbox(name)?;
        if mailbox.name == "Inbox" {
            return Err(StoreError::InboxFixed("deleted"));
        }
        let tx = self.db.transaction()?;
        let children: i64 = tx.query_row(
            "SELECT count(*) FROM mailbox WHERE parent_id = ?",
            [mailbox.id.0],
            |r| r.get(0),
        )?;
        if children > 0 {
            return Err(StoreError::HasChildren(mailbox.name));
        }
        let modseq = next_modseq(&tx)?;
        let files: Vec<MessageId> = tx
            .prepare("SELECT id FROM message WHERE mailbox_id = ? AND expunged = 0")?
            .query_map([mailbox.id.0], |r| Ok(MessageId(r.get(0)?)))?
            .collect::<Result<_, _>>()?;
        tx.execute(
            "DELETE FROM message_text WHERE rowid IN (SELECT id FROM message WHERE mailbox_id = ?)",
            [mailbox.id.0],
        )?;
        tx.execute("DELETE FROM message WHERE mailbox_id = ?", [mailbox.id.0])?;
        tx.execute(
            "DELETE FROM annotation WHERE mailbox_id = ?",
            [mailbox.id.0],
        )?;
        tx.execute("DELETE FROM mailbox WHERE id = ?", [mailbox.id.0])?;
        tx.commit()?;
        // After the commit: a crash before this leaves orphans that recovery removes.
        self.files.remove_all(&files);
        self.feed.publish(
            modseq,
            vec![Change::MailboxDeleted {
                mailbox: mailbox.id,
                name: mailbox.name,
            }],
        );
        Ok(())
    }

    /// Subscribes to or unsubscribes from `name`, which need not exist (RFC 9051 6.3.7).
    pub fn set_subscribed(&mut self, name: &str, subscribed: bool) -> Result<(), StoreError> {
        let name = normalize_name(name)?;
        let tx = self.db.transaction()?;
        let changed = if subscribed {
            tx.execute(
                "INSERT OR IGNORE INTO subscription (name) VALUES (?)",
                [&name],
            )?
        } else {
            tx.execute("DELETE FROM subscription WHERE name = ?", [&name])?
        };
        let modseq = if changed > 0 { next_modseq(&tx)? } else { 0 };
        tx.commit()?;
        if changed > 0 {
            self.feed
                .publish(modseq, vec![Change::Subscribed { name, subscribed }]);
        }
        Ok(())
    }

    /// Subscribed names, existing or not, ordered.
    pub fn subscriptions(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .db
            .prepare("SELECT name FROM subscription ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_inbox_is_case_insensitive() {
        assert_eq!(normalize_name("INBOX").unwrap(), "Inbox");
        assert_eq!(normalize_name("inbox/Lists").unwrap(), "Inbox/Lists");
        assert_eq!(normalize_name("Inboxes").unwrap(), "Inboxes");
        for bad in ["", "/a", "a/", "a//b", "a\tb", "a*"] {
            assert!(normalize_name(bad).is_err(), "{bad:?}");
        }
    }
}
