//! Messages: stage and deliver (one or many, atomically), copy, move, flags and
//! keywords (with UNCHANGEDSINCE), expunge with tombstones, and reading them back.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::StoreError;
use super::account::{Account, next_modseq};
use super::feed::{Change, Feed};
use super::files::Files;
use super::parse::{self, Fields, fields};
use super::quota::Usage;
use super::types::{FlagOp, Flags, MailboxId, MessageId, MessageMeta, ModSeq, Received, Uid};
use crate::message::now;

/// A message written to disk, not yet in any mailbox; [`Account::deliver`] makes it
/// durable. Dropping it removes the file.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    size: u64,
    fields: Fields,
}

impl Staged {
    /// Writes `data` to a temporary file of the account whose files `files` are.
    /// Needs no lock on the account: concurrent deliveries stage in parallel.
    pub(super) fn write(files: &Files, data: &[u8]) -> Result<Staged, StoreError> {
        let path = files
            .stage(data)
            .map_err(|e| StoreError::io(files.dir(), e))?;
        Ok(Staged {
            path,
            size: data.len() as u64,
            fields: fields(data),
        })
    }

    pub(super) fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Once installed the file has moved and this finds nothing: that is fine.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What to store with a new message besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub flags: Flags,
    pub keywords: Vec<String>,
    /// Arrival time (IMAP INTERNALDATE), seconds since the epoch; now when `None`.
    pub internal_date: Option<i64>,
    pub received: Received,
}

/// The outcome of a flag change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagsResult {
    /// Messages whose flags or keywords changed, as they are now.
    pub changed: Vec<MessageMeta>,
    /// UIDs not changed because they were modified after the UNCHANGEDSINCE modseq
    /// (RFC 7162 3.1.3: reported in the MODIFIED response code).
    pub modified: Vec<Uid>,
}

const META_COLUMNS: &str = "id, mailbox_id, uid, modseq, create_seq, flags, keywords, internal_date, save_date, size, message_id, thread_id, ifnull(email_id, id)";

fn meta_from_row(r: &Row<'_>) -> rusqlite::Result<MessageMeta> {
    let keywords: String = r.get(6)?;
    Ok(MessageMeta {
        id: MessageId(r.get(0)?),
        mailbox: MailboxId(r.get(1)?),
        uid: r.get(2)?,
        modseq: r.get(3)?,
        create_seq: r.get(4)?,
        flags: Flags(r.get(5)?),
        keywords: keywords.split_whitespace().map(str::to_string).collect(),
        internal_date: r.get(7)?,
        save_date: r.get(8)?,
        size: r.get(9)?,
        message_id: r.get(10)?,
        thread_id: r.get(11)?,
        email_id: r.get(12)?,
    })
}

/// Keywords as stored: as the client spelled them (clients such as Thunderbird look
/// for `$Forwarded` exactly), but unique and sorted ignoring ASCII case, as IMAP
/// compares them (RFC 9051 2.3.2). The first spelling given wins.
fn normalize_keywords(keywords: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::new();
    for k in keywords {
        if k.is_empty() || k.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(StoreError::InvalidKeyword(k.clone()));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
            out.push(k.clone());
        }
    }
    out.sort_by_key(|k| k.to_ascii_lowercase());
    Ok(out)
}

impl Account {
    /// Writes a message to a temporary file, ready for [`Account::deliver`]. Only the
    /// header fields kept in columns are parsed now; the text for the search index is
    /// taken later, off the delivery's path (see [`Account::index_when_due`]).
    pub fn stage(&self, data: &[u8]) -> Result<Staged, StoreError> {
        Staged::write(&self.files, data)
    }

    /// Puts staged messages into `mailbox`, all or none. When this returns, the
    /// messages are durable and committed: the caller may acknowledge them. Their
    /// files are fsynced before the commit, all at once.
    pub fn deliver(
        &mut self,
        mailbox: MailboxId,
        messages: Vec<(Staged, NewMessage)>,
    ) -> Result<Vec<Uid>, StoreError> {
        self.check_quota(Usage {
            bytes: messages.iter().map(|(s, _)| s.size).sum(),
            messages: messages.len() as u64,
        })?;
        self.deliver_replacing(mailbox, messages, None)
    }

    /// Puts a staged message into `mailbox` and expunges message `old` of
    /// `old_mailbox` in the same transaction (IMAP REPLACE, RFC 8508): both
    /// happen or neither. Returns the new message's UID; fails with
    /// [`StoreError::NoMessage`] when `old` is not there (expunged meanwhile).
    pub fn replace(
        &mut self,
        (old_mailbox, old): (MailboxId, Uid),
        mailbox: MailboxId,
        message: (Staged, NewMessage),
    ) -> Result<Uid, StoreError> {
        let gone = self.messages_by_uid(old_mailbox, &[old])?;
        let Some(replaced) = gone.first() else {
            return Err(StoreError::NoMessage(old));
        };
        // The replaced message's room is freed in the same transaction.
        self.check_quota(Usage {
            bytes: message.0.size.saturating_sub(replaced.size),
            messages: 0,
        })?;
        let uids = self.deliver_replacing(mailbox, vec![message], Some((old_mailbox, gone)))?;
        Ok(uids[0])
    }

    /// Delivers, and expunges `replaced` (messages of a mailbox) in the same
    /// transaction; the quota was checked by the caller.
    fn deliver_replacing(
        &mut self,
        mailbox: MailboxId,
        messages: Vec<(Staged, NewMessage)>,
        replaced: Option<(MailboxId, Vec<MessageMeta>)>,
    ) -> Result<Vec<Uid>, StoreError> {
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        let mut uid = take_uids(&tx, mailbox, messages.len(), modseq)?;
        let (mut uids, mut installed, mut changes) = (Vec::new(), Vec::new(), Vec::new());
        let result = (|| {
            for (staged, new) in &messages {
                let keywords = normalize_keywords(&new.keywords)?;
                let id = insert_message(&tx, mailbox, uid, modseq, staged, new, &keywords)?;
                self.files
                    .install(&staged.path, id)
                    .map_err(|e| StoreError::io(&self.dir, e))?;
                installed.push(id);
                changes.push(Change::Added {
                    mailbox,
                    uid,
                    flags: new.flags,
                    keywords,
                });
                uids.push(uid);
                uid += 1;
            }
            if let Some((old_mailbox, old)) = &replaced {
                mark_expunged(&tx, *old_mailbox, old, modseq)?;
                changes.push(Change::Expunged {
                    mailbox: *old_mailbox,
                    uids: old.iter().map(|m| m.uid).collect(),
                });
            }
            Ok(())
        })();
        finish(
            tx,
            result,
            (&installed, &installed),
            (&self.files, &self.feed),
            modseq,
            changes,
        )?;
        if let Some((_, old)) = replaced {
            self.files
                .remove_all(&old.iter().map(|m| m.id).collect::<Vec<_>>());
        }
        self.index_when_due(&installed);
        Ok(uids)
    }

    /// Copies messages to another mailbox, with their flags and keywords. Returns the
    /// (source UID, new UID) pairs, in source UID order (for COPYUID).
    pub fn copy(
        &mut self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<Vec<(Uid, Uid)>, StoreError> {
        self.transfer(from, uids, to, false)
    }

    /// Moves messages atomically: copies, then expunges the originals (RFC 6851).
    pub fn move_messages(
        &mut self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
    ) -> Result<Vec<(Uid, Uid)>, StoreError> {
        self.transfer(from, uids, to, true)
    }

    fn transfer(
        &mut self,
        from: MailboxId,
        uids: &[Uid],
        to: MailboxId,
        expunge: bool,
    ) -> Result<Vec<(Uid, Uid)>, StoreError> {
        let sources = self.messages_by_uid(from, uids)?;
        self.mailbox_by_id(to)?;
        if !expunge {
            self.check_quota(Usage {
                bytes: sources.iter().map(|m| m.size).sum(),
                messages: sources.len() as u64,
            })?;
        }
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        let mut uid = take_uids(&tx, to, sources.len(), modseq)?;
        let (mut pairs, mut linked, mut changes) = (Vec::new(), Vec::new(), Vec::new());
        let result = (|| {
            for m in &sources {
                let id = copy_row(&tx, m, to, uid, modseq)?;
                self.files
                    .link(m.id, id)
                    .map_err(|e| StoreError::io(&self.dir, e))?;
                linked.push(id);
                changes.push(Change::Added {
                    mailbox: to,
                    uid,
                    flags: m.flags,
                    keywords: m.keywords.clone(),
                });
                pairs.push((m.uid, uid));
                uid += 1;
            }
            if expunge {
                let moved: Vec<Uid> = sources.iter().map(|m| m.uid).collect();
                mark_expunged(&tx, from, &sources, modseq)?;
                changes.push(Change::Expunged {
                    mailbox: from,
                    uids: moved,
                });
            }
            Ok(())
        })();
        finish(
            tx,
            result,
            (&[], &linked),
            (&self.files, &self.feed),
            modseq,
            changes,
        )?;
        self.index_when_due(&linked);
        if expunge {
            self.files
                .remove_all(&sources.iter().map(|m| m.id).collect::<Vec<_>>());
        }
        Ok(pairs)
    }

    /// Changes flags and keywords of messages in `mailbox`. With `unchanged_since`,
    /// messages modified after that modseq are left alone and reported (CONDSTORE).
    pub fn set_flags(
        &mut self,
        mailbox: MailboxId,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
        unchanged_since: Option<ModSeq>,
    ) -> Result<FlagsResult, StoreError> {
        let keywords = normalize_keywords(keywords)?;
        let current = self.messages_by_uid(mailbox, uids)?;
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        let mut result = FlagsResult::default();
        let mut changes = Vec::new();
        for mut m in current {
            if unchanged_since.is_some_and(|since| m.modseq > since) {
                result.modified.push(m.uid);
                continue;
            }
            let (new_flags, new_keywords) = apply(op, &m, flags, &keywords);
            if new_flags == m.flags && new_keywords == m.keywords {
                continue;
            }
            tx.execute(
                "UPDATE message SET flags = ?, keywords = ?, modseq = ? WHERE id = ?",
                params![new_flags.0, new_keywords.join(" "), modseq, m.id.0],
            )?;
            (m.flags, m.keywords, m.modseq) = (new_flags, new_keywords, modseq);
            changes.push(Change::FlagsChanged {
                mailbox,
                uid: m.uid,
                flags: m.flags,
                keywords: m.keywords.clone(),
            });
            result.changed.push(m);
        }
        if !changes.is_empty() {
            tx.execute(
                "UPDATE mailbox SET modseq = ? WHERE id = ?",
                params![modseq, mailbox.0],
            )?;
            tx.commit()?;
            self.feed.publish(modseq, changes);
        }
        Ok(result)
    }

    /// Expunges exactly these messages (which to pick, e.g. those flagged \Deleted, is
    /// the protocol's choice). Their rows stay as tombstones for QRESYNC.
    pub fn expunge(&mut self, mailbox: MailboxId, uids: &[Uid]) -> Result<Vec<Uid>, StoreError> {
        let messages = self.messages_by_uid(mailbox, uids)?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.db.transaction()?;
        let modseq = next_modseq(&tx)?;
        mark_expunged(&tx, mailbox, &messages, modseq)?;
        tx.commit()?;
        let expunged: Vec<Uid> = messages.iter().map(|m| m.uid).collect();
        self.files
            .remove_all(&messages.iter().map(|m| m.id).collect::<Vec<_>>());
        self.feed.publish(
            modseq,
            vec![Change::Expunged {
                mailbox,
                uids: expunged.clone(),
            }],
        );
        Ok(expunged)
    }

    /// The messages of a mailbox in UID order.
    pub fn messages(&self, mailbox: MailboxId) -> Result<Vec<MessageMeta>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS} FROM message WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid"
        );
        let mut stmt = self.db.prepare_cached(&sql)?;
        let rows = stmt.query_map([mailbox.0], meta_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The messages among `uids` that exist in `mailbox`, in UID order.
    pub fn messages_by_uid(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS} FROM message WHERE mailbox_id = ? AND uid = ? AND expunged = 0"
        );
        let mut stmt = self.db.prepare_cached(&sql)?;
        let mut sorted = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        for uid in sorted {
            if let Some(m) = stmt
                .query_row(params![mailbox.0, uid], meta_from_row)
                .optional()?
            {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Messages added or changed after `modseq` (CONDSTORE CHANGEDSINCE).
    pub fn changed_since(
        &self,
        mailbox: MailboxId,
        modseq: ModSeq,
    ) -> Result<Vec<MessageMeta>, StoreError> {
        let sql = format!(
            "SELECT {META_COLUMNS} FROM message WHERE mailbox_id = ? AND modseq > ? AND expunged = 0 ORDER BY uid"
        );
        let mut stmt = self.db.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![mailbox.0, modseq], meta_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// UIDs expunged after `modseq` (QRESYNC VANISHED (EARLIER)).
    pub fn expunged_since(
        &self,
        mailbox: MailboxId,
        modseq: ModSeq,
    ) -> Result<Vec<Uid>, StoreError> {
        let mut stmt = self
            .db
            .prepare_cached("SELECT uid FROM message WHERE mailbox_id = ? AND modseq > ? AND expunged = 1 ORDER BY uid")?;
        let rows = stmt.query_map(params![mailbox.0, modseq], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The raw message, exactly as delivered.
    pub fn read(&self, id: MessageId) -> Result<Vec<u8>, StoreError> {
        let path = self.files.path(id);
        std::fs::read(&path).map_err(|e| StoreError::io(&path, e))
    }

    /// The message's header section (with the blank line that ends it), read without
    /// the body: what SORT and THREAD need of every message. At most
    /// [`HEADER_READ_MAX`] octets of a header that does not end sooner.
    pub fn header(&self, id: MessageId) -> Result<Vec<u8>, StoreError> {
        use std::io::Read;
        let path = self.files.path(id);
        let io = |e| StoreError::io(&path, e);
        let mut file = std::fs::File::open(&path).map_err(io)?;
        let mut out = Vec::new();
        let mut chunk = [0u8; 8192];
        while out.len() < HEADER_READ_MAX {
            let n = file.read(&mut chunk).map_err(io)?;
            if n == 0 {
                break;
            }
            // The end may straddle two chunks: look a few octets back.
            let from = out.len().saturating_sub(3);
            out.extend_from_slice(&chunk[..n]);
            if let Some(end) = header_end(&out[from..]) {
                out.truncate(from + end);
                break;
            }
        }
        out.truncate(HEADER_READ_MAX);
        Ok(out)
    }

    /// The message parsed with mail-parser (structure, decoded text, attachments).
    /// `None` when it cannot be parsed; a panic in the parser fails only this call.
    pub fn parsed(
        &self,
        id: MessageId,
    ) -> Result<Option<mail_parser::Message<'static>>, StoreError> {
        let raw = self.read(id)?;
        Ok(parse::parse_owned(&raw))
    }

    /// How a message arrived: the SMTP envelope details stored with it.
    pub fn received(&self, id: MessageId) -> Result<Received, StoreError> {
        let (remote_ip, ehlo, mail_from, verified, dsn): (_, _, _, String, _) = self.db.query_row(
            "SELECT remote_ip, ehlo, mail_from, verified_domains, dsn FROM message WHERE id = ?",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        Ok(Received {
            remote_ip,
            ehlo,
            mail_from,
            verified_domains: verified.split_whitespace().map(str::to_string).collect(),
            dsn,
        })
    }
}

/// Makes the files put in place durable (`written`: new files to fsync; `placed`: the
/// messages whose directory entries were added) and commits when `result` is Ok, then
/// publishes; otherwise rolls back and removes the files of `placed`.
fn finish(
    tx: Transaction<'_>,
    result: Result<(), StoreError>,
    (written, placed): (&[MessageId], &[MessageId]),
    (files, feed): (&Files, &Feed),
    modseq: ModSeq,
    changes: Vec<Change>,
) -> Result<(), StoreError> {
    let durable = |()| {
        files
            .sync(written, placed)
            .map_err(|e| StoreError::io(files.dir(), e))
    };
    match result
        .and_then(durable)
        .and_then(|()| tx.commit().map_err(StoreError::from))
    {
        Ok(()) => {
            feed.publish(modseq, changes);
            Ok(())
        }
        Err(e) => {
            files.remove_all(placed);
            Err(e)
        }
    }
}

/// Reserves `count` UIDs in `mailbox` and returns the first.
fn take_uids(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    count: usize,
    modseq: ModSeq,
) -> Result<Uid, StoreError> {
    tx.prepare_cached(
        "UPDATE mailbox SET uid_next = uid_next + ?, modseq = ? WHERE id = ? RETURNING uid_next - ?",
    )?
    .query_row(
        params![count as i64, modseq, mailbox.0, count as i64],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NoMailbox(format!("#{}", mailbox.0)))
}

/// The most [`Account::header`] reads of a header section.
pub const HEADER_READ_MAX: usize = 256 * 1024;

/// Where the header section of `bytes` ends (after its blank line), if it does:
/// CRLF CRLF, or bare LF LF in messages imported from files.
fn header_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn insert_message(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    uid: Uid,
    modseq: ModSeq,
    staged: &Staged,
    new: &NewMessage,
    keywords: &[String],
) -> Result<MessageId, StoreError> {
    let e = &staged.fields;
    let now = now();
    let mut insert = tx.prepare_cached(
        "INSERT INTO message (mailbox_id, uid, modseq, create_seq, flags, keywords, internal_date, save_date, size,
            message_id, in_reply_to, sent_date, remote_ip, ehlo, mail_from, verified_domains, dsn)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )?;
    let id: i64 = insert.query_row(
        params![
            mailbox.0,
            uid,
            modseq,
            modseq,
            new.flags.0,
            keywords.join(" "),
            new.internal_date.unwrap_or(now),
            now,
            staged.size,
            e.message_id,
            e.in_reply_to,
            e.sent_date,
            new.received.remote_ip,
            new.received.ehlo,
            new.received.mail_from,
            new.received.verified_domains.join(" "),
            new.received.dsn,
        ],
        |r| r.get(0),
    )?;
    let thread = thread_of(tx, &e.references)?.unwrap_or(id);
    tx.prepare_cached("UPDATE message SET thread_id = ? WHERE id = ?")?
        .execute(params![thread, id])?;
    Ok(MessageId(id))
}

/// The thread of the first referenced message found: replies join their parent's
/// thread, across mailboxes.
fn thread_of(tx: &Transaction<'_>, references: &[String]) -> Result<Option<i64>, StoreError> {
    let mut stmt =
        tx.prepare_cached("SELECT thread_id FROM message WHERE message_id = ? LIMIT 1")?;
    for r in references.iter().rev() {
        if let Some(t) = stmt.query_row([r], |row| row.get(0)).optional()? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// A copy of `m`'s row in another mailbox, saved now. Its search text is indexed
/// later, like a delivered message's.
fn copy_row(
    tx: &Transaction<'_>,
    m: &MessageMeta,
    to: MailboxId,
    uid: Uid,
    modseq: ModSeq,
) -> Result<MessageId, StoreError> {
    let id: i64 = tx.query_row(
        "INSERT INTO message (mailbox_id, uid, modseq, create_seq, flags, keywords, internal_date, save_date, size,
            message_id, in_reply_to, thread_id, sent_date, remote_ip, ehlo, mail_from, verified_domains, dsn, email_id)
         SELECT ?, ?, ?, ?, flags, keywords, internal_date, ?, size,
            message_id, in_reply_to, thread_id, sent_date, remote_ip, ehlo, mail_from, verified_domains, dsn,
            ifnull(email_id, id)
         FROM message WHERE id = ? RETURNING id",
        params![to.0, uid, modseq, modseq, now(), m.id.0],
        |r| r.get(0),
    )?;
    Ok(MessageId(id))
}

fn mark_expunged(
    tx: &Transaction<'_>,
    mailbox: MailboxId,
    messages: &[MessageMeta],
    modseq: ModSeq,
) -> Result<(), StoreError> {
    let mut update =
        tx.prepare_cached("UPDATE message SET expunged = 1, modseq = ? WHERE id = ?")?;
    let mut text = tx.prepare_cached("DELETE FROM message_text WHERE rowid = ?")?;
    for m in messages {
        update.execute(params![modseq, m.id.0])?;
        text.execute([m.id.0])?;
    }
    tx.execute(
        "UPDATE mailbox SET modseq = ? WHERE id = ?",
        params![modseq, mailbox.0],
    )?;
    Ok(())
}

/// Flags and keywords after `op`.
fn apply(op: FlagOp, m: &MessageMeta, flags: Flags, keywords: &[String]) -> (Flags, Vec<String>) {
    match op {
        FlagOp::Replace => (flags, keywords.to_vec()),
        FlagOp::Add => {
            // A keyword the message has keeps its spelling.
            let mut k = m.keywords.clone();
            for new in keywords {
                if !k.iter().any(|o| o.eq_ignore_ascii_case(new)) {
                    k.push(new.clone());
                }
            }
            k.sort_by_key(|k| k.to_ascii_lowercase());
            (m.flags.union(flags), k)
        }
        FlagOp::Remove => {
            let k = m
                .keywords
                .iter()
                .filter(|k| !keywords.iter().any(|r| r.eq_ignore_ascii_case(k)))
                .cloned()
                .collect();
            (m.flags.without(flags), k)
        }
    }
}
