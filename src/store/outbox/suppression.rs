//! Per-account suppression lists: recipients an account's mail is no longer
//! sent to, because earlier mail to them failed for good (or the operator said
//! so). Mail to a suppressed recipient fails at once, without an attempt.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::Outbox;
use crate::store::StoreError;

/// One suppressed recipient of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    pub account: String,
    pub address: String,
    pub reason: String,
    /// Added by the operator rather than by a failed delivery.
    pub manual: bool,
    pub created: i64,
}

impl Suppressed {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Suppressed> {
        Ok(Suppressed {
            account: r.get(0)?,
            address: r.get(1)?,
            reason: r.get(2)?,
            manual: r.get(3)?,
            created: r.get(4)?,
        })
    }
}

/// Why `address` is on `account`'s list, if it is; `db` may be a transaction.
pub(super) fn suppression_reason(
    db: &Connection,
    account: &str,
    address: &str,
) -> Result<Option<String>, StoreError> {
    let reason = db
        .query_row(
            "SELECT reason FROM suppression WHERE account = ? AND key = ?",
            params![account, key(address)],
            |r| r.get(0),
        )
        .optional()?;
    Ok(reason)
}

/// Addresses are matched without regard to case: a bounced Bob@ is bob@ too.
fn key(address: &str) -> String {
    address.to_lowercase()
}

impl Outbox {
    /// Adds `entry` to its account's list; false when the address was on it
    /// already (the first entry stays).
    pub fn suppress(&self, entry: &Suppressed) -> Result<bool, StoreError> {
        let added = self.db().execute(
            "INSERT OR IGNORE INTO suppression (account, address, key, reason, manual, created)
             VALUES (?, ?, ?, ?, ?, ?)",
            params![
                entry.account,
                entry.address,
                key(&entry.address),
                entry.reason,
                entry.manual,
                entry.created
            ],
        )?;
        Ok(added > 0)
    }

    /// Takes `address` off `account`'s list; false when it was not on it.
    pub fn unsuppress(&self, account: &str, address: &str) -> Result<bool, StoreError> {
        let removed = self.db().execute(
            "DELETE FROM suppression WHERE account = ? AND key = ?",
            params![account, key(address)],
        )?;
        Ok(removed > 0)
    }

    /// Why `address` is on `account`'s list, if it is.
    pub fn suppressed(&self, account: &str, address: &str) -> Result<Option<String>, StoreError> {
        suppression_reason(&self.db(), account, address)
    }

    /// The list of `account`, or of every account, by account and address.
    pub fn suppressions(&self, account: Option<&str>) -> Result<Vec<Suppressed>, StoreError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT account, address, reason, manual, created FROM suppression
             WHERE ?1 IS NULL OR account = ?1 ORDER BY account, key",
        )?;
        let rows = query.query_map([account], Suppressed::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether the last `n` delivery attempts that finished a recipient from
    /// `account` to `address` all failed (and there were `n`); failures by the
    /// operator or the suppression list are not counted.
    pub fn failed_last(&self, account: &str, address: &str, n: u32) -> Result<bool, StoreError> {
        let db = self.db();
        let (count, delivered): (u32, u32) = db.query_row(
            "SELECT count(*), coalesce(sum(delivered), 0) FROM (
                 SELECT delivered FROM retired
                 WHERE account = ? AND lower(address) = ? AND attempted = 1
                 ORDER BY finished DESC, id DESC LIMIT ?)",
            params![account, key(address), n],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(count == n && delivered == 0)
    }
}
