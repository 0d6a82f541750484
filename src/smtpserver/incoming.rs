//! Message authentication of incoming mail (port 25): iprev, SPF, DKIM and DMARC
//! for each message, the Authentication-Results and Received-SPF fields that record
//! them, the domains they verified (kept with the message for reputation), and what
//! DMARC asks: p=reject is refused with 550 5.7.1, quarantine goes to Junk. A DNS
//! failure that leaves the outcome open gives 451, never a rejection.

use std::net::IpAddr;

use super::session::Envelope;
use crate::address::ReversePath;
use crate::authres::{AuthenticationResults, MethodResult};
use crate::dkim::{self, DkimResult, SignatureResult};
use crate::dmarc::{self, DmarcResult, Evaluation, Policy};
use crate::dns::Resolver;
use crate::iprev::{self, IprevResult};
use crate::message::HeaderSection;
use crate::smtp::{Enhanced, Reply};
use crate::spf::{self, SpfResult};

/// What to do with a checked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Inbox,
    /// DMARC quarantine.
    Junk,
    Refuse(Reply),
}

/// What the checks of one message found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub disposition: Disposition,
    /// Authentication-Results and Received-SPF, each a whole field ending in CRLF,
    /// to go on top of the message.
    pub fields: String,
    /// Domains the checks verified: SPF pass, passing DKIM signatures, a DMARC pass,
    /// the iprev name.
    pub verified_domains: Vec<String>,
}

/// Connections from loopback are local software (a cron job, a local relay), not
/// the Internet: their mail is not checked.
pub fn is_checked(remote_ip: IpAddr) -> bool {
    !remote_ip.is_loopback()
}

/// Checks `message` (as received, without our trace fields) from `envelope`.
/// `hostname` is this server's name (the authserv-id); `sample`, from 0 to 99, is
/// drawn at random per message for DMARC's pct=.
pub async fn check(
    resolver: &dyn Resolver,
    hostname: &str,
    envelope: &Envelope,
    message: &[u8],
    sample: u8,
) -> Checked {
    let ip = envelope.remote_ip;
    let mail_from = match &envelope.from {
        ReversePath::Mailbox(address) => address.to_string(),
        ReversePath::Null => String::new(),
    };
    let iprev = iprev::check(resolver, ip).await;
    let spf = spf::check_mail_from(resolver, ip, &envelope.helo, &mail_from, hostname).await;
    let now = crate::message::now_unsigned();
    let signatures = dkim::verify(resolver, message, now).await;
    let (author, dmarc) = match dmarc::author_domain(message) {
        Ok(author) => {
            let ids = dmarc::Identifiers {
                from_domain: &author,
                spf: Some((spf.domain.as_str(), spf.result)),
                dkim: &signatures,
            };
            let evaluation = dmarc::evaluate(resolver, &ids, sample).await;
            (Some(author), Some(evaluation))
        }
        Err(_) => (None, None),
    };

    let mut results = vec![
        MethodResult::new("iprev", iprev.result.name())
            .comment(iprev.name.as_ref().unwrap_or(&iprev.reason).clone())
            .property("policy", "iprev", ip.to_string()),
        spf_result(&spf, &envelope.helo, &mail_from),
    ];
    results.extend(dkim_results(&signatures));
    if let (Some(author), Some(evaluation)) = (&author, &dmarc) {
        results.push(dmarc_result(author, evaluation));
    }
    let header = AuthenticationResults {
        authserv_id: hostname.to_string(),
        version: None,
        results,
    };
    let received_spf = spf::received_spf(
        &spf,
        &spf::Envelope {
            ip,
            helo: &envelope.helo,
            mail_from: &mail_from,
            receiver: hostname,
        },
    );
    let fields = format!("Authentication-Results: {header}\r\nReceived-SPF: {received_spf}\r\n");

    let mut verified = Vec::new();
    if iprev.result == IprevResult::Pass {
        verified.extend(iprev.name.clone());
    }
    if spf.result == SpfResult::Pass {
        verified.push(spf.domain.clone());
    }
    for s in signatures.iter().filter(|s| s.result == DkimResult::Pass) {
        verified.push(s.domain.to_ascii_lowercase());
    }
    if let (Some(author), Some(e)) = (&author, &dmarc)
        && e.result == DmarcResult::Pass
    {
        verified.push(author.clone());
    }
    verified.sort();
    verified.dedup();
    Checked {
        disposition: dmarc.as_ref().map_or(Disposition::Inbox, disposition),
        fields,
        verified_domains: verified,
    }
}

fn spf_result(verdict: &spf::Verdict, helo: &str, mail_from: &str) -> MethodResult {
    let result = MethodResult::new("spf", verdict.result.name()).comment(verdict.reason.clone());
    if mail_from.is_empty() {
        result.property("smtp", "helo", helo)
    } else {
        result.property("smtp", "mailfrom", mail_from)
    }
}

fn dkim_results(signatures: &[SignatureResult]) -> Vec<MethodResult> {
    if signatures.is_empty() {
        return vec![MethodResult::new("dkim", "none").comment("no signature")];
    }
    signatures
        .iter()
        .map(|s| {
            let mut result = MethodResult::new("dkim", s.result.name()).comment(s.reason.clone());
            if !s.domain.is_empty() {
                result = result.property("header", "d", s.domain.clone());
            }
            if !s.selector.is_empty() {
                result = result.property("header", "s", s.selector.clone());
            }
            if let Some(algorithm) = s.algorithm {
                result = result.property("header", "a", algorithm.name());
            }
            result
        })
        .collect()
}

fn dmarc_result(author: &str, e: &Evaluation) -> MethodResult {
    let comment = match e.requested {
        Some(requested) => format!(
            "{}; p={} disposition={}",
            e.reason,
            requested.name(),
            e.disposition.name()
        ),
        None => e.reason.clone(),
    };
    MethodResult::new("dmarc", e.result.name())
        .comment(comment)
        .property("header", "from", author)
}

/// DMARC's word on the message. A temporary DNS failure defers it when the domain's
/// policy could have refused or quarantined it (or is unknown).
fn disposition(e: &Evaluation) -> Disposition {
    match (e.result, e.disposition) {
        (DmarcResult::Fail, Policy::Reject) => {
            let domain = e
                .discovery
                .as_ref()
                .map_or("", |d| d.policy_domain.as_str());
            Disposition::Refuse(Reply::new(
                550,
                Enhanced(5, 7, 1),
                format!("rejected by the DMARC policy of {domain}: {}", e.reason),
            ))
        }
        (DmarcResult::Fail, Policy::Quarantine) => Disposition::Junk,
        (DmarcResult::Temperror, _) if could_enforce(e) => Disposition::Refuse(Reply::new(
            451,
            Enhanced(4, 4, 3),
            format!(
                "DMARC could not be evaluated for now ({}); try again later",
                e.reason
            ),
        )),
        _ => Disposition::Inbox,
    }
}

fn could_enforce(e: &Evaluation) -> bool {
    e.discovery.as_ref().is_none_or(|d| {
        let r = &d.parsed.record;
        [Some(r.policy), r.subdomain_policy, r.nonexistent_policy]
            .into_iter()
            .flatten()
            .any(|p| p != Policy::None)
    })
}

/// `message` without the Authentication-Results fields that claim to be
/// `authserv_id`'s: only this server may write those (RFC 8601 5). A message whose
/// header section cannot be read is returned as it is.
pub fn without_forged_results<'m>(
    message: &'m [u8],
    authserv_id: &str,
) -> std::borrow::Cow<'m, [u8]> {
    let Ok(header) = HeaderSection::parse(message) else {
        return message.into();
    };
    let forged = |f: &crate::message::HeaderField<'_>| {
        f.name().eq_ignore_ascii_case("Authentication-Results")
            && f.value_str()
                .ok()
                .and_then(|v| AuthenticationResults::claimed_authserv_id(&v))
                .is_some_and(|id| id.eq_ignore_ascii_case(authserv_id))
    };
    header.without(message, forged)
}
