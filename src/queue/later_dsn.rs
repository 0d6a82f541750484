//! DSNs that come back for mail the queue delivered: a server took the
//! message, then failed to deliver it (or reports success, delay or relay).
//! Each is matched to the retired delivery it is about, through the unique
//! MAIL FROM the message was sent with or its Message-ID; a failure for a
//! mailbox that does not exist, reported to the unique MAIL FROM, suppresses
//! the recipient.

use super::Queue;
use super::dsn::{self, Action};
use crate::smtp::Enhanced;
use crate::store::outbox::LaterDsn;

impl Queue {
    /// Matches a DSN delivered to `account` at `to` (with the null reverse
    /// path) to the deliveries it reports on; returns how many matched. A
    /// message that is no DSN matches none.
    pub fn dsn_received(&self, account: &str, to: &str, message: &[u8]) -> usize {
        let report = match dsn::parse(message) {
            Ok(report) => report,
            Err(e) => {
                tracing::debug!(account, error = %e, "mail from <> that is no DSN");
                return 0;
            }
        };
        let mut matched = 0;
        for r in &report.recipients {
            let recipient = &r.final_recipient.value;
            let mut summary = format!("{} {}", r.action, r.status);
            if let Some(diagnostic) = &r.diagnostic {
                summary += &format!(": {}", diagnostic.value);
            }
            summary += &format!(" (reported by {})", report.reporting_mta.value);
            let dsn = LaterDsn {
                account,
                returned_to: to,
                message_id: report.original_message_id.as_deref(),
                recipient,
                summary: &summary,
            };
            match self.outbox.match_later_dsn(&dsn) {
                Ok(Some(found)) => {
                    matched += 1;
                    let retired = found.id;
                    tracing::info!(account, recipient, retired, summary, "DSN matched");
                    // Only the receiving server knew the unique MAIL FROM; a
                    // Message-ID could be used to forge a DSN.
                    if found.unique && r.action == Action::Failed && r.status == Enhanced(5, 1, 1) {
                        let reason = format!("a DSN reported: {summary}");
                        self.suppress_automatically(account, recipient, reason);
                    }
                }
                Ok(None) => tracing::info!(account, recipient, "DSN for no known delivery"),
                Err(e) => tracing::error!(error = %e, "matching a DSN"),
            }
        }
        matched
    }
}
