//! The operator's hand on the queue (`gannet queue`, through the control
//! socket): list, hold, release, reschedule, fail, drop, and the hold rules
//! and suppression lists. Blocking: callers run these on the blocking pool.

use std::collections::BTreeMap;

use super::Queue;
use super::failure::Failure;
use super::worker::Attempted;
use crate::smtp::Enhanced;
use crate::store::StoreError;
use crate::store::outbox::{Attempt, Due, Filter, Outcome, Queued, Retired};

/// Where an operator's action stands in a recipient's history.
const OPERATOR: &str = "postmaster";

impl Queue {
    /// The queued recipients `filter` matches, in the order they were queued.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Queued>, StoreError> {
        let mut all = self.outbox.list()?;
        all.retain(|q| filter.matches(q));
        Ok(all)
    }

    /// The finished deliveries `filter` matches, most recent first.
    pub fn list_retired(&self, filter: &Filter) -> Result<Vec<Retired>, StoreError> {
        let mut all = self.outbox.retired()?;
        all.retain(|r| filter.matches_retired(r));
        Ok(all)
    }

    /// Puts the matching recipients on hold (`hold`) or releases them.
    pub fn hold(&self, filter: &Filter, hold: bool) -> Result<usize, StoreError> {
        let changed = self.outbox.set_hold(&self.selected(filter)?, hold)?;
        self.wake.notify_one();
        Ok(changed)
    }

    /// Makes the matching recipients due at `at` (held ones stay held).
    pub fn schedule(&self, filter: &Filter, at: i64) -> Result<usize, StoreError> {
        let changed = self.outbox.reschedule(&self.selected(filter)?, at)?;
        self.wake.notify_one();
        Ok(changed)
    }

    /// Fails the matching recipients now, without another attempt; their
    /// senders get a "failed" DSN as for any failure. Recipients at a domain
    /// with a delivery running are left alone: that attempt decides.
    pub fn fail(&self, filter: &Filter) -> Result<usize, StoreError> {
        let failure = Failure::permanent(
            Enhanced(5, 3, 0),
            "delivery cancelled by the mail system's administrator",
        );
        let mut failed = 0;
        for group in self.by_message(filter)? {
            failed += self.fail_now(&group, &failure);
        }
        Ok(failed)
    }

    /// Settles `group` (recipients of one message) as failed with `failure`,
    /// reporting to the sender; returns how many were still queued.
    pub(super) fn fail_now(&self, group: &[Due], failure: &Failure) -> usize {
        let data = self.outbox.read(group[0].message).unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading a queued message for its DSN");
            Vec::new()
        });
        let attempted = Attempted {
            host: OPERATOR.into(),
            via: None,
            delivering: false,
            results: vec![Err(failure.clone()); group.len()],
            remote_dsn: false,
        };
        self.settle(group, &attempted, &data).len()
    }

    /// Removes the matching recipients without a DSN; their history is kept
    /// with the retired deliveries. Like [`Queue::fail`], it leaves recipients
    /// being delivered alone.
    pub fn drop_recipients(&self, filter: &Filter) -> Result<usize, StoreError> {
        let attempt = Attempt {
            at: crate::message::now(),
            host: OPERATOR.into(),
            result: "dropped from the queue by the administrator; no DSN sent".into(),
            outcome: Outcome::Cancelled,
        };
        let mut dropped = 0;
        for due in self.idle(filter)? {
            dropped += usize::from(self.outbox.record(due.recipient, &attempt)?);
        }
        Ok(dropped)
    }

    /// The queued message `id` as it will be sent; None when it is not queued.
    pub fn dump(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let filter = Filter {
            messages: vec![id],
            ..Filter::default()
        };
        if self.list(&filter)?.is_empty() {
            return Ok(None);
        }
        self.outbox.read(id).map(Some)
    }

    fn selected(&self, filter: &Filter) -> Result<Vec<i64>, StoreError> {
        Ok(self.list(filter)?.iter().map(|q| q.recipient).collect())
    }

    /// The matching recipients at domains without a delivery running.
    fn idle(&self, filter: &Filter) -> Result<Vec<Due>, StoreError> {
        let mut rows = self.outbox.due_rows(&self.selected(filter)?)?;
        let busy = self.lock_busy();
        rows.retain(|due| !busy.contains(&due.domain));
        Ok(rows)
    }

    /// The matching idle recipients, grouped by message.
    fn by_message(&self, filter: &Filter) -> Result<Vec<Vec<Due>>, StoreError> {
        let mut groups: BTreeMap<i64, Vec<Due>> = BTreeMap::new();
        for due in self.idle(filter)? {
            groups.entry(due.message).or_default().push(due);
        }
        Ok(groups.into_values().collect())
    }
}
