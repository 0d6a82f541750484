//! The outgoing queue: messages waiting for delivery to other hosts, their
//! retries, and the delivery status notifications (DSNs) sent about them.
//!
//! Submission queues a message (durably, before its 250) with
//! [`Queue::enqueue`]; [`Queue::run`] delivers what is due, one connection per
//! destination domain at a time and a bounded number at once, through the
//! [`Transport`] its [`Routes`] choose. A temporary failure is retried after
//! 7.5 minutes, then after twice as long each time (`[queue]` in gannet.toml); the sender
//! gets a "delayed" DSN after the fifth failed attempt and a "failed" DSN when
//! delivery fails for good. The queue's state lives in
//! [`crate::store::outbox`].

mod admin;
pub mod dsn;
pub mod extra;
mod failure;
mod later_dsn;
mod mx;
mod report;
mod route;
mod settle;
#[cfg(test)]
mod tests;
mod transport;
mod worker;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::address::Address;
use crate::config::QueueConfig;
use crate::dns::Resolver;
use crate::smtp::RcptParams;
use crate::store::StoreError;
use crate::store::outbox::{NewOutgoing, NewRecipient, Outbox, OutgoingId};

pub use failure::Failure;
pub use route::{Route, Routes};
pub use transport::{Named, Proxy, Relay, Transport};

/// How the queue works.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This server's name: EHLO, and the Reporting-MTA of DSNs.
    pub hostname: String,
    /// Which transport takes which delivery: configured routes, or under
    /// `gannet localserve` its own SMTP port for everything.
    pub routes: Routes,
    pub config: QueueConfig,
    /// The port of direct delivery: 25, but in tests.
    pub direct_port: u16,
    /// One limit for every SMTP wait instead of RFC 5321's minutes (tests).
    pub client_timeout: Option<Duration>,
}

/// Where DSNs for local senders go: their accounts. Implemented where
/// accounts and addresses are known (the server), so this module needs
/// neither.
pub trait LocalMail: Send + Sync {
    /// Delivers `message` to the Inbox of the account `to` belongs to. `Ok(false)`
    /// when `to` is not a local address (the DSN is then queued for it).
    fn deliver_local(&self, to: &str, message: &[u8]) -> Result<bool, String>;
}

/// The queue of one server.
pub struct Queue {
    outbox: Outbox,
    settings: Settings,
    /// For MX lookups; a relay's host is looked up with the system's resolver.
    resolver: Option<Arc<dyn Resolver>>,
    local: Arc<dyn LocalMail>,
    /// Woken when something is queued or a delivery ends.
    wake: Notify,
    /// Destinations with a delivery running.
    busy: Mutex<HashSet<String>>,
    slots: Arc<Semaphore>,
}

impl Queue {
    pub fn new(
        outbox: Outbox,
        settings: Settings,
        resolver: Option<Arc<dyn Resolver>>,
        local: Arc<dyn LocalMail>,
    ) -> Arc<Queue> {
        let slots = Arc::new(Semaphore::new(
            settings.config.max_concurrent.max(1) as usize
        ));
        Arc::new(Queue {
            outbox,
            settings,
            resolver,
            local,
            wake: Notify::new(),
            busy: Mutex::default(),
            slots,
        })
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Queues a message; when this returns it is durable, and delivery starts
    /// soon after. Recipients on the account's suppression list fail at once.
    pub fn enqueue(&self, new: &NewOutgoing, data: &[u8]) -> Result<OutgoingId, StoreError> {
        let id = self.outbox.enqueue(new, data, crate::message::now())?;
        tracing::info!(
            id,
            sender = new.sender,
            recipients = new.recipients.len(),
            "queued"
        );
        self.fail_suppressed(&new.account, id, data);
        self.wake.notify_one();
        Ok(id)
    }
}

/// A queue entry's recipient: the address as sent in RCPT TO, its domain (ASCII,
/// lower case, how deliveries are grouped) and its DSN parameters.
pub fn recipient(to: &Address, params: &RcptParams) -> NewRecipient {
    NewRecipient {
        address: to.to_string(),
        domain: to.host.ascii().to_ascii_lowercase(),
        params: params.to_string(),
    }
}

/// The RCPT TO parameters kept in their wire form, read back. They were valid
/// when queued; anything unreadable is left out rather than block delivery.
fn rcpt_params(wire: &str) -> RcptParams {
    let mut params = RcptParams::default();
    for param in wire.split_whitespace() {
        let (keyword, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let _ = params.add(keyword, value);
    }
    params
}
