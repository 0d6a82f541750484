//! Hold rules: new recipients that match one are queued on hold, to wait for
//! an operator's release.

use rusqlite::{Row, Transaction, params};
use serde::{Deserialize, Serialize};

use super::Outbox;
use crate::address::{ascii_domain, domain_of};
use crate::store::StoreError;

/// A rule; an empty field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRule {
    /// Set by the store when the rule is added.
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub sender_domain: String,
    #[serde(default)]
    pub recipient_domain: String,
}

impl HoldRule {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<HoldRule> {
        Ok(HoldRule {
            id: r.get(0)?,
            account: r.get(1)?,
            sender_domain: r.get(2)?,
            recipient_domain: r.get(3)?,
        })
    }
}

impl Outbox {
    /// Adds `rule` (domains compared in lower-case ASCII) and returns it with
    /// its id.
    pub fn add_hold_rule(&self, rule: &HoldRule) -> Result<HoldRule, StoreError> {
        let normal = |d: &str| {
            if d.is_empty() {
                String::new()
            } else {
                ascii_domain(d)
            }
        };
        let mut rule = HoldRule {
            id: 0,
            account: rule.account.clone(),
            sender_domain: normal(&rule.sender_domain),
            recipient_domain: normal(&rule.recipient_domain),
        };
        let db = self.db();
        db.execute(
            "INSERT INTO hold_rule (account, sender_domain, recipient_domain) VALUES (?, ?, ?)",
            params![rule.account, rule.sender_domain, rule.recipient_domain],
        )?;
        rule.id = db.last_insert_rowid();
        Ok(rule)
    }

    /// Removes the rule `id`; false when there is none. Recipients it put on
    /// hold stay there until released.
    pub fn remove_hold_rule(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .db()
            .execute("DELETE FROM hold_rule WHERE id = ?", [id])?
            > 0)
    }

    pub fn hold_rules(&self) -> Result<Vec<HoldRule>, StoreError> {
        let db = self.db();
        let mut query = db.prepare(
            "SELECT id, account, sender_domain, recipient_domain FROM hold_rule ORDER BY id",
        )?;
        let rows = query.query_map([], HoldRule::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether a rule holds a recipient at `recipient_domain` (lower-case ASCII)
/// of a message from `account` and `sender`.
pub(super) fn held_by_rule(
    tx: &Transaction<'_>,
    account: &str,
    sender: &str,
    recipient_domain: &str,
) -> Result<bool, StoreError> {
    let sender_domain = domain_of(sender).unwrap_or_default();
    let mut query = tx.prepare_cached(
        "SELECT 1 FROM hold_rule
         WHERE account IN ('', ?1) AND sender_domain IN ('', ?2) AND recipient_domain IN ('', ?3)",
    )?;
    Ok(query.exists(params![account, sender_domain, recipient_domain])?)
}
