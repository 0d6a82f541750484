//! Keeping the store honest: the recovery pass at open, the consistency check that
//! tests run after every operation, and `gannet store verify [--fix]`.

use std::collections::HashSet;

use rusqlite::params;

use super::StoreError;
use super::account::Account;
use super::types::MessageId;

/// Each check is a query that returns one row per problem, described in words.
const CHECKS: &[(&str, &str)] = &[
    (
        "counts",
        "SELECT 'mailbox ' || b.name || ': counts (total ' || b.total || ', unseen ' || b.unseen || ', deleted '
            || b.deleted || ', size ' || b.size || ') differ from its messages (' || ifnull(m.total, 0) || ', '
            || ifnull(m.unseen, 0) || ', ' || ifnull(m.deleted, 0) || ', ' || ifnull(m.size, 0) || ')'
         FROM mailbox b LEFT JOIN (
            SELECT mailbox_id, count(*) total, sum(flags & 1 = 0) unseen, sum(flags & 8 != 0) deleted, sum(size) size
            FROM message WHERE expunged = 0 GROUP BY mailbox_id) m ON m.mailbox_id = b.id
         WHERE b.total != ifnull(m.total, 0) OR b.unseen != ifnull(m.unseen, 0)
            OR b.deleted != ifnull(m.deleted, 0) OR b.size != ifnull(m.size, 0)",
    ),
    (
        "uids",
        "SELECT 'mailbox ' || b.name || ': message UID ' || m.uid || ' is not below UIDNEXT ' || b.uid_next
         FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE m.uid >= b.uid_next OR m.uid < 1",
    ),
    (
        "modseqs",
        "SELECT 'message ' || m.id || ': modseq ' || m.modseq || ' is not between its createseq ' || m.create_seq
            || ', its mailbox''s modseq ' || b.modseq || ' and the account''s ' || a.modseq
         FROM message m JOIN mailbox b ON b.id = m.mailbox_id, account_state a
         WHERE m.modseq < m.create_seq OR m.modseq > b.modseq OR b.modseq > a.modseq",
    ),
    (
        "parents",
        "SELECT 'mailbox ' || c.name || ': parent ' || ifnull(p.name, '(missing)') || ' does not match its name'
         FROM mailbox c LEFT JOIN mailbox p ON p.id = c.parent_id
         WHERE (instr(c.name, '/') = 0) != (c.parent_id IS NULL)
            OR (c.parent_id IS NOT NULL AND (p.id IS NULL OR c.name NOT LIKE p.name || '/%'
                OR instr(substr(c.name, length(p.name) + 2), '/') != 0))",
    ),
    (
        // Messages past the indexed mark are waiting to be indexed (see search.rs):
        // they have no text yet, and must not have any, or indexing would add it twice.
        "search index",
        "SELECT 'message ' || m.id || ': no search text' FROM message m, account_state a
         WHERE m.expunged = 0 AND m.id <= a.indexed_through
            AND NOT EXISTS (SELECT 1 FROM message_text t WHERE t.rowid = m.id)
         UNION ALL
         SELECT 'search text ' || t.rowid || ': for no message' FROM message_text t
         WHERE NOT EXISTS (SELECT 1 FROM message m WHERE m.id = t.rowid AND m.expunged = 0)
         UNION ALL
         SELECT 'search text ' || t.rowid || ': past the indexed mark ' || a.indexed_through
         FROM message_text t, account_state a WHERE t.rowid > a.indexed_through",
    ),
];

impl Account {
    /// Removes what a crash can leave behind: staged files, and message files that no
    /// committed row refers to. Returns how many files were removed.
    pub(super) fn recover(&mut self) -> Result<usize, StoreError> {
        let io = |e| StoreError::io(&self.dir, e);
        let mut removed = self.files.clear_tmp().map_err(io)?;
        let live = self.live_ids()?;
        for id in self.files.list().map_err(io)? {
            if !live.contains(&id) {
                self.files.remove(id).map_err(io)?;
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(account = %self.name, files = removed, "removed files left by an interrupted operation");
        }
        Ok(removed)
    }

    fn live_ids(&self) -> Result<HashSet<MessageId>, StoreError> {
        let mut stmt = self
            .db
            .prepare("SELECT id FROM message WHERE expunged = 0")?;
        let rows = stmt.query_map([], |r| Ok(MessageId(r.get(0)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every inconsistency found, in words; empty when the account is consistent.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        for (_, sql) in CHECKS {
            let mut stmt = self.db.prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                problems.push(row?);
            }
        }
        problems.extend(self.file_problems()?);
        Ok(problems)
    }

    /// Missing files, files of the wrong size, and orphans.
    fn file_problems(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut stmt = self
            .db
            .prepare("SELECT id, size FROM message WHERE expunged = 0")?;
        let rows = stmt.query_map([], |r| Ok((MessageId(r.get(0)?), r.get::<_, u64>(1)?)))?;
        for row in rows {
            let (id, size) = row?;
            match std::fs::metadata(self.files.path(id)) {
                Ok(meta) if meta.len() == size => {}
                Ok(meta) => problems.push(format!(
                    "message {}: file has {} bytes, expected {size}",
                    id.0,
                    meta.len()
                )),
                Err(e) => problems.push(format!(
                    "message {}: file {}: {e}",
                    id.0,
                    self.files.path(id).display()
                )),
            }
        }
        let live = self.live_ids()?;
        for id in self
            .files
            .list()
            .map_err(|e| StoreError::io(&self.dir, e))?
        {
            if !live.contains(&id) {
                problems.push(format!(
                    "file {}: no message refers to it",
                    self.files.path(id).display()
                ));
            }
        }
        Ok(problems)
    }

    /// Repairs what can be repaired: recomputes counts, removes orphan files, and marks
    /// messages whose file is gone as expunged (their content is lost; clients are
    /// told). Returns what it did, in words.
    pub fn repair(&mut self) -> Result<Vec<String>, StoreError> {
        let mut done = Vec::new();
        let removed = self.recover()?;
        if removed > 0 {
            done.push(format!("removed {removed} orphan files"));
        }
        let missing: Vec<(i64, i64, u32)> = {
            let mut stmt = self
                .db
                .prepare("SELECT id, mailbox_id, uid FROM message WHERE expunged = 0")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|(id, _, _)| !self.files.path(MessageId(*id)).exists())
                .collect()
        };
        for (id, mailbox, uid) in missing {
            let ids = self.expunge(super::types::MailboxId(mailbox), &[uid])?;
            done.push(format!(
                "message {id} (UID {uid}) had no file: expunged {} message",
                ids.len()
            ));
        }
        let fixed = self.db.execute(
            "UPDATE mailbox SET
                total = (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0),
                unseen = (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0 AND m.flags & 1 = 0),
                deleted = (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0 AND m.flags & 8 != 0),
                size = (SELECT ifnull(sum(size), 0) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0),
                uid_next = max(uid_next, (SELECT ifnull(max(uid), 0) + 1 FROM message m WHERE m.mailbox_id = mailbox.id))
             WHERE total != (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0)
                OR size != (SELECT ifnull(sum(size), 0) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0)
                OR unseen != (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0 AND m.flags & 1 = 0)
                OR deleted != (SELECT count(*) FROM message m WHERE m.mailbox_id = mailbox.id AND m.expunged = 0 AND m.flags & 8 != 0)
                OR uid_next <= (SELECT ifnull(max(uid), 0) FROM message m WHERE m.mailbox_id = mailbox.id)",
            params![],
        )?;
        if fixed > 0 {
            done.push(format!(
                "recomputed counts and UIDNEXT of {fixed} mailboxes"
            ));
        }
        Ok(done)
    }
}
