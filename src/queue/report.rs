//! DSNs about queued messages (RFC 3461, 3464): which outcomes the sender asked
//! to hear of, and getting the report to them.

use super::dsn::{Action, RecipientStatus, Report, compose};
use super::failure::Failure;
use super::worker::Attempted;
use super::{Queue, rcpt_params, recipient};
use crate::address::Address;
use crate::leniency::Leniencies;
use crate::smtp::{Notify, RcptParams, Reply, Ret};
use crate::store::outbox::{Attempt, Due, NewOutgoing, Outcome};

/// Which DSNs a recipient's NOTIFY asks for (RFC 3461 4.1). Without NOTIFY,
/// failures and delays are reported, success is not.
pub(super) fn wanted(notify: Option<Notify>, action: Action) -> bool {
    match notify {
        None => matches!(action, Action::Failed | Action::Delayed),
        Some(Notify::Never) => false,
        Some(Notify::On {
            success,
            failure,
            delay,
        }) => match action {
            Action::Failed => failure,
            Action::Delayed => delay,
            _ => success,
        },
    }
}

impl Queue {
    /// The DSN entry for a recipient's attempt, if the sender gets one: on
    /// failure, after the `delay_dsn_after`-th failed attempt (once), and on
    /// success if asked and the receiving server will not report it itself.
    pub(super) fn report_for(
        &self,
        due: &Due,
        attempt: &Attempt,
        result: &Result<Reply, Failure>,
        attempted: &Attempted,
    ) -> Option<RecipientStatus> {
        let attempts = due.attempts + 1;
        let now = attempt.at;
        let action = match attempt.outcome {
            Outcome::Failed | Outcome::Cancelled => Action::Failed,
            Outcome::Retry(_)
                if attempts == self.settings.config.delay_dsn_after && !due.delay_reported =>
            {
                Action::Delayed
            }
            Outcome::Delivered if !attempted.remote_dsn => Action::Relayed,
            _ => return None,
        };
        let params = rcpt_params(&due.params);
        if due.sender.is_empty() || !wanted(params.notify, action) {
            return None;
        }
        let (status, diagnostic, reason) = match result {
            Ok(reply) => (
                reply.enhanced.unwrap_or(crate::smtp::Enhanced(2, 0, 0)),
                Some(reply.clone()),
                None,
            ),
            Err(f) => (f.status, f.reply.clone(), Some(f.reason.clone())),
        };
        let will_retry_until =
            (action == Action::Delayed).then(|| now + self.remaining_wait(attempts));
        Some(RecipientStatus {
            final_recipient: due.address.clone(),
            original_recipient: params.orcpt,
            action,
            status,
            remote_mta: diagnostic.is_some().then(|| attempted.host.clone()),
            diagnostic,
            reason,
            last_attempt: Some(now),
            will_retry_until,
        })
    }

    /// Seconds from now to the last attempt, after `failed` failed ones.
    fn remaining_wait(&self, failed: u32) -> i64 {
        (failed..self.settings.config.max_attempts)
            .map(|n| self.backoff(n))
            .sum()
    }

    /// Sends one DSN per message for the entries of `reports`.
    pub(super) fn send_reports(
        &self,
        reports: Vec<(&Due, RecipientStatus)>,
        data: &[u8],
        now: i64,
    ) {
        let Some((due, _)) = reports.first() else {
            return;
        };
        let due = *due;
        for (d, _) in reports.iter().filter(|(_, s)| s.action == Action::Delayed) {
            if let Err(e) = self.outbox.mark_delay_reported(d.recipient) {
                tracing::error!(error = %e, "noting a delay DSN");
            }
        }
        let report = Report {
            reporting_mta: self.settings.hostname.clone(),
            envid: due.envid.clone(),
            arrival: due.queued,
            smtputf8: due.smtputf8,
            recipients: reports.into_iter().map(|(_, s)| s).collect(),
        };
        let ret = due.ret.as_deref().and_then(Ret::from_name);
        let hostname = &self.settings.hostname;
        let id = format!("<{:016x}@{hostname}>", rand::random::<u64>());
        let postmaster = format!("postmaster@{hostname}");
        let dsn = compose(&report, &postmaster, &due.sender, data, ret, now, &id);
        match self.local.deliver_local(&due.sender, &dsn) {
            Ok(true) => tracing::info!(to = due.sender, queued = due.message, "DSN delivered"),
            Ok(false) => self.queue_report(due, &report, &dsn, &id),
            Err(e) => tracing::error!(to = due.sender, error = e, "delivering a DSN"),
        }
    }

    /// A DSN for a sender elsewhere goes out through the queue, from the null
    /// path so that no DSN is ever sent about it (RFC 3461 6.2).
    fn queue_report(&self, due: &Due, report: &Report, dsn: &[u8], id: &str) {
        let to = match Address::parse(&due.sender, Leniencies::PEDANTIC) {
            Ok(to) => to,
            Err(e) => {
                tracing::error!(to = due.sender, error = %e, "cannot send a DSN to this sender");
                return;
            }
        };
        let new = NewOutgoing {
            smtputf8: report.smtputf8 || !due.sender.is_ascii(),
            header_message_id: id.to_string(),
            recipients: vec![recipient(&to, &RcptParams::default())],
            first_attempt: crate::message::now(),
            ..NewOutgoing::default()
        };
        if let Err(e) = self.enqueue(&new, dsn) {
            tracing::error!(to = due.sender, error = %e, "queueing a DSN");
        }
    }
}
