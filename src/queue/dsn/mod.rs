//! Delivery status notifications (DSNs): the reports the queue sends to a message's
//! sender when delivery to a recipient fails, is delayed, or (when asked) succeeds, and
//! the reading of such reports received from other servers.
//!
//! A DSN is a multipart/report (RFC 6522) of three parts: a text for people, the
//! machine-readable message/delivery-status fields (RFC 3464, with status codes from
//! RFC 3463, requested through the SMTP DSN extension, RFC 3461), and the returned
//! message or its header. For SMTPUTF8 messages and non-ASCII addresses the RFC 6533
//! forms are used: message/global-delivery-status, message/global and
//! message/global-headers, and the `utf-8` address type. [`compose`] writes one;
//! [`parse`] finds the delivery-status part of a received message and reads its
//! fields with `grammars/dsn.pest`, so that the queue can tell which of the messages
//! it sent a report is about, and what happened to which recipient.

mod compose;
mod explain;
mod fold;
mod parse;
mod read;
mod write;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

use std::fmt;

use crate::smtp::{Enhanced, Orcpt, Reply};

pub use compose::{FULL_RETURN_LIMIT, compose};
pub use parse::{DsnError, ParsedRecipient, ParsedReport, Typed, parse};

/// What a DSN reports: the per-message facts and one entry per recipient. Plain data
/// that the queue fills in; [`compose`] turns it into a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// This server's host name, written as `Reporting-MTA: dns; HOST`.
    pub reporting_mta: String,
    /// ENVID from MAIL FROM (RFC 3461 4.4), decoded from xtext.
    pub envid: Option<String>,
    /// When the message was received, in seconds since the Unix epoch.
    pub arrival: i64,
    /// Whether the message was sent with SMTPUTF8: the DSN then takes the RFC 6533
    /// global forms. A non-ASCII address anywhere in the report does so too.
    pub smtputf8: bool,
    pub recipients: Vec<RecipientStatus>,
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// The address delivery was attempted to (the RCPT TO address).
    pub final_recipient: String,
    /// ORCPT from RCPT TO (RFC 3461 4.2), written as given; a `utf-8` address may hold
    /// `\x{HEX}` escapes or the characters themselves.
    pub original_recipient: Option<Orcpt>,
    pub action: Action,
    pub status: Enhanced,
    /// The host name of the server that gave the reply, if one was reached.
    pub remote_mta: Option<String>,
    /// The remote server's whole reply, every line of it.
    pub diagnostic: Option<Reply>,
    /// Why, in words, where no server replied (a DNS failure, the suppression
    /// list, the administrator): written in the text part only, so a parsed
    /// report has none.
    pub reason: Option<String>,
    /// Seconds since the Unix epoch.
    pub last_attempt: Option<i64>,
    /// Until when the queue keeps trying; written for [`Action::Delayed`] only (RFC
    /// 3464 2.3.8). Seconds since the Unix epoch.
    pub will_retry_until: Option<i64>,
}

/// The action-value of RFC 3464 2.3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Not delivered, and no more attempts will be made.
    Failed,
    /// Not delivered yet; the queue keeps trying.
    Delayed,
    /// Delivered to the recipient's mailbox (or handed to a server that said so).
    Delivered,
    /// Handed to a system that sends no further notifications.
    Relayed,
    /// Delivered to an alias or list, which sends the message on to other addresses.
    Expanded,
}

impl Action {
    /// The value as RFC 3464 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
        }
    }

    /// The action named `name`, in any case.
    fn from_name(name: &str) -> Option<Action> {
        [
            Action::Failed,
            Action::Delayed,
            Action::Delivered,
            Action::Relayed,
            Action::Expanded,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
