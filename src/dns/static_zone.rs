//! A resolver that answers from records held in memory, read from zone-file text:
//! for tests, localserve, and `gannet --dns-zone FILE`. It behaves like a recursive
//! resolver: CNAMEs are followed, a name with no records at all (and none below it)
//! is NXDOMAIN, and names marked failing give a temporary error, as a timeout would.

use std::collections::{HashMap, HashSet};

use super::name::normalize_name;
use super::records::{Record, RecordType};
use super::zonefile::{ZoneFileError, read_zone_file};
use super::{Answer, DnsError, Dnssec, Lookup, Resolver};

/// How many CNAMEs a lookup follows before giving up (a loop, most likely).
const MAX_CNAME_CHAIN: usize = 8;

#[derive(Debug, Default, Clone)]
pub struct StaticZone {
    records: HashMap<String, Vec<Record>>,
    /// Names whose lookups fail: of one type, or of every type (`None`).
    failing: HashSet<(String, Option<RecordType>)>,
}

impl StaticZone {
    pub fn new() -> Self {
        StaticZone::default()
    }

    /// The records of a zone file (see [`read_zone_file`] for the syntax).
    pub fn from_zone_file(text: &str) -> Result<Self, ZoneFileError> {
        let mut zone = StaticZone::new();
        for (name, record) in read_zone_file(text)? {
            zone.records.entry(name).or_default().push(record);
        }
        Ok(zone)
    }

    /// Adds `record` at `name`. Panics on a name DNS cannot hold: zones built in code
    /// are test fixtures.
    pub fn add(&mut self, name: &str, record: Record) {
        let name = normalize_name(name).expect("a valid DNS name in a test zone");
        self.records.entry(name).or_default().push(record);
    }

    /// Makes lookups of `name` fail temporarily, as a timeout would: of type
    /// `rtype`, or of every type.
    pub fn fail(&mut self, name: &str, rtype: Option<RecordType>) {
        let name = normalize_name(name).expect("a valid DNS name in a test zone");
        self.failing.insert((name, rtype));
    }

    /// Whether `name` exists: it has records, or a name below it does.
    fn exists(&self, name: &str) -> bool {
        self.records.contains_key(name)
            || self.records.keys().any(|k| {
                k.len() > name.len()
                    && k.ends_with(name)
                    && k.as_bytes()[k.len() - name.len() - 1] == b'.'
            })
    }

    fn answer(&self, name: &str, rtype: RecordType) -> Result<Answer, DnsError> {
        let mut name = normalize_name(name)?;
        for _ in 0..=MAX_CNAME_CHAIN {
            if self.failing.contains(&(name.clone(), None))
                || self.failing.contains(&(name.clone(), Some(rtype)))
            {
                return Err(DnsError::Temporary {
                    name,
                    reason: "the static zone marks this name as failing".into(),
                });
            }
            let here = self.records.get(&name).map(Vec::as_slice).unwrap_or(&[]);
            let cname = here.iter().find_map(|r| match r {
                Record::Cname(target) if rtype != RecordType::Cname => Some(target.clone()),
                _ => None,
            });
            if let Some(target) = cname {
                name = target;
                continue;
            }
            return Ok(Answer {
                records: here
                    .iter()
                    .filter(|r| r.record_type() == rtype)
                    .cloned()
                    .collect(),
                nxdomain: !self.exists(&name),
                dnssec: Dnssec::Insecure,
            });
        }
        Err(DnsError::Temporary {
            name,
            reason: format!("more than {MAX_CNAME_CHAIN} CNAMEs in a row"),
        })
    }
}

impl Resolver for StaticZone {
    fn lookup<'a>(&'a self, name: &'a str, rtype: RecordType) -> Lookup<'a> {
        let answer = self.answer(name, rtype);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn lookups_follow_cnames_and_tell_nxdomain_from_no_data() {
        let zone = StaticZone::from_zone_file(
            "$ORIGIN example.org.\n\
             a IN A 192.0.2.1\n\
             alias CNAME a\n\
             loop1 CNAME loop2\n\
             loop2 CNAME loop1\n\
             x.y TXT \"deep\"\n",
        )
        .unwrap();
        let resolver: &dyn Resolver = &zone;
        let ips = block_on(resolver.ips("ALIAS.example.org.", false)).unwrap();
        assert_eq!(
            ips.records,
            vec!["192.0.2.1".parse::<std::net::IpAddr>().unwrap()]
        );
        let cname = block_on(resolver.lookup("alias.example.org", RecordType::Cname)).unwrap();
        assert_eq!(cname.records, vec![Record::Cname("a.example.org".into())]);

        let nodata = block_on(resolver.txt("a.example.org")).unwrap();
        assert!(nodata.records.is_empty() && !nodata.nxdomain);
        let empty_non_terminal = block_on(resolver.txt("y.example.org")).unwrap();
        assert!(empty_non_terminal.records.is_empty() && !empty_non_terminal.nxdomain);
        let missing = block_on(resolver.txt("b.example.org")).unwrap();
        assert!(missing.records.is_empty() && missing.nxdomain);

        let looped = block_on(resolver.txt("loop1.example.org")).unwrap_err();
        assert!(matches!(looped, DnsError::Temporary { .. }), "{looped}");
    }

    #[test]
    fn failing_names_fail_temporarily_and_bad_names_permanently() {
        let mut zone = StaticZone::new();
        zone.fail("down.example.org", None);
        zone.fail("slow.example.org", Some(RecordType::Txt));
        zone.add("slow.example.org", Record::A("192.0.2.1".parse().unwrap()));
        let resolver: &dyn Resolver = &zone;
        assert!(matches!(
            block_on(resolver.txt("down.example.org")),
            Err(DnsError::Temporary { .. })
        ));
        assert!(matches!(
            block_on(resolver.txt("slow.example.org")),
            Err(DnsError::Temporary { .. })
        ));
        assert_eq!(
            block_on(resolver.ips("slow.example.org", false))
                .unwrap()
                .records
                .len(),
            1
        );
        assert!(matches!(
            block_on(resolver.txt("a..b")),
            Err(DnsError::Name(_))
        ));
    }
}
