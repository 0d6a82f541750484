//! iprev (RFC 8601 3): does the connecting IP address's reverse name lead back to
//! it? The PTR names of the address are looked up, then each name's addresses of
//! the same family; the check passes when one of them is the address.

use std::fmt;
use std::net::IpAddr;

use crate::dns::{DnsError, Resolver};

/// PTR names checked at most, as SPF limits its ptr mechanism (RFC 7208 4.6.4): an
/// address with hundreds of names must not cost hundreds of lookups.
pub const MAX_NAMES: usize = 10;

/// RFC 8601 2.7.3's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IprevResult {
    /// A reverse name's forward addresses include the address.
    Pass,
    /// Reverse names exist, but none leads back to the address.
    Fail,
    /// A lookup failed for now.
    Temperror,
    /// The address has no reverse name.
    Permerror,
}

impl IprevResult {
    pub fn name(self) -> &'static str {
        match self {
            IprevResult::Pass => "pass",
            IprevResult::Fail => "fail",
            IprevResult::Temperror => "temperror",
            IprevResult::Permerror => "permerror",
        }
    }
}

impl fmt::Display for IprevResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iprev {
    pub result: IprevResult,
    /// For a pass, the name that led back (lowercase, without the trailing dot).
    pub name: Option<String>,
    /// Why, in words.
    pub reason: String,
}

/// Checks `ip`.
pub async fn check(resolver: &dyn Resolver, ip: IpAddr) -> Iprev {
    let outcome = |result, name, reason| Iprev {
        result,
        name,
        reason,
    };
    let names = match resolver.ptr(ip).await {
        Ok(answer) => answer.records,
        Err(DnsError::Temporary { reason, .. }) => {
            return outcome(IprevResult::Temperror, None, reason);
        }
        Err(e) => return outcome(IprevResult::Permerror, None, e.to_string()),
    };
    if names.is_empty() {
        let reason = format!("{ip} has no reverse name (PTR record)");
        return outcome(IprevResult::Permerror, None, reason);
    }
    let mut temporary = None;
    for name in names.iter().take(MAX_NAMES) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match resolver.ips(&name, ip.is_ipv6()).await {
            Ok(answer) if answer.records.contains(&ip) => {
                let reason = format!("{ip} is {name}, and {name} is {ip}");
                return outcome(IprevResult::Pass, Some(name), reason);
            }
            Ok(_) | Err(DnsError::Name(_)) => {}
            Err(DnsError::Temporary { reason, .. }) => temporary = Some(reason),
        }
    }
    // A name whose lookup failed might have led back.
    if let Some(reason) = temporary {
        return outcome(IprevResult::Temperror, None, reason);
    }
    let shown: Vec<&str> = names.iter().take(MAX_NAMES).map(String::as_str).collect();
    let reason = format!(
        "no reverse name of {ip} leads back to it ({})",
        shown.join(", ")
    );
    outcome(IprevResult::Fail, None, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{RecordType, StaticZone};

    fn zone() -> StaticZone {
        StaticZone::from_zone_file(
            r#"
1.2.0.192.in-addr.arpa.   PTR mail.example.org.
2.2.0.192.in-addr.arpa.   PTR elsewhere.example.org.
3.2.0.192.in-addr.arpa.   PTR gone.example.org.
3.2.0.192.in-addr.arpa.   PTR mail.example.org.
4.2.0.192.in-addr.arpa.   PTR down.example.org.
5.2.0.192.in-addr.arpa.   PTR gone.example.org.
5.2.0.192.in-addr.arpa.   PTR mx2.example.org.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mail.example.org.
$ORIGIN example.org.
mail       A     192.0.2.1
mail       AAAA  2001:db8::1
elsewhere  A     198.51.100.9
mx2        A     192.0.2.5
"#,
        )
        .unwrap()
    }

    fn run(zone: &StaticZone, ip: &str) -> Iprev {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(check(zone, ip.parse().unwrap()))
    }

    #[test]
    fn results_follow_rfc_8601() {
        let mut zone = zone();
        zone.fail("down.example.org", Some(RecordType::A));
        let cases = [
            ("192.0.2.1", IprevResult::Pass, Some("mail.example.org")),
            ("2001:db8::1", IprevResult::Pass, Some("mail.example.org")),
            // Of two names, the second leads back; then neither does.
            ("192.0.2.5", IprevResult::Pass, Some("mx2.example.org")),
            ("192.0.2.3", IprevResult::Fail, None),
            ("192.0.2.2", IprevResult::Fail, None),
            ("192.0.2.9", IprevResult::Permerror, None),
            ("192.0.2.4", IprevResult::Temperror, None),
        ];
        for (ip, result, name) in cases {
            let got = run(&zone, ip);
            assert_eq!(
                (got.result, got.name.as_deref()),
                (result, name),
                "{ip}: {}",
                got.reason
            );
        }
        assert_eq!(
            run(&zone, "192.0.2.2").reason,
            "no reverse name of 192.0.2.2 leads back to it (elsewhere.example.org)"
        );
    }
}
