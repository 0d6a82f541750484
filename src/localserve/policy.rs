//! How localserve treats mail at run time: which account gets mail the
//! configuration has no place for, and which failures a transaction asks for.

use std::sync::Arc;

use super::failures::{Chaos, Failure, Party, Stage, by_localpart};
use crate::address::{Address, ForwardPath, ReversePath};
use crate::auth::{Authenticator, open_account_name};
use crate::config::LocalserveConfig;

/// The developer instance's mail policy, shared by its SMTP services.
pub struct Policy {
    /// The account that gets mail no other account is named by.
    catchall: String,
    /// Knows which accounts exist: configured, or made by a first login.
    authenticator: Arc<Authenticator>,
    chaos: Chaos,
}

/// A failure to answer, and why it happens (for the reply text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub failure: Failure,
    pub why: String,
}

impl Policy {
    pub fn new(config: &LocalserveConfig, authenticator: Arc<Authenticator>) -> Policy {
        Policy {
            catchall: super::ACCOUNT.to_string(),
            authenticator,
            chaos: Chaos::new(config.chaos.clone(), config.chaos_seed),
        }
    }

    /// Where mail to an address the configuration does not know goes, at any
    /// domain: the account its local part names if that exists, else the catchall.
    pub fn account_for(&self, address: &Address) -> String {
        open_account_name(address.localpart.as_str())
            .filter(|name| self.authenticator.has_account(name))
            .unwrap_or_else(|| self.catchall.clone())
    }

    /// The failure for MAIL FROM, if one is asked for.
    pub fn at_mail_from(&self, from: &ReversePath) -> Option<Injected> {
        let ReversePath::Mailbox(sender) = from else {
            return self.rolled(Stage::MailFrom);
        };
        asked(sender, Party::Sender, Stage::MailFrom).or_else(|| self.rolled(Stage::MailFrom))
    }

    /// The failure for RCPT TO, if one is asked for.
    pub fn at_rcpt_to(&self, to: &ForwardPath) -> Option<Injected> {
        let ForwardPath::Mailbox(recipient) = to else {
            return self.rolled(Stage::RcptTo);
        };
        asked(recipient, Party::Recipient, Stage::RcptTo).or_else(|| self.rolled(Stage::RcptTo))
    }

    /// The failure for the message content, if one is asked for: by the sender
    /// first, then by the recipients in order, then by chance.
    pub fn at_data<'a>(
        &self,
        from: &ReversePath,
        recipients: impl IntoIterator<Item = &'a ForwardPath>,
    ) -> Option<Injected> {
        let sender = match from {
            ReversePath::Mailbox(a) => Some((a, Party::Sender)),
            ReversePath::Null => None,
        };
        let recipients = recipients.into_iter().filter_map(|to| match to {
            ForwardPath::Mailbox(a) => Some((a, Party::Recipient)),
            ForwardPath::Postmaster => None,
        });
        sender
            .into_iter()
            .chain(recipients)
            .find_map(|(address, party)| asked(address, party, Stage::Data))
            .or_else(|| self.rolled(Stage::Data))
    }

    fn rolled(&self, stage: Stage) -> Option<Injected> {
        let failure = self.chaos.roll(stage)?;
        Some(Injected {
            failure,
            why: format!("a [[localserve.chaos]] rule for {}", stage.name()),
        })
    }
}

/// The failure `address` asks for at `stage`, if any.
fn asked(address: &Address, party: Party, stage: Stage) -> Option<Injected> {
    let (at, failure) = by_localpart(address.localpart.as_str(), party)?;
    (at == stage).then(|| Injected {
        failure,
        why: format!("address {address} asks for it"),
    })
}
