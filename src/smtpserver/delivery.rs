//! Local delivery: recipients resolved through domains.toml, messages stored in the
//! accounts' Inboxes, once per account, with trace fields, durably before the reply.
//! Under `gannet localserve`, its [`Policy`] takes mail for any address, lets
//! submitters send as anyone, and answers the failures tests ask for.

use std::collections::BTreeSet;

use super::session::{Backend, Envelope, Refusal, received};
use crate::address::{Address, Domain, ForwardPath, ReversePath};
use crate::auth::{Authenticator, Login};
use crate::leniency::Leniencies;
use crate::localserve::Policy;
use crate::localserve::failures::Failure;
use crate::localserve::policy::Injected;
use crate::message::trace_headers;
use crate::recipients::{Destination, Recipients};
use crate::smtp::{Enhanced, MailParams, RcptParams, Reply};
use crate::store::{Flags, NewMessage, Received as StoreReceived, SpecialUse, Store, StoreError};

/// The backend of the SMTP services: incoming mail (port 25) and, with an
/// authenticator, submission. Until the outgoing queue exists, submission
/// delivers to local recipients only.
pub struct LocalDelivery<'a> {
    pub recipients: &'a Recipients,
    pub store: &'a Store,
    pub hostname: &'a Domain,
    pub authenticator: Option<&'a Authenticator>,
    /// The developer instance's policy, under `gannet localserve` only.
    pub local: Option<&'a Policy>,
}

fn temporary(e: impl std::fmt::Display) -> Reply {
    tracing::error!(error = %e, "delivery failed");
    Reply::new(
        451,
        Enhanced(4, 3, 0),
        "temporary failure storing the message; try again later",
    )
}

impl LocalDelivery<'_> {
    /// The address `<Postmaster>` stands for: postmaster at this host.
    fn postmaster(&self) -> Option<Address> {
        Address::parse(
            &format!("postmaster@{}", self.hostname.ascii()),
            Leniencies::PEDANTIC,
        )
        .ok()
    }

    fn address<'p>(&self, to: &'p ForwardPath) -> Option<std::borrow::Cow<'p, Address>> {
        match to {
            ForwardPath::Mailbox(a) => Some(std::borrow::Cow::Borrowed(a)),
            ForwardPath::Postmaster => self.postmaster().map(std::borrow::Cow::Owned),
        }
    }

    /// The accounts a recipient's mail goes to; `login` is the submitter.
    fn accounts(&self, to: &ForwardPath, login: Option<&Login>) -> Result<BTreeSet<String>, Reply> {
        let address = self.address(to).ok_or_else(|| no_such_user(to))?;
        match self.recipients.resolve(&address) {
            Some(Destination::Account(a)) => Ok(BTreeSet::from([a])),
            Some(Destination::Alias { remote, .. }) if !remote.is_empty() => Err(Reply::new(
                451,
                Enhanced(4, 3, 0),
                "this alias has remote members and outgoing delivery is not configured yet",
            )),
            Some(Destination::Alias { accounts, .. }) => Ok(accounts),
            None if let Some(local) = self.local => {
                Ok(BTreeSet::from([local.account_for(&address)]))
            }
            None if !self.recipients.is_local_domain(&address.host) && login.is_some() => {
                Err(Reply::new(
                    451,
                    Enhanced(4, 3, 5),
                    "outgoing delivery is not configured on this server yet; only local recipients can be delivered",
                ))
            }
            None if !self.recipients.is_local_domain(&address.host) => Err(Reply::new(
                550,
                Enhanced(5, 7, 1),
                "relaying denied: this server does not accept mail for that domain",
            )),
            None => Err(no_such_user(to)),
        }
    }
}

/// The answer to a failure localserve was asked for; a reply says why it came,
/// so the developer sees that it was asked for, and by what.
pub fn injected(i: Injected) -> Refusal {
    match i.failure {
        Failure::Timeout => Refusal::Silence,
        Failure::Disconnect => Refusal::Disconnect,
        Failure::Reply(code, enhanced) => Refusal::Reply(Reply::new(
            code,
            enhanced,
            format!("simulated failure ({}; gannet localserve)", i.why),
        )),
    }
}

fn no_such_user(to: &ForwardPath) -> Reply {
    Reply::new(550, Enhanced(5, 1, 1), format!("no such user: {to}"))
}

impl Backend for LocalDelivery<'_> {
    fn sender(&mut self, from: &ReversePath) -> Result<(), Refusal> {
        match self.local.and_then(|l| l.at_mail_from(from)) {
            Some(i) => Err(injected(i)),
            None => Ok(()),
        }
    }

    fn recipient(&mut self, to: &ForwardPath, login: Option<&Login>) -> Result<(), Refusal> {
        if let Some(i) = self.local.and_then(|l| l.at_rcpt_to(to)) {
            return Err(injected(i));
        }
        self.accounts(to, login).map(drop).map_err(Refusal::Reply)
    }

    /// Under localserve, anyone: applications under test send as their own domain.
    fn may_send_as(&self, login: &Login, address: &Address) -> bool {
        self.local.is_some() || self.recipients.may_send_as(&login.account, address)
    }

    fn authenticator(&self) -> Option<&Authenticator> {
        self.authenticator
    }

    fn deliver(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Refusal> {
        let recipients = envelope.recipients.iter().map(|(to, _)| to);
        if let Some(i) = self
            .local
            .and_then(|l| l.at_data(&envelope.from, recipients))
        {
            return Err(injected(i));
        }
        let id = format!("{:016x}", rand::random::<u64>());
        // Each account gets the message once, with the first of its recipients.
        // If storing fails for one account after others succeeded, the reply is a
        // temporary failure and the client's retry gives those others a second
        // copy: a duplicate, never a loss. (With the queue, the failed account's
        // copy will be deferred instead.)
        let mut done: BTreeSet<String> = BTreeSet::new();
        for (to, rcpt_params) in &envelope.recipients {
            for account in self.accounts(to, envelope.login.as_ref())? {
                if !done.insert(account.clone()) {
                    continue;
                }
                let rcpt = self.address(to).map(|a| a.into_owned());
                let mut data = trace_headers(
                    &envelope.from.to_string(),
                    &rcpt.as_ref().map(Address::to_string).unwrap_or_default(),
                )
                .into_bytes();
                let only = (envelope.recipients.len() == 1)
                    .then_some(rcpt.as_ref())
                    .flatten();
                let now = crate::message::now();
                data.extend_from_slice(
                    received(envelope, self.hostname, &id, only, now)
                        .header()
                        .as_bytes(),
                );
                data.extend_from_slice(message);
                self.store_in_inbox(&account, &data, envelope, rcpt_params)
                    .map_err(temporary)?;
                tracing::info!(id, account, from = %envelope.from, "delivered");
            }
        }
        self.keep_sent_copy(envelope, message).map_err(temporary)?;
        Ok(id)
    }
}

impl LocalDelivery<'_> {
    /// Under localserve, until the outgoing queue exists: a submitted message
    /// with recipients at other domains is kept in the submitter's Sent mailbox,
    /// as the record of what would have gone out (their copies went to the
    /// catchall).
    fn keep_sent_copy(&self, envelope: &Envelope, message: &[u8]) -> Result<(), StoreError> {
        let (Some(_), Some(login)) = (self.local, &envelope.login) else {
            return Ok(());
        };
        let remote = envelope.recipients.iter().any(|(to, _)| {
            matches!(to, ForwardPath::Mailbox(a) if !self.recipients.is_local_domain(&a.host))
        });
        if !remote {
            return Ok(());
        }
        let mailbox = {
            let account = self.store.account(&login.account)?;
            let mut account = account
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match account.mailbox_with_role(SpecialUse::Sent)? {
                Some(sent) => sent.name,
                // The user deleted it: make it again rather than fail a message
                // its recipients already have.
                None => match account.create_mailbox("Sent", Some(SpecialUse::Sent)) {
                    Ok(sent) => sent.name,
                    Err(StoreError::MailboxExists(name)) => name,
                    Err(e) => return Err(e),
                },
            }
        };
        let new = NewMessage {
            flags: Flags::SEEN,
            ..NewMessage::default()
        };
        self.store.deliver(&login.account, &mailbox, message, new)?;
        Ok(())
    }

    fn store_in_inbox(
        &self,
        account: &str,
        data: &[u8],
        envelope: &Envelope,
        rcpt_params: &RcptParams,
    ) -> Result<(), crate::store::StoreError> {
        let received = StoreReceived {
            remote_ip: Some(envelope.remote_ip.to_string()),
            ehlo: Some(envelope.helo.clone()),
            mail_from: match &envelope.from {
                crate::address::ReversePath::Mailbox(a) => Some(a.to_string()),
                crate::address::ReversePath::Null => None,
            },
            verified_domains: Vec::new(),
            dsn: dsn_request(&envelope.params, rcpt_params),
        };
        let new = NewMessage {
            received,
            ..NewMessage::default()
        };
        self.store.deliver(account, "Inbox", data, new)?;
        Ok(())
    }
}

/// The DSN parameters (RFC 3461) of a delivery in ESMTP form, if any were given:
/// the message keeps them for the delivery status notifications sent about it.
fn dsn_request(mail: &MailParams, rcpt: &RcptParams) -> Option<String> {
    let mail = MailParams {
        ret: mail.ret,
        envid: mail.envid.clone(),
        ..MailParams::default()
    };
    let text = format!("{mail}{rcpt}");
    (!text.is_empty()).then(|| text.trim_start().to_string())
}
