//! Verifying external report destinations (RFC 7489 7.1): reports go to an address
//! outside the policy domain's organizational domain only if that domain publishes
//! `<policy-domain>._report._dmarc.<destination>` with v=DMARC1, so that nobody can
//! point reports at a stranger.

use std::fmt;

use super::record::{ReportUri, is_dmarc_record};
use crate::dns::{DnsError, Resolver};
use crate::psl::organizational_domain;

/// Whether reports may go to a rua= or ruf= URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Within the policy domain's organizational domain: no check needed.
    Internal,
    /// Outside, and its domain agreed.
    Authorized,
    /// Outside, and its domain did not agree (or the URI names no usable domain).
    Refused(String),
    /// The check could not be made for now.
    Temperror(String),
    /// Not a mailto: URI; gannet sends reports by mail only.
    Unsupported,
}

impl Destination {
    /// Reports may be sent there.
    pub fn allowed(&self) -> bool {
        matches!(self, Destination::Internal | Destination::Authorized)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Internal => f.write_str("inside the policy domain"),
            Destination::Authorized => f.write_str("outside, and authorized by its domain"),
            Destination::Refused(why) => write!(f, "refused: {why}"),
            Destination::Temperror(why) => write!(f, "unknown for now: {why}"),
            Destination::Unsupported => f.write_str("unsupported: only mailto: URIs are used"),
        }
    }
}

/// Checks each URI of a record found at `policy_domain`.
pub async fn verify_destinations(
    resolver: &dyn Resolver,
    policy_domain: &str,
    uris: &[ReportUri],
) -> Vec<Destination> {
    let mut checked = Vec::with_capacity(uris.len());
    for uri in uris {
        checked.push(verify_one(resolver, policy_domain, uri).await);
    }
    checked
}

async fn verify_one(resolver: &dyn Resolver, policy_domain: &str, uri: &ReportUri) -> Destination {
    let Some(address) = uri.mailto() else {
        return Destination::Unsupported;
    };
    let Some(domain) = address
        .rsplit_once('@')
        .and_then(|(_, domain)| idna::domain_to_ascii(domain).ok())
        .filter(|d| !d.is_empty())
    else {
        return Destination::Refused(format!("{address:?} is not an address with a domain"));
    };
    if organizational_domain(&domain) == organizational_domain(policy_domain) {
        return Destination::Internal;
    }
    let name = format!("{policy_domain}._report._dmarc.{domain}");
    match resolver.txt(&name).await {
        Ok(answer) if answer.records.iter().any(|r| is_dmarc_record(r)) => Destination::Authorized,
        Ok(_) => Destination::Refused(format!("{name} has no v=DMARC1 record")),
        Err(DnsError::Name(e)) => Destination::Refused(e.to_string()),
        Err(e) => Destination::Temperror(e.to_string()),
    }
}
