//! Local delivery: recipients resolved through domains.toml, messages stored in the
//! accounts' Inboxes, once per account, with trace fields, durably before the reply.
//! Under `gannet localserve`, its [`Policy`] takes mail for any address, lets
//! submitters send as anyone, and answers the failures tests ask for.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::incoming::{self, Disposition};
use super::session::{Backend, Envelope, Refusal, received};
use crate::address::{Address, Domain, ForwardPath, ReversePath};
use crate::auth::{Authenticator, Login};
use crate::dkim::SigningKeys;
use crate::dns::Resolver;
use crate::leniency::Leniencies;
use crate::localserve::Policy;
use crate::localserve::failures::Failure;
use crate::localserve::policy::Injected;
use crate::message::trace_headers;
use crate::queue::{self, LocalMail, Queue};
use crate::recipients::{Destination, Recipients};
use crate::smtp::{Enhanced, MailParams, RcptParams, Reply};
use crate::store::outbox::{NewOutgoing, NewRecipient};
use crate::store::{NewMessage, Received as StoreReceived, SpecialUse, Store, StoreError};

/// The backend of the SMTP services: incoming mail (port 25) and, with an
/// authenticator, submission, which queues mail for other domains.
pub struct LocalDelivery<'a> {
    pub recipients: &'a Recipients,
    pub store: &'a Store,
    pub hostname: &'a Domain,
    pub authenticator: Option<&'a Authenticator>,
    /// The developer instance's policy, under `gannet localserve` only.
    pub local: Option<&'a Policy>,
    /// For message authentication of incoming mail (see [`incoming`]); none under
    /// localserve, which takes all mail.
    pub resolver: Option<&'a dyn Resolver>,
    /// On submission: DKIM keys by From domain.
    pub dkim: Option<&'a SigningKeys>,
    /// On submission: where mail for other domains goes.
    pub queue: Option<&'a Queue>,
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

    /// Where a recipient's mail goes; `login` is the submitter.
    fn route(&self, to: &ForwardPath, login: Option<&Login>) -> Result<Route, Reply> {
        let address = self.address(to).ok_or_else(|| no_such_user(to))?;
        let remote_domain = !self.recipients.is_local_domain(&address.host);
        match self.recipients.resolve(&address) {
            Some(Destination::Account(a)) => Ok(Route::local(BTreeSet::from([a]))),
            Some(Destination::Alias { remote, .. })
                if !remote.is_empty() && self.queue.is_none() =>
            {
                Err(Reply::new(
                    451,
                    Enhanced(4, 3, 0),
                    "this alias has remote members and outgoing delivery is not configured here",
                ))
            }
            // Forwarding mail from elsewhere needs SRS and loop control first.
            Some(Destination::Alias { remote, .. }) if !remote.is_empty() && login.is_none() => {
                Err(Reply::new(
                    451,
                    Enhanced(4, 3, 0),
                    "this alias has remote members; mail from other servers is not forwarded to them yet",
                ))
            }
            Some(Destination::Alias { accounts, remote }) => Ok(Route { accounts, remote }),
            // Submitted mail for other domains goes out through the queue; under
            // localserve the queue brings it back to the catchall.
            None if remote_domain && login.is_some() && self.queue.is_some() => Ok(Route {
                accounts: BTreeSet::new(),
                remote: vec![address.into_owned()],
            }),
            None if let Some(local) = self.local => {
                Ok(Route::local(BTreeSet::from([local.account_for(&address)])))
            }
            None if remote_domain && login.is_some() => Err(Reply::new(
                451,
                Enhanced(4, 3, 5),
                "outgoing delivery is not configured on this server; only local recipients can be delivered",
            )),
            None if remote_domain => Err(Reply::new(
                550,
                Enhanced(5, 7, 1),
                "relaying denied: this server does not accept mail for that domain",
            )),
            None => Err(no_such_user(to)),
        }
    }
}

/// Where one recipient's mail goes: local accounts, and addresses elsewhere
/// (through the queue).
struct Route {
    accounts: BTreeSet<String>,
    remote: Vec<Address>,
}

impl Route {
    fn local(accounts: BTreeSet<String>) -> Route {
        Route {
            accounts,
            remote: Vec::new(),
        }
    }
}

/// Where the queue's DSNs for local senders go: the Inboxes of the accounts
/// their addresses belong to, found as for incoming mail (under localserve,
/// the catchall takes any address).
pub struct Inboxes {
    pub recipients: Recipients,
    pub store: Arc<Store>,
    pub hostname: Domain,
    pub local: Option<Arc<Policy>>,
}

impl LocalMail for Inboxes {
    fn deliver_local(&self, to: &str, message: &[u8]) -> Result<bool, String> {
        let Ok(address) = Address::parse(to, Leniencies::PEDANTIC) else {
            return Ok(false);
        };
        let delivery = LocalDelivery {
            recipients: &self.recipients,
            store: &self.store,
            hostname: &self.hostname,
            authenticator: None,
            local: self.local.as_deref(),
            resolver: None,
            dkim: None,
            queue: None,
        };
        let shown = address.to_string();
        let accounts = match delivery.route(&ForwardPath::Mailbox(address), None) {
            Ok(route) if !route.accounts.is_empty() => route.accounts,
            _ => return Ok(false),
        };
        let mut data = trace_headers(&ReversePath::Null.to_string(), &shown).into_bytes();
        data.extend_from_slice(message);
        for account in accounts {
            self.store
                .deliver(&account, "Inbox", &data, NewMessage::default())
                .map_err(|e| format!("account {account}: {e}"))?;
        }
        Ok(true)
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
        let route = self.route(to, login)?;
        if route.remote.is_empty()
            && let Some(i) = self.local.and_then(|l| l.at_rcpt_to(to))
        {
            return Err(injected(i));
        }
        Ok(())
    }

    /// Under localserve, anyone: applications under test send as their own domain.
    fn may_send_as(&self, login: &Login, address: &Address) -> bool {
        self.local.is_some() || self.recipients.may_send_as(&login.account, address)
    }

    fn authenticator(&self) -> Option<&Authenticator> {
        self.authenticator
    }

    fn deliver(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Refusal> {
        let login = envelope.login.as_ref();
        let routes = envelope
            .recipients
            .iter()
            .map(|(to, _)| self.route(to, login))
            .collect::<Result<Vec<Route>, Reply>>()?;
        // Submitted mail for other domains meets the failures its recipients ask
        // for when the queue delivers it to localserve's own SMTP port, as
        // retries and DSNs.
        let local_recipients = envelope
            .recipients
            .iter()
            .zip(&routes)
            .filter(|(_, route)| route.remote.is_empty())
            .map(|((to, _), _)| to);
        if let Some(i) = self
            .local
            .and_then(|l| l.at_data(&envelope.from, local_recipients))
        {
            return Err(injected(i));
        }
        let prepared = self.prepare(envelope, message)?;
        let id = format!("{:016x}", rand::random::<u64>());
        // Each account gets the message once, with the first of its recipients.
        // If storing fails for one account after others succeeded, the reply is a
        // temporary failure and the client's retry gives those others a second
        // copy: a duplicate, never a loss.
        let mut done: BTreeSet<String> = BTreeSet::new();
        let mut remote = Vec::new();
        for ((to, rcpt_params), route) in envelope.recipients.iter().zip(routes) {
            remote.extend(
                route
                    .remote
                    .iter()
                    .map(|a| queue::recipient(a, rcpt_params)),
            );
            for account in route.accounts {
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
                data.extend_from_slice(prepared.fields.as_bytes());
                data.extend_from_slice(
                    received(envelope, self.hostname, &id, only, now)
                        .header()
                        .as_bytes(),
                );
                data.extend_from_slice(&prepared.message);
                self.store_received(&account, &data, envelope, rcpt_params, &prepared)
                    .map_err(temporary)?;
                tracing::info!(id, account, from = %envelope.from, "delivered");
                self.match_dsn(envelope, &account, rcpt.as_ref(), &prepared.message);
            }
        }
        if !remote.is_empty() {
            self.enqueue(envelope, &id, remote, &prepared)?;
        }
        Ok(id)
    }
}

/// A message made ready for the accounts: checked if it came in from the Internet,
/// signed if it was submitted.
struct Prepared<'m> {
    message: std::borrow::Cow<'m, [u8]>,
    /// Authentication-Results and Received-SPF, to go on top.
    fields: String,
    /// The role of the mailbox it goes to; none for the Inbox.
    mailbox: Option<SpecialUse>,
    verified_domains: Vec<String>,
    /// Submitted X-Gannet-Extra-* data, JSON, for the queue.
    extra: String,
}

impl LocalDelivery<'_> {
    /// Queues a submitted message for its recipients elsewhere, with a Received
    /// field of its own (it has no single recipient), before the reply.
    fn enqueue(
        &self,
        envelope: &Envelope,
        id: &str,
        recipients: Vec<NewRecipient>,
        prepared: &Prepared<'_>,
    ) -> Result<(), Refusal> {
        let message = &prepared.message[..];
        let Some(queue) = self.queue else {
            return Err(temporary("no outgoing queue").into());
        };
        let now = crate::message::now();
        let mut data = received(envelope, self.hostname, id, None, now)
            .header()
            .into_bytes();
        data.extend_from_slice(message);
        let account = envelope.login.as_ref().map(|l| l.account.as_str());
        let (sender, from_id) = match &envelope.from {
            ReversePath::Mailbox(a) => {
                match account.and_then(|account| self.recipients.unique_sender(account, a)) {
                    Some((unique, id)) => (unique.to_string(), id),
                    None => (a.to_string(), String::new()),
                }
            }
            ReversePath::Null => (String::new(), String::new()),
        };
        let new = NewOutgoing {
            account: account.unwrap_or_default().to_string(),
            sender,
            from_id,
            smtputf8: envelope.params.smtputf8,
            ret: envelope.params.ret.map(|r| r.as_str().to_string()),
            envid: envelope.params.envid.clone(),
            requiretls: envelope.params.requiretls,
            header_message_id: header_message_id(message),
            extra: prepared.extra.clone(),
            recipients,
            first_attempt: now,
        };
        queue.enqueue(&new, &data).map_err(temporary)?;
        Ok(())
    }

    /// A DSN that came in (from the null reverse path, not submitted) may be
    /// about mail the queue delivered: the queue matches it to that delivery.
    fn match_dsn(&self, envelope: &Envelope, account: &str, to: Option<&Address>, message: &[u8]) {
        let (Some(queue), Some(to), ReversePath::Null, None) =
            (self.queue, to, &envelope.from, &envelope.login)
        else {
            return;
        };
        queue.dsn_received(account, &to.to_string(), message);
    }

    /// The name of `account`'s mailbox with `role` (the Inbox for none). One the
    /// user deleted is made again, rather than fail a message over it.
    fn mailbox_with_role(
        &self,
        account: &str,
        role: Option<SpecialUse>,
    ) -> Result<String, StoreError> {
        let Some(role) = role else {
            return Ok("Inbox".into());
        };
        let account = self.store.account(account)?;
        let mut account = account
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match account.mailbox_with_role(role)? {
            Some(mailbox) => Ok(mailbox.name),
            None => match account.create_mailbox(role.default_name(), Some(role)) {
                Ok(mailbox) => Ok(mailbox.name),
                Err(StoreError::MailboxExists(name)) => Ok(name),
                Err(e) => Err(e),
            },
        }
    }

    fn prepare<'m>(&self, envelope: &Envelope, message: &'m [u8]) -> Result<Prepared<'m>, Refusal> {
        let mut prepared = Prepared {
            message: message.into(),
            fields: String::new(),
            mailbox: None,
            verified_domains: Vec::new(),
            extra: String::new(),
        };
        if let Some(checked) = self.check_incoming(envelope, message) {
            match checked.disposition {
                Disposition::Refuse(reply) => {
                    let shown = reply.to_string();
                    tracing::info!(from = %envelope.from, reply = shown.trim_end(), "refused by message authentication");
                    return Err(Refusal::Reply(reply));
                }
                Disposition::Junk => prepared.mailbox = Some(SpecialUse::Junk),
                Disposition::Inbox => {}
            }
            prepared.fields = checked.fields;
            prepared.verified_domains = checked.verified_domains;
        }
        if self.resolver.is_some() && envelope.login.is_none() {
            prepared.message = incoming::without_forged_results(message, self.hostname.ascii());
        }
        if envelope.login.is_some() {
            let (extra, message) = queue::extra::take(message)
                .map_err(|e| Reply::new(554, Enhanced(5, 6, 0), e.to_string()))?;
            prepared.extra = extra;
            prepared.message = message;
        }
        prepared.message = self.dkim_signed(envelope, prepared.message)?;
        Ok(prepared)
    }

    /// A submitted message with a DKIM-Signature from each key of its From domain.
    fn dkim_signed<'m>(
        &self,
        envelope: &Envelope,
        message: std::borrow::Cow<'m, [u8]>,
    ) -> Result<std::borrow::Cow<'m, [u8]>, Refusal> {
        let (Some(keys), Some(_)) = (self.dkim, &envelope.login) else {
            return Ok(message);
        };
        // Submission checked the From field before delivery.
        let Ok(domain) = crate::dmarc::author_domain(&message) else {
            return Ok(message);
        };
        let now = crate::message::now_unsigned();
        let fields = keys.sign(&domain, &message, now).map_err(temporary)?;
        if fields.is_empty() {
            return Ok(message);
        }
        let mut signed = fields.into_bytes();
        signed.extend_from_slice(&message);
        Ok(signed.into())
    }

    /// Message authentication of an incoming message, when this service does it
    /// and the sender is not local software (see [`incoming::is_checked`]).
    fn check_incoming(&self, envelope: &Envelope, message: &[u8]) -> Option<incoming::Checked> {
        let resolver = self.resolver?;
        if envelope.login.is_some() || !incoming::is_checked(envelope.remote_ip) {
            return None;
        }
        let hostname = self.hostname.ascii();
        let sample = rand::random_range(0..100);
        Some(block_on(incoming::check(
            resolver, hostname, envelope, message, sample,
        )))
    }

    fn store_received(
        &self,
        account: &str,
        data: &[u8],
        envelope: &Envelope,
        rcpt_params: &RcptParams,
        prepared: &Prepared<'_>,
    ) -> Result<(), crate::store::StoreError> {
        let received = StoreReceived {
            remote_ip: Some(envelope.remote_ip.to_string()),
            ehlo: Some(envelope.helo.clone()),
            mail_from: match &envelope.from {
                crate::address::ReversePath::Mailbox(a) => Some(a.to_string()),
                crate::address::ReversePath::Null => None,
            },
            verified_domains: prepared.verified_domains.clone(),
            dsn: dsn_request(&envelope.params, rcpt_params),
        };
        let new = NewMessage {
            received,
            ..NewMessage::default()
        };
        let mailbox = self.mailbox_with_role(account, prepared.mailbox)?;
        self.store.deliver(account, &mailbox, data, new)?;
        Ok(())
    }
}

/// The Message-ID field's value, by which DSNs that come back are matched.
fn header_message_id(message: &[u8]) -> String {
    let header = crate::message::HeaderSection::parse(message).ok();
    let field = header
        .as_ref()
        .and_then(|h| h.fields_named("Message-ID").next());
    field
        .and_then(|f| f.value_str().ok().map(|v| v.trim().to_string()))
        .unwrap_or_default()
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

/// Runs an async check from the blocking thread a session step runs on (the
/// runtime's, in the server; a test's own thread otherwise).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(future),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
            .block_on(future),
    }
}
