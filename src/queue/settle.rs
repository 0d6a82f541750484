//! What an attempt's results mean: each recipient's attempt recorded, a retry
//! scheduled or the recipient retired, the sender told, and recipients that
//! keep failing put on their account's suppression list.

use super::Queue;
use super::failure::Failure;
use super::worker::Attempted;
use crate::smtp::{Enhanced, Reply};
use crate::store::outbox::{Attempt, Due, Filter, Outcome, OutgoingId, Suppressed};

/// A recipient that failed this many deliveries in a row is suppressed.
const FAILURES_TO_SUPPRESS: u32 = 3;

impl Queue {
    /// Settles a delivery attempt, then suppresses recipients that failed for
    /// good in a way that says they will keep failing.
    pub(super) fn finish(&self, group: &[Due], attempted: Attempted, data: &[u8]) {
        let failed = self.settle(group, &attempted, data);
        for (due, failure) in failed {
            self.suppress_if_hopeless(due, failure);
        }
    }

    /// Records each recipient's attempt, decides on retries, and reports to
    /// the sender. Returns the recipients that failed for good, with why.
    pub(super) fn settle<'a>(
        &self,
        group: &'a [Due],
        attempted: &'a Attempted,
        data: &[u8],
    ) -> Vec<(&'a Due, &'a Failure)> {
        let now = crate::message::now();
        let mut reports = Vec::new();
        let mut failed = Vec::new();
        for (due, result) in group.iter().zip(&attempted.results) {
            let attempts = due.attempts + 1;
            let (outcome, text) = match self.outcome(attempts, result, now) {
                (Outcome::Failed, text) if !attempted.delivering => (Outcome::Cancelled, text),
                decided => decided,
            };
            let attempt = Attempt {
                at: now,
                host: match &attempted.via {
                    Some(via) => format!("{} via {via}", attempted.host),
                    None => attempted.host.clone(),
                },
                result: text,
                outcome,
            };
            tracing::info!(
                queued = due.message,
                to = due.address,
                host = attempted.host,
                result = attempt.result,
                "attempt"
            );
            match self.outbox.record(due.recipient, &attempt) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        queued = due.message,
                        to = due.address,
                        result = attempt.result,
                        "result of an attempt for a recipient no longer queued (failed or dropped meanwhile)"
                    );
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, recipient = due.recipient, "recording a delivery attempt");
                    continue;
                }
            }
            if let Some(status) = self.report_for(due, &attempt, result, attempted) {
                reports.push((due, status));
            }
            if let (Outcome::Failed | Outcome::Cancelled, Err(failure)) = (outcome, result) {
                failed.push((due, failure));
            }
        }
        self.send_reports(reports, data, now);
        failed
    }

    /// What `result` means for a recipient after `attempts` attempts, and the
    /// history's line for it.
    fn outcome(
        &self,
        attempts: u32,
        result: &Result<Reply, Failure>,
        now: i64,
    ) -> (Outcome, String) {
        match result {
            Ok(reply) => (
                Outcome::Delivered,
                format!("delivered: {}", reply.one_line()),
            ),
            Err(f) if f.permanent => (Outcome::Failed, f.to_string()),
            Err(f) if attempts >= self.settings.config.max_attempts => (
                Outcome::Failed,
                format!("{f}; giving up after {attempts} attempts"),
            ),
            Err(f) => (Outcome::Retry(now + self.backoff(attempts)), f.to_string()),
        }
    }

    /// Seconds to wait after the `failed`-th failed attempt: the first retry
    /// delay, doubled for each failure before.
    pub(super) fn backoff(&self, failed: u32) -> i64 {
        let first = i64::from(self.settings.config.first_retry_seconds);
        first.saturating_mul(1 << failed.saturating_sub(1).min(30))
    }

    /// Puts a recipient that failed for good on its account's suppression
    /// list when the mailbox does not exist (X.1.1, RFC 3463) or when its
    /// last deliveries all failed. The server's own mail (DSNs) has no list.
    fn suppress_if_hopeless(&self, due: &Due, failure: &Failure) {
        if due.account.is_empty() {
            return;
        }
        let reason = if failure.status == Enhanced(5, 1, 1) {
            format!("the mailbox does not exist: {failure}")
        } else if failure.reply.is_none() {
            // Not the recipient's server saying no (DNS, a connection, a
            // transport): nothing about the recipient.
            return;
        } else {
            match self
                .outbox
                .failed_last(&due.account, &due.address, FAILURES_TO_SUPPRESS)
            {
                Ok(true) => format!(
                    "the last {FAILURES_TO_SUPPRESS} deliveries failed, the latest: {failure}"
                ),
                Ok(false) => return,
                Err(e) => {
                    tracing::error!(error = %e, "reading a recipient's deliveries");
                    return;
                }
            }
        };
        self.suppress_automatically(&due.account, &due.address, reason);
    }

    /// Puts `address` on `account`'s suppression list for `reason`.
    pub(super) fn suppress_automatically(&self, account: &str, address: &str, reason: String) {
        let entry = Suppressed {
            account: account.to_string(),
            address: address.to_string(),
            reason,
            manual: false,
            created: crate::message::now(),
        };
        match self.outbox.suppress(&entry) {
            Ok(true) => tracing::info!(
                account = entry.account,
                address = entry.address,
                reason = entry.reason,
                "recipient suppressed"
            ),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "adding to a suppression list"),
        }
    }

    /// Settles recipients a crash left never due, between queueing them and
    /// failing them for the suppression list: those still suppressed fail,
    /// the others (taken off the list meanwhile) are due now.
    pub(super) fn fail_stranded(&self) {
        let stranded: Vec<_> = match self.outbox.list() {
            Ok(all) => all
                .into_iter()
                .filter(|q| q.next_attempt == i64::MAX)
                .collect(),
            Err(e) => return tracing::error!(error = %e, "reading the queue"),
        };
        let messages: std::collections::BTreeMap<_, _> = stranded
            .iter()
            .map(|q| (q.message, q.account.as_str()))
            .collect();
        for (id, account) in messages {
            match self.outbox.read(id) {
                Ok(data) => self.fail_suppressed(account, id, &data),
                Err(e) => tracing::error!(error = %e, queued = id, "reading a queued message"),
            }
        }
        let ids: Vec<i64> = stranded.iter().map(|q| q.recipient).collect();
        if let Err(e) = self.outbox.reschedule(&ids, crate::message::now()) {
            tracing::error!(error = %e, "rescheduling recipients no longer suppressed");
        }
    }

    /// Fails the recipients of the queued message `id` that are on `account`'s
    /// suppression list, without an attempt; the sender gets the DSN.
    pub(super) fn fail_suppressed(&self, account: &str, id: OutgoingId, data: &[u8]) {
        if account.is_empty() {
            return;
        }
        let mut recipients = Vec::new();
        let mut results = Vec::new();
        let found = (|| {
            let filter = Filter {
                messages: vec![id],
                ..Filter::default()
            };
            for q in self.list(&filter)? {
                if let Some(reason) = self.outbox.suppressed(account, &q.address)? {
                    let why =
                        format!("not sent: the address is on the suppression list ({reason})");
                    recipients.push(q.recipient);
                    results.push(Err(Failure::permanent(Enhanced(5, 7, 1), why)));
                }
            }
            self.outbox.due_rows(&recipients)
        })();
        match found {
            Ok(group) if group.is_empty() => {}
            Ok(group) => {
                let attempted = Attempted {
                    host: "suppression list".into(),
                    via: None,
                    delivering: false,
                    results,
                    remote_dsn: false,
                };
                self.settle(&group, &attempted, data);
            }
            Err(e) => tracing::error!(error = %e, queued = id, "checking the suppression list"),
        }
    }
}
