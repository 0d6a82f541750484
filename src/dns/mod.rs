//! DNS lookups for everything that needs them (SPF, DKIM, DMARC, iprev, MX, DANE,
//! MTA-STS): the [`Resolver`] trait, one implementation over the network
//! ([`SystemResolver`], hickory-resolver) and one from zone-file text
//! ([`StaticZone`]) for tests, localserve and `gannet --dns-zone`.
//!
//! Every answer carries its DNSSEC status. A lookup either answers (possibly with
//! no records: NXDOMAIN or no data of that type) or fails temporarily; callers turn
//! a temporary failure into a temporary result, never a permanent rejection.

mod name;
mod records;
mod static_zone;
mod system;
mod zonefile;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

pub use name::{NameError, normalize_name, reverse_name};
pub use records::{Record, RecordType, Tlsa};
pub use static_zone::StaticZone;
pub use system::SystemResolver;
pub use zonefile::{ZoneFileError, read_zone_file};

/// How far an answer can be trusted, as DNSSEC validation found it (RFC 4035 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dnssec {
    /// Validated from a trust anchor.
    Secure,
    /// Provably unsigned (or not validated at all).
    Insecure,
    /// Signed, but the signatures do not validate.
    Bogus,
    /// Validation could not decide.
    Indeterminate,
}

/// The records found for one name and type. `records` is empty when the name does
/// not exist (`nxdomain`) or has no records of the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<R = Record> {
    pub records: Vec<R>,
    pub nxdomain: bool,
    pub dnssec: Dnssec,
}

impl<R> Answer<R> {
    /// The same answer with each record turned into something else; records for which
    /// `f` gives `None` (another type) are left out.
    pub fn filter_map<T>(self, f: impl FnMut(R) -> Option<T>) -> Answer<T> {
        Answer {
            records: self.records.into_iter().filter_map(f).collect(),
            nxdomain: self.nxdomain,
            dnssec: self.dnssec,
        }
    }
}

/// A lookup that gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name cannot be looked up (a label over 63 octets, an empty label, over
    /// 253 octets): a permanent problem of the name, not of DNS.
    #[error("{0}")]
    Name(#[from] NameError),
    /// SERVFAIL, a timeout, no server reachable: try again later.
    #[error("temporary DNS failure for {name}: {reason}")]
    Temporary { name: String, reason: String },
}

/// A future that a [`Resolver`] returns; boxed so `&dyn Resolver` works.
pub type Lookup<'a> = Pin<Box<dyn Future<Output = Result<Answer, DnsError>> + Send + 'a>>;

/// Looks up DNS records. Names are ASCII (A-labels), case-insensitive, with or
/// without the trailing dot. CNAMEs are followed for every type but CNAME itself.
pub trait Resolver: Send + Sync {
    fn lookup<'a>(&'a self, name: &'a str, rtype: RecordType) -> Lookup<'a>;
}

impl dyn Resolver + '_ {
    /// The TXT records at `name`, each one's character-strings joined (as SPF,
    /// DKIM and DMARC read them).
    pub async fn txt(&self, name: &str) -> Result<Answer<Vec<u8>>, DnsError> {
        let answer = self.lookup(name, RecordType::Txt).await?;
        Ok(answer.filter_map(|r| match r {
            Record::Txt(strings) => Some(strings.concat()),
            _ => None,
        }))
    }

    /// The IPv4 (`v6` false) or IPv6 addresses of `name`.
    pub async fn ips(&self, name: &str, v6: bool) -> Result<Answer<IpAddr>, DnsError> {
        let rtype = if v6 { RecordType::Aaaa } else { RecordType::A };
        let answer = self.lookup(name, rtype).await?;
        Ok(answer.filter_map(|r| match r {
            Record::A(ip) => Some(IpAddr::V4(ip)),
            Record::Aaaa(ip) => Some(IpAddr::V6(ip)),
            _ => None,
        }))
    }

    /// The MX records of `name` as (preference, exchange), lowest preference first.
    pub async fn mx(&self, name: &str) -> Result<Answer<(u16, String)>, DnsError> {
        let answer = self.lookup(name, RecordType::Mx).await?;
        let mut answer = answer.filter_map(|r| match r {
            Record::Mx {
                preference,
                exchange,
            } => Some((preference, exchange)),
            _ => None,
        });
        answer.records.sort_by_key(|(preference, _)| *preference);
        Ok(answer)
    }

    /// The names that `ip`'s reverse (PTR) records give.
    pub async fn ptr(&self, ip: IpAddr) -> Result<Answer<String>, DnsError> {
        let answer = self.lookup(&reverse_name(ip), RecordType::Ptr).await?;
        Ok(answer.filter_map(|r| match r {
            Record::Ptr(name) => Some(name),
            _ => None,
        }))
    }
}
