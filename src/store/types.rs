//! The values the store hands out and takes in.

use std::fmt;

/// A mailbox's row id: stable across renames, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxId(pub i64);

/// A message's row id, which also names its file. Each copy of a message in another
/// mailbox is its own message with its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub i64);

/// A UID within one mailbox (RFC 9051 2.3.1.1): ascending, never reused while the
/// mailbox's UIDVALIDITY stays.
pub type Uid = u32;

/// An account-wide modification sequence (RFC 7162): every change gets a higher one.
pub type ModSeq = i64;

/// The IMAP system flags, as a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u8);

impl Flags {
    pub const SEEN: Flags = Flags(1);
    pub const ANSWERED: Flags = Flags(2);
    pub const FLAGGED: Flags = Flags(4);
    pub const DELETED: Flags = Flags(8);
    pub const DRAFT: Flags = Flags(16);
    const ALL: [(Flags, &'static str); 5] = [
        (Flags::SEEN, "\\Seen"),
        (Flags::ANSWERED, "\\Answered"),
        (Flags::FLAGGED, "\\Flagged"),
        (Flags::DELETED, "\\Deleted"),
        (Flags::DRAFT, "\\Draft"),
    ];

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

impl fmt::Display for Flags {
    /// The IMAP names, space-separated: `\Seen \Flagged`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Flags::ALL
            .iter()
            .filter(|(fl, _)| self.contains(*fl))
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&names.join(" "))
    }
}

/// Mailbox roles (RFC 6154), so clients find Sent, Trash and the others by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    Archive,
    Drafts,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    pub const ALL: [SpecialUse; 5] = [
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
    ];

    /// The IMAP attribute, which is also how it is stored.
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// The name a new account's mailbox with this role has.
    pub fn default_name(self) -> &'static str {
        &self.attribute()[1..]
    }

    pub fn from_attribute(s: &str) -> Option<SpecialUse> {
        SpecialUse::ALL
            .into_iter()
            .find(|u| u.attribute().eq_ignore_ascii_case(s))
    }
}

/// Message counts a mailbox keeps up to date, for STATUS and the web interfaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of message sizes in bytes.
    pub size: u64,
}

/// A mailbox as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub id: MailboxId,
    /// Full hierarchical name with `/` between levels, e.g. `Archive/2026`.
    pub name: String,
    pub parent: Option<MailboxId>,
    pub special_use: Option<SpecialUse>,
    pub uid_validity: u32,
    pub uid_next: Uid,
    /// The modseq of the latest change to the mailbox or a message in it.
    pub modseq: ModSeq,
    pub create_seq: ModSeq,
    pub counts: Counts,
}

/// What the store knows of a message without reading its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub id: MessageId,
    pub mailbox: MailboxId,
    pub uid: Uid,
    pub modseq: ModSeq,
    pub create_seq: ModSeq,
    pub flags: Flags,
    /// IMAP keywords as first spelled, unique and sorted ignoring ASCII case (they
    /// compare case-insensitively).
    pub keywords: Vec<String>,
    /// When the message arrived (IMAP INTERNALDATE), seconds since the Unix epoch.
    pub internal_date: i64,
    /// When it was put in this mailbox (RFC 8514 SAVEDATE), seconds since the epoch.
    pub save_date: i64,
    /// Size of the raw message in bytes.
    pub size: u64,
    pub message_id: String,
    pub thread_id: i64,
    /// The same for every copy of one delivered message (IMAP EMAILID): the id of
    /// the message copies were first made from.
    pub email_id: i64,
}

/// How the message reached us, kept for reputation-based junk filtering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub remote_ip: Option<String>,
    pub ehlo: Option<String>,
    pub mail_from: Option<String>,
    /// Domains that passed SPF or DKIM verification.
    pub verified_domains: Vec<String>,
    /// The DSN request of the envelope (RFC 3461) as ESMTP parameters: RET and
    /// ENVID of MAIL FROM, NOTIFY and ORCPT of the recipient it was delivered for,
    /// e.g. `RET=HDRS ENVID=x1 NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.org`.
    pub dsn: Option<String>,
}

/// How a flag change applies (IMAP STORE FLAGS, +FLAGS, -FLAGS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}
