//! The account database schema, as numbered migrations applied at open.
//!
//! `PRAGMA user_version` holds the number of migrations applied. A migration is never
//! edited once released: a change to the schema is a new entry at the end, and the
//! tests open a database at every earlier version and migrate it.

use rusqlite::Connection;

use super::StoreError;

/// Migration N (1-based) takes the schema from version N-1 to N.
pub const MIGRATIONS: &[&str] = &[
    // 1: mailboxes, messages with tombstones, annotations, settings, full-text index.
    r#"
    CREATE TABLE account_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        modseq INTEGER NOT NULL,
        uid_validity_next INTEGER NOT NULL
    );
    INSERT INTO account_state (id, modseq, uid_validity_next) VALUES (1, 1, 1);

    CREATE TABLE mailbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        -- The first level "Inbox" in any case is stored as "Inbox" (RFC 9051 5.1: INBOX
        -- is case-insensitive), so this is unique as IMAP means it.
        name TEXT NOT NULL UNIQUE,
        parent_id INTEGER REFERENCES mailbox(id),
        special_use TEXT,
        uid_validity INTEGER NOT NULL,
        uid_next INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        create_seq INTEGER NOT NULL,
        total INTEGER NOT NULL DEFAULT 0,
        unseen INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0
    );

    -- IMAP lets a client subscribe to names that do not exist (RFC 9051 6.3.7).
    CREATE TABLE subscription (name TEXT PRIMARY KEY);

    CREATE TABLE message (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mailbox_id INTEGER NOT NULL REFERENCES mailbox(id),
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        create_seq INTEGER NOT NULL,
        -- An expunged message stays as a tombstone (its file is gone) so that QRESYNC
        -- can report it as VANISHED (RFC 7162 3.2.10).
        expunged INTEGER NOT NULL DEFAULT 0,
        flags INTEGER NOT NULL DEFAULT 0,
        keywords TEXT NOT NULL DEFAULT '',
        internal_date INTEGER NOT NULL,
        save_date INTEGER NOT NULL,
        size INTEGER NOT NULL,
        message_id TEXT NOT NULL DEFAULT '',
        in_reply_to TEXT NOT NULL DEFAULT '',
        thread_id INTEGER NOT NULL DEFAULT 0,
        sent_date INTEGER,
        remote_ip TEXT,
        ehlo TEXT,
        mail_from TEXT,
        verified_domains TEXT NOT NULL DEFAULT '',
        UNIQUE (mailbox_id, uid)
    );
    CREATE INDEX message_modseq ON message (mailbox_id, modseq);
    CREATE INDEX message_message_id ON message (message_id) WHERE message_id != '';

    -- METADATA (RFC 5464): server annotations have mailbox_id NULL.
    CREATE TABLE annotation (
        mailbox_id INTEGER REFERENCES mailbox(id),
        entry TEXT NOT NULL,
        private INTEGER NOT NULL,
        value BLOB NOT NULL,
        modseq INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX annotation_key ON annotation (ifnull(mailbox_id, 0), entry, private);

    CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    -- Header and body text for SEARCH; trigram tokens give substring matching, as IMAP
    -- SEARCH requires (RFC 9051 6.4.4). rowid is message.id.
    CREATE VIRTUAL TABLE message_text USING fts5 (headers, body, tokenize = 'trigram');

    -- Mailbox counts follow every change to messages, so they cannot drift.
    CREATE TRIGGER message_counts_insert AFTER INSERT ON message WHEN NEW.expunged = 0 BEGIN
        UPDATE mailbox SET total = total + 1,
            unseen = unseen + (NEW.flags & 1 = 0),
            deleted = deleted + (NEW.flags & 8 != 0),
            size = size + NEW.size
        WHERE id = NEW.mailbox_id;
    END;
    CREATE TRIGGER message_counts_update AFTER UPDATE OF flags, expunged ON message BEGIN
        UPDATE mailbox SET total = total + (NEW.expunged = 0) - (OLD.expunged = 0),
            unseen = unseen + (NEW.expunged = 0 AND NEW.flags & 1 = 0) - (OLD.expunged = 0 AND OLD.flags & 1 = 0),
            deleted = deleted + (NEW.expunged = 0 AND NEW.flags & 8 != 0) - (OLD.expunged = 0 AND OLD.flags & 8 != 0),
            size = size + (NEW.expunged = 0) * NEW.size - (OLD.expunged = 0) * OLD.size
        WHERE id = NEW.mailbox_id;
    END;
    CREATE TRIGGER message_counts_delete AFTER DELETE ON message WHEN OLD.expunged = 0 BEGIN
        UPDATE mailbox SET total = total - 1,
            unseen = unseen - (OLD.flags & 1 = 0),
            deleted = deleted - (OLD.flags & 8 != 0),
            size = size - OLD.size
        WHERE id = OLD.mailbox_id;
    END;
    "#,
    // 2: the full-text index is filled after delivery, in batches (see search.rs):
    // messages with ids up to indexed_through are in it, later ones not yet. Version 1
    // indexed every message as it was stored. The index keeps which column a trigram
    // is in but not its positions, which makes indexing about a third cheaper: a
    // trigram LIKE is checked against the text of each candidate row anyway, so the
    // results are the same. The text is carried over, so nothing is indexed again.
    r#"
    ALTER TABLE account_state ADD COLUMN indexed_through INTEGER NOT NULL DEFAULT 0;
    UPDATE account_state SET indexed_through = (SELECT ifnull(max(id), 0) FROM message);
    CREATE VIRTUAL TABLE message_text_2 USING fts5 (
        headers, body, tokenize = 'trigram', detail = column, columnsize = 0);
    INSERT INTO message_text_2 (rowid, headers, body)
        SELECT rowid, headers, body FROM message_text;
    DROP TABLE message_text;
    ALTER TABLE message_text_2 RENAME TO message_text;
    "#,
    // 3: the DSN request (RFC 3461) a message arrived with, in ESMTP parameter form.
    r#"
    ALTER TABLE message ADD COLUMN dsn TEXT;
    "#,
    // 4: the message a copy was made from, so all copies share one EMAILID (IMAP
    // OBJECTID, RFC 8474); NULL for an original, whose EMAILID comes from its id.
    r#"
    ALTER TABLE message ADD COLUMN email_id INTEGER;
    "#,
];

/// Brings the database to the latest version, one migration per transaction.
pub fn migrate(db: &mut Connection) -> Result<(), StoreError> {
    apply(db, MIGRATIONS)
}

/// For a read-only open, which cannot migrate: the database must be at the latest
/// version.
pub fn check_current(db: &Connection) -> Result<(), StoreError> {
    let found: usize = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len();
    match found.cmp(&known) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(StoreError::SchemaTooNew { found, known }),
        std::cmp::Ordering::Less => Err(StoreError::SchemaTooOld { found, known }),
    }
}

/// Applies the `migrations` a database has not had yet; its `user_version` counts
/// those it has. Shared by the account databases and the server-wide ones.
pub(super) fn apply(db: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let found: usize = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > migrations.len() {
        return Err(StoreError::SchemaTooNew {
            found,
            known: migrations.len(),
        });
    }
    for (i, sql) in migrations.iter().enumerate().skip(found) {
        let tx = db.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_is_idempotent_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Connection::open(dir.path().join("t.db")).unwrap();
        migrate(&mut db).unwrap();
        migrate(&mut db).unwrap();
        let version: usize = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        db.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut db),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    /// Every earlier version migrates to the latest: apply the first N migrations by
    /// hand, store a message with its search text (as every version does) when there
    /// is a schema, then migrate.
    #[test]
    fn every_earlier_version_migrates() {
        for applied in 0..MIGRATIONS.len() {
            let dir = tempfile::tempdir().unwrap();
            let mut db = Connection::open(dir.path().join("t.db")).unwrap();
            for (i, sql) in MIGRATIONS.iter().take(applied).enumerate() {
                db.execute_batch(sql).unwrap();
                db.pragma_update(None, "user_version", i + 1).unwrap();
            }
            let stored = applied > 0;
            if stored {
                store_indexed_message(&db, applied);
            }
            migrate(&mut db).unwrap();
            let count: i64 = db
                .query_row("SELECT count(*) FROM account_state", [], |r| r.get(0))
                .unwrap();
            assert_eq!(count, 1, "from version {applied}");
            let mark: i64 = db
                .query_row("SELECT indexed_through FROM account_state", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(
                mark,
                i64::from(stored),
                "from version {applied}: messages indexed before are not indexed again"
            );
            let found: Vec<i64> = db
                .prepare("SELECT rowid FROM message_text WHERE body LIKE '%tex%'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let want: &[i64] = if stored { &[1] } else { &[] };
            assert_eq!(found, want, "from version {applied}: the text is kept");
        }
    }

    /// A message (id 1) and its search text, as schema `version` stores them once
    /// indexed.
    fn store_indexed_message(db: &Connection, version: usize) {
        db.execute_batch(
            "INSERT INTO mailbox (name, uid_validity, uid_next, modseq, create_seq)
                VALUES ('Inbox', 1, 2, 1, 1);
             INSERT INTO message (mailbox_id, uid, modseq, create_seq, internal_date, save_date, size)
                VALUES (1, 1, 1, 1, 0, 0, 10);
             INSERT INTO message_text (rowid, headers, body) VALUES (1, 'Subject: hi', 'text');",
        )
        .unwrap();
        if version >= 2 {
            db.execute("UPDATE account_state SET indexed_through = 1", [])
                .unwrap();
        }
    }
}
