//! Open accounts, shared: each account is opened once (its recovery pass runs once)
//! and its writes are serialized by a mutex. Sessions lock an account only for the
//! length of one store operation.
//!
//! Deliveries from concurrent sessions to one account are committed together
//! ([`Store::deliver`]): each stages its file without the lock, queues it, and
//! whoever holds the lock next commits everything queued in one transaction, so
//! one round of fsyncs serves many messages (group commit).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::files::Files;
use super::messages::{NewMessage, Staged};
use super::quota::{Quota, Usage};
use super::types::Uid;
use super::{Account, StoreError, account_dir};

pub type SharedAccount = Arc<Mutex<Account>>;

/// The accounts of one data directory.
#[derive(Default)]
pub struct Store {
    data_dir: PathBuf,
    open: Mutex<HashMap<String, Open>>,
    /// Each account's limits, given to it when it is opened.
    quotas: HashMap<String, Quota>,
}

/// An open account and its deliveries waiting to be committed.
#[derive(Clone)]
struct Open {
    account: SharedAccount,
    queue: Arc<Mutex<Vec<Queued>>>,
}

/// A staged delivery and where its outcome goes.
struct Queued {
    mailbox: String,
    staged: Staged,
    new: NewMessage,
    outcome: Arc<Mutex<Option<Result<Uid, StoreError>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    pub fn new(data_dir: PathBuf) -> Store {
        Store {
            data_dir,
            open: Mutex::default(),
            quotas: HashMap::new(),
        }
    }

    /// The store with these accounts' limits (from the configuration).
    pub fn with_quotas(mut self, quotas: HashMap<String, Quota>) -> Store {
        self.quotas = quotas;
        self
    }

    /// The account `name`, opened (and created) on first use.
    pub fn account(&self, name: &str) -> Result<SharedAccount, StoreError> {
        Ok(self.open(name)?.account)
    }

    fn open(&self, name: &str) -> Result<Open, StoreError> {
        let mut open = lock(&self.open);
        if let Some(o) = open.get(name) {
            return Ok(o.clone());
        }
        let dir = account_dir(&self.data_dir, name);
        let mut account = Account::open(&dir, name)?;
        account.set_quota(self.quotas.get(name).copied().unwrap_or_default());
        let o = Open {
            account: Arc::new(Mutex::new(account)),
            queue: Arc::default(),
        };
        open.insert(name.to_string(), o.clone());
        Ok(o)
    }

    /// Writes a message of account `name` to a temporary file, ready for
    /// [`Account::deliver`] or [`Account::replace`], without holding the account:
    /// the writing is the slow part, and others may use the account meanwhile.
    pub fn stage(&self, name: &str, data: &[u8]) -> Result<Staged, StoreError> {
        Staged::write(&Files::new(&account_dir(&self.data_dir, name)), data)
    }

    /// Delivers one message to `mailbox` of account `name`; returns when it is
    /// durable and committed, like [`Account::deliver`]. Concurrent calls for the
    /// same account share transactions.
    pub fn deliver(
        &self,
        name: &str,
        mailbox: &str,
        data: &[u8],
        new: NewMessage,
    ) -> Result<Uid, StoreError> {
        let open = self.open(name)?;
        let staged = self.stage(name, data)?;
        let outcome = Arc::default();
        lock(&open.queue).push(Queued {
            mailbox: mailbox.to_string(),
            staged,
            new,
            outcome: Arc::clone(&outcome),
        });
        let mut account = lock(&open.account);
        // Whoever held the lock before may have committed this message already.
        if let Some(done) = lock(&outcome).take() {
            return done;
        }
        let batch = std::mem::take(&mut *lock(&open.queue));
        commit(&mut account, batch);
        lock(&outcome).take().expect("the batch held this delivery")
    }
}

/// Commits queued deliveries, one transaction per mailbox, and hands out the
/// outcomes. Each message gets the outcome it would have had alone: those that
/// do not fit the quota (in queue order) are refused one by one, and only a
/// failure of the whole transaction fails them all.
fn commit(account: &mut Account, batch: Vec<Queued>) {
    let mut by_mailbox: HashMap<String, Vec<Queued>> = HashMap::new();
    for q in batch {
        by_mailbox.entry(q.mailbox.clone()).or_default().push(q);
    }
    for (mailbox, queued) in by_mailbox {
        let queued = refuse_over_quota(account, queued);
        let mut outcomes = Vec::with_capacity(queued.len());
        let mut messages = Vec::with_capacity(queued.len());
        for q in queued {
            outcomes.push(q.outcome);
            messages.push((q.staged, q.new));
        }
        if messages.is_empty() {
            continue;
        }
        let result = account
            .mailbox(&mailbox)
            .and_then(|m| account.deliver(m.id, messages));
        match result {
            Ok(uids) => {
                for (outcome, uid) in outcomes.iter().zip(uids) {
                    *lock(outcome) = Some(Ok(uid));
                }
            }
            Err(e) => {
                let text = e.to_string();
                *lock(&outcomes[0]) = Some(Err(e));
                for outcome in &outcomes[1..] {
                    *lock(outcome) = Some(Err(StoreError::BatchFailed(text.clone())));
                }
            }
        }
    }
}

/// Hands an over-quota outcome to each queued message that does not fit after the
/// ones before it; returns the others.
fn refuse_over_quota(account: &Account, queued: Vec<Queued>) -> Vec<Queued> {
    let quota = account.quota();
    if quota.is_unlimited() {
        return queued;
    }
    let Ok(mut used) = account.usage() else {
        // The usage cannot be read: the transaction checks again.
        return queued;
    };
    let mut fitting = Vec::with_capacity(queued.len());
    for q in queued {
        let needed = Usage {
            bytes: q.staged.size(),
            messages: 1,
        };
        match quota.refusal(used, needed) {
            Some(e) => *lock(&q.outcome) = Some(Err(e)),
            None => {
                used += needed;
                fitting.push(q);
            }
        }
    }
    fitting
}
