//! Where mail for a domain goes (RFC 5321 5.1): its MX hosts in order of
//! preference, the domain itself when it has no MX (implicit MX), or nowhere
//! when it publishes a null MX (RFC 7505).

use std::net::IpAddr;

use rand::seq::SliceRandom;

use super::failure::Failure;
use crate::dns::{DnsError, Resolver};
use crate::smtp::Enhanced;

/// The hosts to try for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    /// Best first.
    pub names: Vec<String>,
    /// The domain has no MX records and is its own host: without address records
    /// it takes no mail at all.
    pub implicit: bool,
}

/// The hosts to try for `domain`, best first; hosts of equal preference in
/// random order, to spread the load as RFC 5321 5.1 asks.
pub async fn hosts(resolver: &dyn Resolver, domain: &str) -> Result<Hosts, Failure> {
    // An address literal (RFC 5321 4.1.3) names its host itself.
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ip = literal.strip_prefix("IPv6:").unwrap_or(literal);
        return Ok(Hosts {
            names: vec![ip.to_string()],
            implicit: false,
        });
    }
    let answer = resolver
        .mx(domain)
        .await
        .map_err(|e| dns_failure(domain, &e))?;
    if answer.records.is_empty() {
        if answer.nxdomain {
            return Err(Failure::permanent(
                Enhanced(5, 1, 2),
                format!("the domain {domain} does not exist"),
            ));
        }
        return Ok(Hosts {
            names: vec![domain.to_string()],
            implicit: true,
        });
    }
    let mut records = answer.records;
    if records.len() == 1 && matches!(records[0].1.trim_end_matches('.'), "") {
        return Err(Failure::permanent(
            Enhanced(5, 1, 10),
            format!("{domain} accepts no mail: it publishes a null MX (RFC 7505)"),
        ));
    }
    records.shuffle(&mut rand::rng());
    records.sort_by_key(|(preference, _)| *preference);
    let names = records
        .into_iter()
        .map(|(_, host)| host.trim_end_matches('.').to_string())
        .filter(|host| !host.is_empty())
        .collect();
    Ok(Hosts {
        names,
        implicit: false,
    })
}

/// The addresses of `host`, IPv6 first.
pub async fn addresses(resolver: &dyn Resolver, host: &str) -> Result<Vec<IpAddr>, Failure> {
    if let Ok(ip) = host.parse() {
        return Ok(vec![ip]);
    }
    let mut ips = Vec::new();
    for v6 in [true, false] {
        let answer = resolver
            .ips(host, v6)
            .await
            .map_err(|e| dns_failure(host, &e))?;
        ips.extend(answer.records);
    }
    Ok(ips)
}

fn dns_failure(name: &str, e: &DnsError) -> Failure {
    match e {
        DnsError::Name(_) => Failure::permanent(Enhanced(5, 1, 2), format!("{name}: {e}")),
        DnsError::Temporary { .. } => Failure::temporary(Enhanced(4, 4, 3), e.to_string()),
    }
}
