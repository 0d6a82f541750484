//! What an operator does to queued recipients: hold, release, reschedule, and
//! read them back for failing or dropping (which `record` then retires).

use rusqlite::params_from_iter;

use super::attempts::DUE_COLUMNS;
use super::{Due, Outbox};
use crate::store::StoreError;

impl Outbox {
    /// Puts `recipients` on hold, or releases them; returns how many changed.
    pub fn set_hold(&self, recipients: &[i64], hold: bool) -> Result<usize, StoreError> {
        self.update(recipients, "hold = ?", hold)
    }

    /// Makes `recipients` due at `at`.
    pub fn reschedule(&self, recipients: &[i64], at: i64) -> Result<usize, StoreError> {
        self.update(recipients, "next_attempt = ?", at)
    }

    fn update(
        &self,
        recipients: &[i64],
        set: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<usize, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let mut changed = 0;
        {
            let mut query = tx.prepare(&format!("UPDATE recipient SET {set} WHERE id = ?"))?;
            for id in recipients {
                changed += query.execute(rusqlite::params![value, id])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// The queued `recipients` that still exist, with what delivering or
    /// reporting on them needs.
    pub fn due_rows(&self, recipients: &[i64]) -> Result<Vec<Due>, StoreError> {
        let db = self.db();
        let mut found = Vec::new();
        // SQLite limits the parameters of one statement.
        for chunk in recipients.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let mut query = db.prepare(&format!(
                "SELECT {DUE_COLUMNS} FROM recipient r JOIN message m ON m.id = r.message_id
                 WHERE r.id IN ({marks}) ORDER BY r.id"
            ))?;
            let rows = query.query_map(params_from_iter(chunk), Due::from_row)?;
            found.extend(rows.collect::<Result<Vec<_>, _>>()?);
        }
        Ok(found)
    }
}
