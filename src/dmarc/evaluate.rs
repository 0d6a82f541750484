//! Policy discovery (RFC 7489 6.6.3), identifier alignment (3.1) and the policy a
//! failing message gets (6.6.4, with RFC 9989's np= and t=).

use super::DmarcResult;
use super::record::{Alignment, Parsed, Policy, RecordError, is_dmarc_record};
use crate::address::Host;
use crate::dkim::{DkimResult, SignatureResult};
use crate::dns::{DnsError, Resolver, normalize_name};
use crate::leniency::Leniencies;
use crate::message::from_addresses;
use crate::psl::organizational_domain;
use crate::spf::SpfResult;

/// Where a From domain's policy was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The From domain, normalized.
    pub from_domain: String,
    /// Its organizational domain.
    pub organizational_domain: String,
    /// Whose `_dmarc` record gave the policy: the From domain or its organizational
    /// domain.
    pub policy_domain: String,
    /// The record as published.
    pub text: String,
    pub parsed: Parsed,
}

/// Why discovery gave no usable policy: the result to report and the reason.
pub type Undiscovered = (DmarcResult, String);

/// Finds the policy for mail from `from_domain`: its own `_dmarc` record, else its
/// organizational domain's. `Ok(None)` when neither has one.
pub async fn discover(
    resolver: &dyn Resolver,
    from_domain: &str,
) -> Result<Option<Discovery>, Undiscovered> {
    let from = normalize_name(from_domain).map_err(|e| {
        (
            DmarcResult::Permerror,
            format!("the From domain cannot be looked up: {e}"),
        )
    })?;
    let organizational = organizational_domain(&from);
    let mut domains = vec![from.clone()];
    if organizational != from {
        domains.push(organizational.clone());
    }
    for domain in domains {
        if let Some((text, parsed)) = record_at(resolver, &domain).await? {
            return Ok(Some(Discovery {
                from_domain: from,
                organizational_domain: organizational,
                policy_domain: domain,
                text,
                parsed,
            }));
        }
    }
    Ok(None)
}

/// The one DMARC record at `_dmarc.DOMAIN`, if there is one.
async fn record_at(
    resolver: &dyn Resolver,
    domain: &str,
) -> Result<Option<(String, Parsed)>, Undiscovered> {
    let name = format!("_dmarc.{domain}");
    let answer = match resolver.txt(&name).await {
        Ok(answer) => answer,
        Err(DnsError::Temporary { reason, .. }) => {
            return Err((
                DmarcResult::Temperror,
                format!("looking up {name}: {reason}"),
            ));
        }
        // A name too long for DNS holds no record.
        Err(DnsError::Name(_)) => return Ok(None),
    };
    let mut records = answer.records.into_iter().filter(|r| is_dmarc_record(r));
    let Some(record) = records.next() else {
        return Ok(None);
    };
    if records.next().is_some() {
        // RFC 7489 6.6.3: discovery ends and no policy applies.
        return Err((
            DmarcResult::None,
            format!("{name} has more than one DMARC record, so none applies (RFC 7489 6.6.3)"),
        ));
    }
    let permanent = |problem: String| (DmarcResult::Permerror, format!("{name}: {problem}"));
    let text =
        String::from_utf8(record).map_err(|_| permanent("the record is not UTF-8".into()))?;
    match Parsed::parse(&text) {
        Ok(parsed) => Ok(Some((text, parsed))),
        Err(RecordError::NotDmarc) => Ok(None),
        Err(e) => Err(permanent(e.to_string())),
    }
}

/// The domain DMARC evaluates a message for: that of its From field's address, in
/// A-label form (RFC 7489 6.6.1). Several authors must share one domain; an
/// unusable From field is a permerror, with the reason.
pub fn author_domain(message: &[u8]) -> Result<String, String> {
    let authors = from_addresses(message, Leniencies::PEDANTIC).map_err(|e| e.to_string())?;
    let mut domains = authors.value.iter().map(|m| match &m.address.host {
        Host::Domain(d) => Ok(d.ascii().to_ascii_lowercase()),
        Host::Literal(_) => Err(format!("the From address {} has no domain", m.address)),
    });
    let first = domains.next().ok_or("the From field has no address")??;
    for other in domains {
        if other? != first {
            return Err("the From field names authors at more than one domain".into());
        }
    }
    Ok(first)
}

/// The authenticated identifiers of one message.
#[derive(Debug, Clone, Copy)]
pub struct Identifiers<'a> {
    /// The domain of the From field's one address.
    pub from_domain: &'a str,
    /// The domain SPF checked (MAIL FROM's, or the HELO name for the null
    /// reverse-path, RFC 7489 4.1) and its result.
    pub spf: Option<(&'a str, SpfResult)>,
    /// Every DKIM signature's result.
    pub dkim: &'a [SignatureResult],
}

/// What DMARC says of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub result: DmarcResult,
    /// Why, in words for logs and Authentication-Results comments.
    pub reason: String,
    pub discovery: Option<Discovery>,
    /// The policy the domain asks for a failing message (p=, sp= or np=), before
    /// pct= and t= soften it.
    pub requested: Option<Policy>,
    /// What to do with the message: none unless the result is fail.
    pub disposition: Policy,
    /// SPF passed for a domain aligned with From.
    pub spf_aligned: bool,
    /// The d= of a passing signature aligned with From.
    pub dkim_aligned: Option<String>,
}

impl Evaluation {
    fn without_policy(result: DmarcResult, reason: String, discovery: Option<Discovery>) -> Self {
        Evaluation {
            result,
            reason,
            discovery,
            requested: None,
            disposition: Policy::None,
            spf_aligned: false,
            dkim_aligned: None,
        }
    }
}

/// Evaluates DMARC for a message. `sample` is a number from 0 to 99 drawn at random
/// for the message: a failing message gets the requested policy when it is below
/// pct=, else one step milder (RFC 7489 6.6.4).
pub async fn evaluate(resolver: &dyn Resolver, ids: &Identifiers<'_>, sample: u8) -> Evaluation {
    let discovery = match discover(resolver, ids.from_domain).await {
        Ok(Some(discovery)) => discovery,
        Ok(None) => {
            let reason = format!("{} publishes no DMARC policy", ids.from_domain);
            return Evaluation::without_policy(DmarcResult::None, reason, None);
        }
        Err((result, reason)) => return Evaluation::without_policy(result, reason, None),
    };
    let record = &discovery.parsed.record;
    let from = discovery.from_domain.as_str();
    let spf_domain_aligned = ids
        .spf
        .filter(|(domain, _)| aligned(record.spf_alignment, domain, from));
    let spf_aligned = spf_domain_aligned.is_some_and(|(_, r)| r == SpfResult::Pass);
    let aligned_signatures: Vec<&SignatureResult> = ids
        .dkim
        .iter()
        .filter(|s| aligned(record.dkim_alignment, &s.domain, from))
        .collect();
    let dkim_aligned = aligned_signatures
        .iter()
        .find(|s| s.result == DkimResult::Pass)
        .map(|s| s.domain.to_ascii_lowercase());
    if spf_aligned || dkim_aligned.is_some() {
        let reason = match &dkim_aligned {
            Some(d) => format!("DKIM signature of {d} aligned with {from}"),
            None => format!(
                "SPF pass of {} aligned with {from}",
                spf_domain_aligned.map_or("", |s| s.0)
            ),
        };
        return Evaluation {
            spf_aligned,
            dkim_aligned,
            ..Evaluation::without_policy(DmarcResult::Pass, reason, Some(discovery))
        };
    }
    // An aligned identifier whose check failed for now might yet pass.
    let pending = spf_domain_aligned.is_some_and(|(_, r)| r == SpfResult::Temperror)
        || aligned_signatures
            .iter()
            .any(|s| s.result == DkimResult::Temperror);
    if pending {
        let reason = "an aligned SPF or DKIM check had a temporary DNS failure".to_string();
        return Evaluation::without_policy(DmarcResult::Temperror, reason, Some(discovery));
    }
    let requested = match requested_policy(resolver, &discovery).await {
        Ok(policy) => policy,
        Err(reason) => {
            return Evaluation::without_policy(DmarcResult::Temperror, reason, Some(discovery));
        }
    };
    let applies = !record.testing && sample < record.percent;
    let disposition = if applies {
        requested
    } else {
        requested.milder()
    };
    let reason = format!("no SPF or DKIM pass aligned with {from}");
    Evaluation {
        requested: Some(requested),
        disposition,
        ..Evaluation::without_policy(DmarcResult::Fail, reason, Some(discovery))
    }
}

/// p= for the policy domain itself; for a subdomain, np= if it does not exist and
/// np= is given, else sp=, else p= (RFC 9989 4.7). Err when existence is unknown.
async fn requested_policy(resolver: &dyn Resolver, found: &Discovery) -> Result<Policy, String> {
    let record = &found.parsed.record;
    if found.policy_domain == found.from_domain {
        return Ok(record.policy);
    }
    let subdomain = record.subdomain_policy.unwrap_or(record.policy);
    let Some(nonexistent) = record.nonexistent_policy else {
        return Ok(subdomain);
    };
    // A name that does not exist answers NXDOMAIN for every type.
    match resolver.mx(&found.from_domain).await {
        Ok(answer) if answer.nxdomain => Ok(nonexistent),
        Ok(_) | Err(DnsError::Name(_)) => Ok(subdomain),
        Err(e) => Err(format!(
            "whether {} exists is unknown: {e}",
            found.from_domain
        )),
    }
}

/// Whether `domain` is aligned with the From domain `from` (RFC 7489 3.1).
fn aligned(mode: Alignment, domain: &str, from: &str) -> bool {
    let domain = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    match mode {
        Alignment::Strict => domain == from,
        Alignment::Relaxed => organizational_domain(&domain) == organizational_domain(from),
    }
}
