//! SPF (RFC 7208): records parsed with `grammars/spf.pest`, macro expansion, and
//! check_host() with its processing limits, over any [`Resolver`].
//!
//! [`check_mail_from`] and [`check_helo`] are the two identities a receiver checks
//! (RFC 7208 2.3, 2.4); [`check_host`] is the function itself.

mod check;
mod macros;
mod parse;
#[cfg(test)]
mod proptests;
mod received;
mod record;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use check::{RecordLookupError, Request, check_host, find_record};
pub use macros::MacroValues;
pub use parse::{RecordError, explain_string};
pub use received::{Envelope, received_spf};
pub use record::{DualCidr, Macro, MacroItem, MacroString, Mechanism, Qualifier, Record, Term};

use crate::dns::Resolver;

/// The results of RFC 7208 2.6 (read from DMARC reports too, by their names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfResult {
    None,
    Neutral,
    Pass,
    Fail,
    Softfail,
    Temperror,
    Permerror,
}

impl SpfResult {
    /// The lowercase name used in Received-SPF and Authentication-Results.
    pub fn name(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::Softfail => "softfail",
            SpfResult::Temperror => "temperror",
            SpfResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What check_host() found, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub result: SpfResult,
    /// The domain whose policy was checked.
    pub domain: String,
    /// Which term decided, or what went wrong, in words for logs and headers.
    pub reason: String,
    /// For a fail: the domain's explanation (`exp=`), if it gave a usable one.
    pub explanation: Option<String>,
}

/// Checks the MAIL FROM identity: `mail_from` is the reverse-path's address, empty
/// for the null path, in which case the HELO name stands in as `postmaster@HELO`
/// (RFC 7208 2.4).
pub async fn check_mail_from(
    resolver: &dyn Resolver,
    ip: IpAddr,
    helo: &str,
    mail_from: &str,
    receiver: &str,
) -> Verdict {
    if mail_from.is_empty() {
        return check_helo(resolver, ip, helo, receiver).await;
    }
    let domain = mail_from.rsplit_once('@').map_or(mail_from, |(_, d)| d);
    check_sender(resolver, ip, domain, mail_from, helo, receiver).await
}

/// Checks the HELO identity: the HELO name as the domain and `postmaster@HELO` as
/// the sender (RFC 7208 2.3).
pub async fn check_helo(
    resolver: &dyn Resolver,
    ip: IpAddr,
    helo: &str,
    receiver: &str,
) -> Verdict {
    check_sender(
        resolver,
        ip,
        helo,
        &format!("postmaster@{helo}"),
        helo,
        receiver,
    )
    .await
}

/// check_host() of `domain` for mail from `ip` with sender address `sender`; a
/// sender without a local part gets "postmaster" (RFC 7208 4.3). `receiver` is this
/// host's name, for explanations.
pub async fn check_sender(
    resolver: &dyn Resolver,
    ip: IpAddr,
    domain: &str,
    sender: &str,
    helo: &str,
    receiver: &str,
) -> Verdict {
    let (local, sender_domain) = sender.rsplit_once('@').unwrap_or(("", sender));
    let now = crate::message::now_unsigned();
    let request = Request {
        ip,
        domain,
        sender_local: if local.is_empty() {
            "postmaster"
        } else {
            local
        },
        sender_domain,
        helo,
        receiver,
        now,
    };
    check_host(resolver, &request).await
}
