//! check_host() (RFC 7208 4-6): finds a domain's record, evaluates its mechanisms
//! against the client's IP with the processing limits, follows include and
//! redirect, and computes the explanation of a fail.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use super::macros::MacroValues;
use super::parse::explain_string;
use super::record::{DualCidr, MacroString, Mechanism, Record, Term};
use super::{SpfResult, Verdict};
use crate::dns::{DnsError, Resolver, normalize_name};

/// DNS-querying terms (include, a, mx, ptr, exists, redirect) one check may
/// evaluate (RFC 7208 4.6.4).
const MAX_LOOKUPS: u32 = 10;
/// Lookups that may find nothing (NXDOMAIN or no data) before it is a permerror.
const MAX_VOID_LOOKUPS: u32 = 2;
/// MX names, and PTR names, one mechanism looks at.
const MAX_NAMES: usize = 10;

/// The inputs of check_host(): the client, the domain to check, and the sender.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub ip: IpAddr,
    /// The domain whose policy applies: the MAIL FROM domain or the HELO name.
    pub domain: &'a str,
    /// The sender's local part ("postmaster" when it had none).
    pub sender_local: &'a str,
    pub sender_domain: &'a str,
    pub helo: &'a str,
    /// This host's name, for `%{r}` in explanations.
    pub receiver: &'a str,
    /// Seconds since the epoch, for `%{t}`.
    pub now: u64,
}

/// Why evaluation stopped before a result was reached.
enum Abort {
    Temp(String),
    Perm(String),
}

/// A result reached (never None for a mechanism that matched).
struct Found {
    result: SpfResult,
    reason: String,
    explanation: Option<String>,
}

/// Runs check_host() for `request`.
pub async fn check_host(resolver: &dyn Resolver, request: &Request<'_>) -> Verdict {
    let request = Request {
        ip: request.ip.to_canonical(),
        ..request.clone()
    };
    let mut evaluation = Evaluation {
        resolver,
        request: &request,
        lookups: 0,
        voids: 0,
        validated: None,
    };
    let checked = evaluation.check(request.domain.to_string(), true).await;
    let (result, reason, explanation) = match checked {
        Ok(found) => (found.result, found.reason, found.explanation),
        Err(Abort::Temp(why)) => (SpfResult::Temperror, why, None),
        Err(Abort::Perm(why)) => (SpfResult::Permerror, why, None),
    };
    Verdict {
        result,
        reason,
        explanation,
        domain: request.domain.to_ascii_lowercase(),
    }
}

struct Evaluation<'a> {
    resolver: &'a dyn Resolver,
    request: &'a Request<'a>,
    lookups: u32,
    voids: u32,
    /// The client's validated names, looked up at the first need.
    validated: Option<Validated>,
}

/// The client's validated names (RFC 7208 5.5), and whether its PTR lookup found
/// nothing.
struct Validated {
    names: Vec<String>,
    ptr_void: bool,
}

type Step<'f> = Pin<Box<dyn Future<Output = Result<Found, Abort>> + Send + 'f>>;

impl<'a> Evaluation<'a> {
    /// check_host() for `domain`: include and redirect come back here. `explain`:
    /// whether a fail needs its explanation (not inside an include, whose fail only
    /// means "no match", RFC 7208 5.2).
    fn check(&mut self, domain: String, explain: bool) -> Step<'_> {
        Box::pin(async move {
            let Some(domain) = fqdn(&domain) else {
                return Ok(found(
                    SpfResult::None,
                    format!("{domain:?} is not a valid domain name"),
                ));
            };
            let record = match self.record_of(&domain).await? {
                Some(record) => record,
                None => {
                    return Ok(found(
                        SpfResult::None,
                        format!("{domain} has no SPF record"),
                    ));
                }
            };
            self.evaluate(&domain, &record, explain).await
        })
    }

    async fn record_of(&mut self, domain: &str) -> Result<Option<Record>, Abort> {
        match find_record(self.resolver, domain).await {
            Ok(found) => Ok(found.map(|(_, record)| record)),
            Err(RecordLookupError::Temporary(why)) => Err(Abort::Temp(why)),
            Err(RecordLookupError::Permanent(why)) => Err(Abort::Perm(why)),
        }
    }

    async fn evaluate(
        &mut self,
        domain: &str,
        record: &Record,
        explain: bool,
    ) -> Result<Found, Abort> {
        for term in &record.terms {
            let Term::Directive(qualifier, mechanism) = term else {
                continue;
            };
            if self.matches(domain, mechanism).await? {
                let result = qualifier.result();
                let reason = format!(
                    "{} matched {term} in the record of {domain}",
                    self.request.ip
                );
                let explanation = match (result, record.exp()) {
                    (SpfResult::Fail, Some(target)) if explain => {
                        self.explanation(domain, target).await
                    }
                    _ => None,
                };
                return Ok(Found {
                    result,
                    reason,
                    explanation,
                });
            }
        }
        if let Some(target) = record.redirect() {
            self.count_lookup()?;
            let target = self.expand_domain(domain, target).await;
            let outcome = self.check(target.clone(), explain).await?;
            if outcome.result == SpfResult::None {
                return Err(Abort::Perm(format!(
                    "redirect={target} in the record of {domain} names a domain without an SPF record"
                )));
            }
            return Ok(outcome);
        }
        Ok(found(
            SpfResult::Neutral,
            format!(
                "no mechanism in the record of {domain} matched {}",
                self.request.ip
            ),
        ))
    }

    /// Whether `mechanism` of `domain`'s record matches the client.
    async fn matches(&mut self, domain: &str, mechanism: &Mechanism) -> Result<bool, Abort> {
        let ip = self.request.ip;
        Ok(match mechanism {
            Mechanism::All => true,
            Mechanism::Ip4 { network, prefix } => {
                in_network(ip, IpAddr::V4(*network), prefix.unwrap_or(32))
            }
            Mechanism::Ip6 { network, prefix } => {
                in_network(ip, IpAddr::V6(*network), prefix.unwrap_or(128))
            }
            Mechanism::Include(target) => {
                self.count_lookup()?;
                let target = self.expand_domain(domain, target).await;
                let outcome = self.check(target.clone(), false).await?;
                match outcome.result {
                    SpfResult::Pass => true,
                    SpfResult::Fail | SpfResult::Softfail | SpfResult::Neutral => false,
                    _ => {
                        return Err(Abort::Perm(format!(
                            "include:{target} in the record of {domain}: {}",
                            outcome.reason
                        )));
                    }
                }
            }
            Mechanism::A {
                domain: target,
                cidr,
            } => {
                self.count_lookup()?;
                let target = self.target(domain, target.as_ref()).await;
                let ips = self.addresses(&target, true).await?;
                ips.iter().any(|a| in_dual_network(ip, *a, cidr))
            }
            Mechanism::Mx {
                domain: target,
                cidr,
            } => {
                self.count_lookup()?;
                let target = self.target(domain, target.as_ref()).await;
                self.mx_matches(&target, cidr).await?
            }
            Mechanism::Ptr(target) => {
                self.count_lookup()?;
                let target = self.target(domain, target.as_ref()).await;
                let validated = self.validated().await;
                let (matched, void) = (
                    validated.names.iter().any(|n| is_within(n, &target)),
                    validated.ptr_void,
                );
                self.void_check(void, &crate::dns::reverse_name(ip))?;
                matched
            }
            Mechanism::Exists(target) => {
                self.count_lookup()?;
                let target = self.expand_domain(domain, target).await;
                // Always an A lookup, whatever the client's address family (RFC 7208 5.7).
                match self.resolver.ips(&target, false).await {
                    Ok(answer) => !self.void_check(answer.records.is_empty(), &target)?,
                    Err(e) => return self.dns_failure(&target, e, true).map(|()| false),
                }
            }
        })
    }

    async fn mx_matches(&mut self, target: &str, cidr: &DualCidr) -> Result<bool, Abort> {
        let exchanges = match self.resolver.mx(target).await {
            Ok(answer) => {
                self.void_check(answer.records.is_empty(), target)?;
                answer.records
            }
            Err(e) => return self.dns_failure(target, e, true).map(|()| false),
        };
        if exchanges.len() > MAX_NAMES {
            return Err(Abort::Perm(format!(
                "{target} has {} MX records; SPF looks at most at {MAX_NAMES} (RFC 7208 4.6.4)",
                exchanges.len()
            )));
        }
        for (_, exchange) in exchanges {
            let ips = self.addresses(&exchange, false).await?;
            if ips
                .iter()
                .any(|a| in_dual_network(self.request.ip, *a, cidr))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `name`'s addresses of the client's family. `void` says whether finding none
    /// counts as a void lookup (it does for the mechanism's own lookup).
    async fn addresses(&mut self, name: &str, void: bool) -> Result<Vec<IpAddr>, Abort> {
        match self.resolver.ips(name, self.request.ip.is_ipv6()).await {
            Ok(answer) => {
                if void {
                    self.void_check(answer.records.is_empty(), name)?;
                }
                Ok(answer.records)
            }
            Err(e) => self.dns_failure(name, e, void).map(|()| Vec::new()),
        }
    }

    /// The names of the client's PTR records (at most 10) whose addresses include
    /// the client (RFC 7208 5.5), looked up once per check. DNS errors leave names
    /// out.
    async fn validated(&mut self) -> &Validated {
        if self.validated.is_none() {
            let ip = self.request.ip;
            let (names, ptr_void) = match self.resolver.ptr(ip).await {
                Ok(answer) => {
                    let void = answer.records.is_empty();
                    (answer.records, void)
                }
                Err(_) => (Vec::new(), false),
            };
            let mut valid = Vec::new();
            for name in names.into_iter().take(MAX_NAMES) {
                if let Ok(answer) = self.resolver.ips(&name, ip.is_ipv6()).await
                    && answer.records.contains(&ip)
                {
                    valid.push(name);
                }
            }
            self.validated = Some(Validated {
                names: valid,
                ptr_void,
            });
        }
        self.validated.as_ref().expect("just set")
    }

    /// The mechanism's target: its domain-spec expanded, or the current domain.
    async fn target(&mut self, domain: &str, spec: Option<&MacroString>) -> String {
        match spec {
            Some(spec) => self.expand_domain(domain, spec).await,
            None => domain.to_string(),
        }
    }

    async fn expand_domain(&mut self, domain: &str, spec: &MacroString) -> String {
        let validated = self.validated_name_for(domain, spec).await;
        spec.expand_domain(&self.values(domain, validated.as_deref()))
    }

    /// `%{p}`'s value when `spec` uses it: a validated name within `domain` if there
    /// is one, else any validated name.
    async fn validated_name_for(&mut self, domain: &str, spec: &MacroString) -> Option<String> {
        if !spec.uses_validated_name() {
            return None;
        }
        let names = &self.validated().await.names;
        names
            .iter()
            .find(|n| is_within(n, domain))
            .or(names.first())
            .cloned()
    }

    fn values<'v>(&'v self, domain: &'v str, validated: Option<&'v str>) -> MacroValues<'v> {
        MacroValues {
            sender_local: self.request.sender_local,
            sender_domain: self.request.sender_domain,
            domain,
            ip: self.request.ip,
            helo: self.request.helo,
            validated_name: validated,
            receiver: self.request.receiver,
            now: self.request.now,
        }
    }

    /// The explanation of a fail from `exp=` (RFC 7208 6.2); any problem with it
    /// only means there is none.
    async fn explanation(&mut self, domain: &str, target: &MacroString) -> Option<String> {
        let name = self.expand_domain(domain, target).await;
        let answer = self.resolver.txt(&name).await.ok()?;
        let [text] = answer.records.as_slice() else {
            return None;
        };
        let text = std::str::from_utf8(text).ok().filter(|t| t.is_ascii())?;
        let spec = explain_string(text).ok()?;
        let validated = self.validated_name_for(domain, &spec).await;
        let expanded = spec.expand(&self.values(domain, validated.as_deref()));
        expanded.is_ascii().then_some(expanded)
    }

    fn count_lookup(&mut self) -> Result<(), Abort> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            return Err(Abort::Perm(format!(
                "more than {MAX_LOOKUPS} DNS-querying terms (include, a, mx, ptr, exists, redirect) (RFC 7208 4.6.4)"
            )));
        }
        Ok(())
    }

    /// Counts a lookup that found nothing; returns whether it was void.
    fn void_check(&mut self, empty: bool, name: &str) -> Result<bool, Abort> {
        if empty {
            self.voids += 1;
            if self.voids > MAX_VOID_LOOKUPS {
                return Err(Abort::Perm(format!(
                    "more than {MAX_VOID_LOOKUPS} lookups found nothing, the last for {name} (RFC 7208 4.6.4)"
                )));
            }
        }
        Ok(empty)
    }

    /// A lookup error in a mechanism: temporary ones end the check with temperror; a
    /// name DNS cannot hold finds nothing (a void lookup where `void` says so).
    fn dns_failure(&mut self, name: &str, e: DnsError, void: bool) -> Result<(), Abort> {
        match e {
            DnsError::Temporary { reason, .. } => {
                Err(Abort::Temp(format!("looking up {name}: {reason}")))
            }
            DnsError::Name(_) => self.void_check(void, name).map(|_| ()),
        }
    }
}

fn found(result: SpfResult, reason: String) -> Found {
    Found {
        result,
        reason,
        explanation: None,
    }
}

/// Why a domain's SPF record could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordLookupError {
    /// DNS failed: a temperror.
    #[error("{0}")]
    Temporary(String),
    /// More than one record, or an invalid one: a permerror.
    #[error("{0}")]
    Permanent(String),
}

/// The one SPF record of `domain`, as published and parsed (RFC 7208 4.5), or
/// `None` when it has none (or the name cannot exist).
pub async fn find_record(
    resolver: &dyn Resolver,
    domain: &str,
) -> Result<Option<(String, Record)>, RecordLookupError> {
    let answer = match resolver.txt(domain).await {
        Ok(answer) => answer,
        Err(DnsError::Temporary { reason, .. }) => {
            return Err(RecordLookupError::Temporary(format!(
                "looking up the SPF record of {domain}: {reason}"
            )));
        }
        Err(DnsError::Name(_)) => return Ok(None),
    };
    let mut spf = answer.records.into_iter().filter(|txt| is_spf_record(txt));
    let Some(text) = spf.next() else {
        return Ok(None);
    };
    if spf.next().is_some() {
        return Err(RecordLookupError::Permanent(format!(
            "{domain} has more than one SPF record"
        )));
    }
    let text = String::from_utf8(text)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| {
            RecordLookupError::Permanent(format!("the SPF record of {domain} is not ASCII"))
        })?;
    match text.parse::<Record>() {
        Ok(record) => Ok(Some((text, record))),
        Err(e) => Err(RecordLookupError::Permanent(format!(
            "the SPF record of {domain} is invalid: {e}"
        ))),
    }
}

/// A TXT record that is an SPF record: "v=spf1" (any case) then a space or the end.
fn is_spf_record(txt: &[u8]) -> bool {
    txt.len() >= 6
        && txt[..6].eq_ignore_ascii_case(b"v=spf1")
        && matches!(txt.get(6), None | Some(b' '))
}

/// `domain` normalized if it is a fully qualified name DNS can hold (RFC 7208 4.3).
fn fqdn(domain: &str) -> Option<String> {
    let literal = domain.starts_with('[');
    normalize_name(domain)
        .ok()
        .filter(|d| d.contains('.') && !literal)
}

/// Whether `name` is `domain` or a name under it.
fn is_within(name: &str, domain: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    name == domain || name.ends_with(&format!(".{domain}"))
}

fn in_dual_network(ip: IpAddr, network: IpAddr, cidr: &DualCidr) -> bool {
    let prefix = match ip {
        IpAddr::V4(_) => cidr.v4.unwrap_or(32),
        IpAddr::V6(_) => cidr.v6.unwrap_or(128),
    };
    in_network(ip, network, prefix)
}

/// Whether `ip` is in `network`/`prefix`; addresses of different families never are.
fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let (ip, network, bits) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (
            u128::from(u32::from(a)) << 96,
            u128::from(u32::from(b)) << 96,
            prefix,
        ),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), prefix),
        _ => return false,
    };
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(bits.min(128)))
    };
    ip & mask == network & mask
}
