//! The network resolver: hickory-resolver with the system's configuration
//! (/etc/resolv.conf), its cache, and CNAME chasing.

use hickory_resolver::TokioResolver;
use hickory_resolver::lookup::Lookup as HickoryLookup;
use hickory_resolver::net::{DnsError as HickoryError, NetError, NoRecords};
use hickory_resolver::proto::dnssec::Proof;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{self, RData};

use super::name::{NameError, normalize_name};
use super::records::{Record, RecordType, Tlsa};
use super::{Answer, DnsError, Dnssec, Lookup, Resolver};

/// Looks up records over the network. Answers carry the DNSSEC proof hickory
/// reports; without validation configured that is [`Dnssec::Indeterminate`].
pub struct SystemResolver {
    inner: TokioResolver,
}

impl SystemResolver {
    /// A resolver configured from /etc/resolv.conf. Must be called inside a tokio
    /// runtime.
    pub fn from_system_conf() -> Result<Self, String> {
        let builder = TokioResolver::builder_tokio().map_err(|e| {
            format!("reading the system's DNS configuration (/etc/resolv.conf): {e}")
        })?;
        let inner = builder
            .build()
            .map_err(|e| format!("setting up the DNS resolver: {e}"))?;
        Ok(SystemResolver { inner })
    }

    async fn answer(&self, name: &str, rtype: RecordType) -> Result<Answer, DnsError> {
        let bare = normalize_name(name)?;
        // Labels as raw octets: names looked up for mail hold '_', '+', '=' (SPF
        // macros, SRS), which hickory's text parser would refuse as hostnames.
        // from_labels gives an absolute name, never tried against the search list.
        let labels = bare.split('.').map(str::as_bytes);
        let query = rr::Name::from_labels(labels)
            .map_err(|e| NameError::Invalid(bare.clone(), e.to_string()))?;
        let wanted = hickory_type(rtype);
        let temporary = |reason: String| DnsError::Temporary {
            name: bare.clone(),
            reason,
        };
        match self.inner.lookup(query, wanted).await {
            Ok(lookup) => Ok(positive(&lookup, wanted)),
            Err(NetError::Dns(HickoryError::NoRecordsFound(NoRecords {
                response_code, ..
            }))) => Ok(negative(
                response_code == ResponseCode::NXDomain,
                Dnssec::Indeterminate,
            )),
            Err(NetError::Dns(HickoryError::Nsec {
                response, proof, ..
            })) if proof != Proof::Bogus => Ok(negative(
                response.response_code == ResponseCode::NXDomain,
                dnssec_of(proof),
            )),
            Err(NetError::Dns(HickoryError::DnssecBogus | HickoryError::Nsec { .. })) => Err(
                temporary("the answer failed DNSSEC validation (bogus)".into()),
            ),
            Err(e) => Err(temporary(e.to_string())),
        }
    }
}

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, name: &'a str, rtype: RecordType) -> Lookup<'a> {
        Box::pin(self.answer(name, rtype))
    }
}

fn negative(nxdomain: bool, dnssec: Dnssec) -> Answer {
    Answer {
        records: Vec::new(),
        nxdomain,
        dnssec,
    }
}

/// The records of the wanted type (CNAMEs and signatures on the way are left
/// out), and the weakest proof among them.
fn positive(lookup: &HickoryLookup, wanted: rr::RecordType) -> Answer {
    let mut dnssec = Dnssec::Secure;
    let mut records = Vec::new();
    for record in lookup
        .answers()
        .iter()
        .filter(|r| r.record_type() == wanted)
    {
        if let Some(converted) = record_of(&record.data) {
            records.push(converted);
            dnssec = weaker(dnssec, dnssec_of(record.proof));
        }
    }
    if records.is_empty() {
        dnssec = Dnssec::Indeterminate;
    }
    Answer {
        records,
        nxdomain: false,
        dnssec,
    }
}

fn weaker(a: Dnssec, b: Dnssec) -> Dnssec {
    let rank = |d: Dnssec| match d {
        Dnssec::Bogus => 0,
        Dnssec::Indeterminate => 1,
        Dnssec::Insecure => 2,
        Dnssec::Secure => 3,
    };
    if rank(b) < rank(a) { b } else { a }
}

fn dnssec_of(proof: Proof) -> Dnssec {
    match proof {
        Proof::Secure => Dnssec::Secure,
        Proof::Insecure => Dnssec::Insecure,
        Proof::Bogus => Dnssec::Bogus,
        _ => Dnssec::Indeterminate,
    }
}

fn hickory_type(rtype: RecordType) -> rr::RecordType {
    match rtype {
        RecordType::A => rr::RecordType::A,
        RecordType::Aaaa => rr::RecordType::AAAA,
        RecordType::Mx => rr::RecordType::MX,
        RecordType::Txt => rr::RecordType::TXT,
        RecordType::Ptr => rr::RecordType::PTR,
        RecordType::Cname => rr::RecordType::CNAME,
        RecordType::Tlsa => rr::RecordType::TLSA,
    }
}

/// A hickory name as ours: lowercase, without the root dot.
/// A name without its trailing dot; the root (a null MX's exchange) is "".
fn name_of(name: &rr::Name) -> String {
    let text = name.to_ascii().to_ascii_lowercase();
    text.strip_suffix('.').unwrap_or(&text).to_string()
}

fn record_of(data: &RData) -> Option<Record> {
    Some(match data {
        RData::A(a) => Record::A(a.0),
        RData::AAAA(aaaa) => Record::Aaaa(aaaa.0),
        RData::MX(mx) => Record::Mx {
            preference: mx.preference,
            exchange: name_of(&mx.exchange),
        },
        RData::TXT(txt) => Record::Txt(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
        RData::PTR(ptr) => Record::Ptr(name_of(&ptr.0)),
        RData::CNAME(cname) => Record::Cname(name_of(&cname.0)),
        RData::TLSA(t) => Record::Tlsa(Tlsa {
            usage: u8::from(t.cert_usage),
            selector: u8::from(t.selector),
            matching: u8::from(t.matching),
            data: t.cert_data.clone(),
        }),
        _ => return None,
    })
}
