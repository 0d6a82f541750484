//! Quotas: an account's limits on storage and on the number of messages (the
//! STORAGE and MESSAGE resources of IMAP QUOTA, RFC 9208), what it uses, and the
//! check every delivery, APPEND and COPY passes.
//!
//! The limits come from the configuration (`quota_bytes`, `quota_messages` of an
//! account in domains.toml) and are held in memory by the open account: the
//! configuration is the one place they are set.

use rusqlite::params;

use super::StoreError;
use super::account::Account;
use super::types::MailboxId;

/// An account's limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    pub bytes: Option<u64>,
    pub messages: Option<u64>,
}

impl Quota {
    pub fn is_unlimited(&self) -> bool {
        self.bytes.is_none() && self.messages.is_none()
    }
}

/// What an account uses, or what an operation adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub messages: u64,
}

impl Account {
    pub fn quota(&self) -> Quota {
        self.quota
    }

    pub fn set_quota(&mut self, quota: Quota) {
        self.quota = quota;
    }

    /// Bytes and messages of all mailboxes (expunged messages no longer count).
    pub fn usage(&self) -> Result<Usage, StoreError> {
        let (bytes, messages): (i64, i64) = self.db.query_row(
            "SELECT ifnull(sum(size), 0), ifnull(sum(total), 0) FROM mailbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Usage {
            bytes: bytes as u64,
            messages: messages as u64,
        })
    }

    /// Bytes of the mailbox's messages flagged \Deleted: what EXPUNGE would free
    /// (IMAP STATUS DELETED-STORAGE, RFC 9208 4.2).
    pub fn deleted_storage(&self, mailbox: MailboxId) -> Result<u64, StoreError> {
        let bytes: i64 = self.db.query_row(
            "SELECT ifnull(sum(size), 0) FROM message WHERE mailbox_id = ? AND expunged = 0 AND flags & ? != 0",
            params![mailbox.0, super::types::Flags::DELETED.0],
            |r| r.get(0),
        )?;
        Ok(bytes as u64)
    }

    /// Refuses `needed` when it would take the account over a limit.
    pub(super) fn check_quota(&self, needed: Usage) -> Result<(), StoreError> {
        if self.quota.is_unlimited() {
            return Ok(());
        }
        match self.quota.refusal(self.usage()?, needed) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Quota {
    /// The error for adding `needed` to `used`, if that passes a limit.
    pub(super) fn refusal(&self, used: Usage, needed: Usage) -> Option<StoreError> {
        let over = |limit: Option<u64>, used: u64, needed: u64, unit| {
            let limit = limit.filter(|&l| needed > 0 && used + needed > l)?;
            Some(StoreError::OverQuota {
                unit,
                used,
                limit,
                needed,
            })
        };
        over(self.bytes, used.bytes, needed.bytes, "bytes")
            .or_else(|| over(self.messages, used.messages, needed.messages, "messages"))
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.bytes += other.bytes;
        self.messages += other.messages;
    }
}
