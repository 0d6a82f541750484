//! The per-account change feed: every committed change, published after the commit,
//! so IMAP IDLE and NOTIFY, the webmail and webhooks stay in step without polling.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::types::{Flags, MailboxId, ModSeq, Uid};

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added {
        mailbox: MailboxId,
        uid: Uid,
        flags: Flags,
        keywords: Vec<String>,
    },
    Expunged {
        mailbox: MailboxId,
        uids: Vec<Uid>,
    },
    FlagsChanged {
        mailbox: MailboxId,
        uid: Uid,
        flags: Flags,
        keywords: Vec<String>,
    },
    MailboxCreated {
        mailbox: MailboxId,
        name: String,
    },
    MailboxRenamed {
        mailbox: MailboxId,
        old: String,
        new: String,
    },
    MailboxDeleted {
        mailbox: MailboxId,
        name: String,
    },
    Subscribed {
        name: String,
        subscribed: bool,
    },
    AnnotationChanged {
        mailbox: Option<MailboxId>,
        /// The entry name without its `/private` or `/shared` prefix.
        entry: String,
        private: bool,
    },
}

/// The changes of one transaction, in order, all at one modseq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub modseq: ModSeq,
    pub changes: Vec<Change>,
}

/// How many change sets a slow subscriber may fall behind before it is told it
/// lagged (and must resynchronize from the store).
const CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
pub struct Feed {
    sender: broadcast::Sender<Arc<ChangeSet>>,
}

impl Feed {
    pub fn new() -> Feed {
        Feed {
            sender: broadcast::channel(CAPACITY).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeSet>> {
        self.sender.subscribe()
    }

    pub fn publish(&self, modseq: ModSeq, changes: Vec<Change>) {
        if !changes.is_empty() {
            // No subscribers is not an error: nobody is listening right now.
            let _ = self.sender.send(Arc::new(ChangeSet { modseq, changes }));
        }
    }
}
