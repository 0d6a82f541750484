//! QUOTA (RFC 9208) with the STORAGE and MESSAGE resources: every account has one
//! quota root, named "", over all its mailboxes, with the limits domains.toml sets
//! (`quota_bytes`, `quota_messages`). Clients read it; only the configuration
//! changes it.

use super::{Done, Outcome, Session};
use crate::store::{Quota, Usage};

/// The name of an account's one quota root.
const ROOT: &str = "\"\"";

/// Octets as RFC 9208's storage unit (1024 octets), rounded up.
pub(super) fn kib(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

/// `* QUOTA "" (...)` with the resources that have a limit.
fn quota_line(quota: Quota, used: Usage) -> String {
    let mut resources = Vec::new();
    if let Some(limit) = quota.bytes {
        // Both rounded up, so a limit the account is within never shows as passed.
        resources.push(format!("STORAGE {} {}", kib(used.bytes), kib(limit)));
    }
    if let Some(limit) = quota.messages {
        resources.push(format!("MESSAGE {} {limit}", used.messages));
    }
    format!("* QUOTA {ROOT} ({})", resources.join(" "))
}

impl Session {
    /// GETQUOTAROOT: the mailbox's quota root (none when the account is unlimited)
    /// and its usage.
    pub(super) fn getquotaroot(&mut self, name: &str) -> Outcome {
        let store_name = self.store_name(name)?;
        let (quota, used) = self.with_account(|a| {
            a.mailbox(&store_name)?;
            Ok((a.quota(), a.usage()?))
        })?;
        let shown = self.name_value(&store_name);
        if quota.is_unlimited() {
            self.line(&format!("* QUOTAROOT {shown}"));
        } else {
            self.line(&format!("* QUOTAROOT {shown} {ROOT}"));
            self.line(&quota_line(quota, used));
        }
        Ok(Done::ok("GETQUOTAROOT done"))
    }

    /// GETQUOTA: the usage and limits of quota root "".
    pub(super) fn getquota(&mut self, root: &str) -> Outcome {
        let (quota, used) = self.with_account(|a| Ok((a.quota(), a.usage()?)))?;
        if !root.is_empty() || quota.is_unlimited() {
            return Err(Done::no(format!(
                "there is no quota root {root:?}; GETQUOTAROOT names a mailbox's"
            ))
            .code("NONEXISTENT"));
        }
        self.line(&quota_line(quota, used));
        Ok(Done::ok("GETQUOTA done"))
    }

    /// SETQUOTA: limits are the administrator's, in the configuration.
    pub(super) fn setquota(&mut self) -> Outcome {
        self.authenticated()?;
        Err(Done::no("quotas are set in domains.toml (quota_bytes, quota_messages)").code("NOPERM"))
    }
}
