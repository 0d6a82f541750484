//! Search primitives: the building blocks of IMAP SEARCH, evaluated in SQLite, and
//! the full-text index they use.
//!
//! Header and body text come from the `message_text` full-text table. Its trigram
//! tokens let `LIKE '%text%'` use the index, which gives IMAP's case-insensitive
//! substring semantics (RFC 9051 6.4.4) without scanning every message file.
//!
//! Messages are indexed after their delivery has committed, in batches: FTS5 writes
//! a segment per transaction and merges segments as they pile up, so indexing each
//! delivery in its own commit cost more CPU than the rest of the delivery. The index
//! holds every message with an id up to `account_state.indexed_through`; a search on
//! text first indexes the messages past that mark, so its results are always exact.

use std::io;
use std::ops::RangeInclusive;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params, params_from_iter};

use super::StoreError;
use super::account::Account;
use super::parse::{self, Text};
use super::types::{Flags, MailboxId, MessageId, ModSeq, Uid};

/// Messages indexed per transaction, and how many may wait before a delivery indexes
/// them. Larger batches cost less per message but make that one delivery slower.
pub(super) const INDEX_BATCH: i64 = 256;

/// What to search for. Dates are seconds since the epoch; the protocol layer turns
/// IMAP's day-based dates into ranges in its time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    /// Messages with (`true`) or without (`false`) all of these system flags.
    Flags(Flags, bool),
    Keyword(String, bool),
    Uids(Vec<RangeInclusive<Uid>>),
    /// One of a message's times in `[from, until)`.
    Date {
        field: DateField,
        from: Option<i64>,
        until: Option<i64>,
    },
    /// RFC822.SIZE larger than the value.
    Larger(u64),
    Smaller(u64),
    /// A header field `name` whose value contains the text (any value when empty).
    Header(String, String),
    Body(String),
    /// Header or body.
    Text(String),
    /// Modseq at least this (CONDSTORE MODSEQ search).
    ModSeq(ModSeq),
    /// Copies of one delivered message (IMAP EMAILID, RFC 8474).
    EmailId(i64),
    /// Messages of one thread (IMAP THREADID).
    ThreadId(i64),
    And(Vec<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    Not(Box<SearchKey>),
}

/// The times of a message that can be searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    /// When it arrived (IMAP INTERNALDATE).
    Arrived,
    /// Its Date header field.
    Sent,
    /// When it was put in its mailbox (IMAP SAVEDATE, RFC 8514).
    Saved,
}

impl DateField {
    fn column(self) -> &'static str {
        match self {
            DateField::Arrived => "m.internal_date",
            DateField::Sent => "m.sent_date",
            DateField::Saved => "m.save_date",
        }
    }
}

/// Registers the SQL functions the search needs on a connection.
pub(super) fn register(db: &Connection) -> Result<(), StoreError> {
    db.create_scalar_function(
        "header_has",
        3,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let headers: String = ctx.get(0)?;
            let name: String = ctx.get(1)?;
            let text: String = ctx.get(2)?;
            Ok(header_has(&headers, &name, &text))
        },
    )?;
    Ok(())
}

/// Whether a header `name` (case-insensitive) has a value containing `text`
/// (case-insensitive). `headers` holds one "Name: value" line per field.
fn header_has(headers: &str, name: &str, text: &str) -> bool {
    let text = text.to_lowercase();
    headers.lines().any(|line| {
        line.split_once(": ")
            .is_some_and(|(n, v)| n.eq_ignore_ascii_case(name) && v.to_lowercase().contains(&text))
    })
}

/// `LIKE` pattern for a substring, with the wildcards in it escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `LIKE` pattern the trigram index can serve. Wildcard characters in the text become
/// `_`, which matches them too: the pattern matches a superset of the messages.
fn indexed_pattern(text: &str) -> String {
    format!("%{}%", text.replace(['%', '_'], "_"))
}

/// The bound parameters of a substring match. SQLite offers FTS5 only a two-argument
/// `LIKE` as an index constraint: with `ESCAPE` every row's text is read and compared
/// (a few hundred ms per 100,000 messages). So the indexed pattern comes first, and
/// the escaped one makes the match exact only when the text has wildcard characters.
struct Like {
    indexed: String,
    exact: Option<String>,
}

impl Like {
    fn bind(text: &str, bind: &mut impl FnMut(Value) -> String) -> Like {
        Like {
            indexed: bind(Value::Text(indexed_pattern(text))),
            exact: text
                .contains(['%', '_'])
                .then(|| bind(Value::Text(contains_pattern(text)))),
        }
    }

    fn on(&self, column: &str) -> String {
        let indexed = format!("{column} LIKE {}", self.indexed);
        match &self.exact {
            Some(exact) => format!("{indexed} AND {column} LIKE {exact} ESCAPE '\\'"),
            None => indexed,
        }
    }
}

/// Messages whose search text matches `condition`, as a subquery on the full-text
/// table that SQLite evaluates once. Unlike a join, it uses the index under OR and NOT.
fn text_rows(condition: &str) -> String {
    format!("m.id IN (SELECT rowid FROM message_text WHERE {condition})")
}

/// Builds a WHERE clause for `key`, pushing its parameters.
fn clause(key: &SearchKey, params: &mut Vec<Value>) -> String {
    // Numbered, so that one value can be used twice (Text searches two columns).
    let mut bind = |v: Value| {
        params.push(v);
        format!("?{}", params.len())
    };
    match key {
        SearchKey::All => "1".into(),
        SearchKey::Flags(flags, true) => format!("(m.flags & {0}) = {0}", flags.0),
        SearchKey::Flags(flags, false) => format!("(m.flags & {}) = 0", flags.0),
        SearchKey::Keyword(k, set) => {
            // Keywords compare ignoring ASCII case; SQLite's lower() folds ASCII only.
            let p = bind(Value::Text(k.to_ascii_lowercase()));
            let has = format!("instr(' ' || lower(m.keywords) || ' ', ' ' || {p} || ' ') > 0");
            if *set { has } else { format!("NOT {has}") }
        }
        SearchKey::Uids(ranges) if ranges.is_empty() => "0".into(),
        SearchKey::Uids(ranges) => {
            let parts: Vec<String> = ranges
                .iter()
                .map(|r| format!("m.uid BETWEEN {} AND {}", r.start(), r.end()))
                .collect();
            format!("({})", parts.join(" OR "))
        }
        SearchKey::Date { field, from, until } => range(field.column(), *from, *until),
        SearchKey::Larger(n) => format!("m.size > {n}"),
        SearchKey::Smaller(n) => format!("m.size < {n}"),
        SearchKey::Header(name, text) => {
            // header_has makes the match exact: the index's superset is enough.
            let pattern = bind(Value::Text(indexed_pattern(text)));
            let (name, text) = (
                bind(Value::Text(name.clone())),
                bind(Value::Text(text.clone())),
            );
            text_rows(&format!(
                "headers LIKE {pattern} AND header_has(headers, {name}, {text})"
            ))
        }
        SearchKey::Body(text) => text_rows(&Like::bind(text, &mut bind).on("body")),
        SearchKey::Text(text) => {
            // One subquery per column: FTS5 answers an OR of two LIKEs with a full scan.
            let like = Like::bind(text, &mut bind);
            let (headers, body) = (text_rows(&like.on("headers")), text_rows(&like.on("body")));
            format!("({headers} OR {body})")
        }
        SearchKey::ModSeq(n) => format!("m.modseq >= {n}"),
        SearchKey::EmailId(id) => format!("ifnull(m.email_id, m.id) = {id}"),
        SearchKey::ThreadId(id) => format!("m.thread_id = {id}"),
        SearchKey::And(keys) if keys.is_empty() => "1".into(),
        SearchKey::And(keys) => {
            let parts: Vec<String> = keys.iter().map(|k| clause(k, params)).collect();
            format!("({})", parts.join(" AND "))
        }
        SearchKey::Or(a, b) => format!("({} OR {})", clause(a, params), clause(b, params)),
        SearchKey::Not(k) => format!("NOT ({})", clause(k, params)),
    }
}

fn range(column: &str, from: Option<i64>, until: Option<i64>) -> String {
    let from = from.map_or("1".into(), |f| format!("{column} >= {f}"));
    let until = until.map_or("1".into(), |u| format!("{column} < {u}"));
    format!("({column} IS NOT NULL AND {from} AND {until})")
}

impl SearchKey {
    /// Whether evaluating the key reads the full-text index.
    fn reads_text(&self) -> bool {
        match self {
            SearchKey::Header(..) | SearchKey::Body(_) | SearchKey::Text(_) => true,
            SearchKey::And(keys) => keys.iter().any(SearchKey::reads_text),
            SearchKey::Or(a, b) => a.reads_text() || b.reads_text(),
            SearchKey::Not(k) => k.reads_text(),
            _ => false,
        }
    }
}

impl Account {
    /// UIDs of the messages in `mailbox` that match `key`, ascending.
    pub fn search(&self, mailbox: MailboxId, key: &SearchKey) -> Result<Vec<Uid>, StoreError> {
        if key.reads_text() {
            self.index_pending()?;
        }
        let mut params = vec![Value::Integer(mailbox.0)];
        let condition = clause(key, &mut params);
        let sql = format!(
            "SELECT m.uid FROM message m
             WHERE m.mailbox_id = ?1 AND m.expunged = 0 AND {condition} ORDER BY m.uid"
        );
        let mut stmt = self.db.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(params), |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Indexes the waiting messages once [`INDEX_BATCH`] of them have piled up; `added`
    /// are the messages just committed, the newest last. It runs after a commit that
    /// callers may already count on, so a failure is logged rather than returned; the
    /// next delivery or text search tries again.
    pub(super) fn index_when_due(&self, added: &[MessageId]) {
        let Some(newest) = added.last() else {
            return;
        };
        if let Err(e) = self.index_if_behind(*newest, added.len()) {
            tracing::warn!(account = %self.name, error = %e, "cannot update the search index; will retry");
        }
    }

    /// Indexes batches while a full one waits, but no more of them than `added`
    /// messages make: a delivery's share of the work stays in proportion to its size,
    /// even when failures have left a backlog (a text search indexes all of it).
    fn index_if_behind(&self, newest: MessageId, added: usize) -> Result<(), StoreError> {
        let mut mark: i64 =
            self.db
                .query_row("SELECT indexed_through FROM account_state", [], |r| {
                    r.get(0)
                })?;
        for _ in 0..added.div_ceil(INDEX_BATCH as usize) {
            if newest.0 - mark < INDEX_BATCH {
                break;
            }
            match self.index_batch()? {
                Some(indexed) => mark = indexed.0,
                None => break,
            }
        }
        Ok(())
    }

    /// Adds every message past the mark to the full-text index.
    pub(super) fn index_pending(&self) -> Result<(), StoreError> {
        while self.index_batch()?.is_some() {}
        Ok(())
    }

    /// Indexes up to [`INDEX_BATCH`] messages past the mark, in one transaction that
    /// also moves the mark past them; returns the new mark, or `None` when no message
    /// was waiting. (`&self`: the account's methods never leave a transaction open,
    /// so none is nested here.)
    fn index_batch(&self) -> Result<Option<MessageId>, StoreError> {
        let tx = self.db.unchecked_transaction()?;
        let ids = pending(&tx)?;
        let Some(&last) = ids.last() else {
            return Ok(None);
        };
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO message_text (rowid, headers, body) VALUES (?, ?, ?)",
            )?;
            for id in &ids {
                let text = self.text_of(*id)?;
                insert.execute(params![id.0, text.headers, text.body])?;
            }
        }
        tx.execute("UPDATE account_state SET indexed_through = ?", [last.0])?;
        tx.commit()?;
        Ok(Some(last))
    }

    /// The search text of a message, from its file. A missing file gives no text (and
    /// `verify` reports it) rather than holding up the index; other errors fail.
    fn text_of(&self, id: MessageId) -> Result<Text, StoreError> {
        let path = self.files.path(id);
        match std::fs::read(&path) {
            Ok(raw) => Ok(parse::text(&raw)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::warn!(file = %path.display(), "message file missing; indexed without text");
                Ok(Text::default())
            }
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}

/// The next messages past the mark, oldest first. Expunged ones are skipped: their
/// text would only be deleted again.
fn pending(tx: &Transaction<'_>) -> Result<Vec<MessageId>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM message WHERE expunged = 0
            AND id > (SELECT indexed_through FROM account_state) ORDER BY id LIMIT ?",
    )?;
    let rows = stmt.query_map([INDEX_BATCH], |r| Ok(MessageId(r.get(0)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matching_is_per_field_and_case_insensitive() {
        let headers = "Subject: Lunch plans\nFrom: Alice <alice@example.org>\n";
        assert!(header_has(headers, "subject", "LUNCH"));
        assert!(header_has(headers, "FROM", "alice@"));
        assert!(
            !header_has(headers, "Subject", "alice"),
            "text in another field does not count"
        );
        assert!(
            header_has(headers, "subject", ""),
            "empty text: the field exists"
        );
        assert!(!header_has(headers, "Cc", ""));
    }

    #[test]
    fn like_wildcards_in_the_text_are_literal() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
