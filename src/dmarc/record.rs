//! The DMARC policy record (RFC 7489 6.3, with RFC 9989's np=, psd= and t=): parsed
//! from its TXT text with `grammars/dmarc.pest`, written back by `Display`.

use std::fmt;

use pest_derive::Parser;

use crate::grammar::parse_whole;
use crate::tag_list::{self, TagListError};

#[derive(Parser)]
#[grammar = "../grammars/tag_list.pest"]
#[grammar = "../grammars/dmarc.pest"]
struct DmarcParser;

/// What the domain owner asks receivers to do with mail that fails DMARC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// One step milder: what pct= sampling and t=y turn a policy into (RFC 7489
    /// 6.6.4, RFC 9989 4.7).
    pub fn milder(self) -> Policy {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }
}

/// How closely an authenticated domain must match the From domain (RFC 7489 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    /// The same organizational domain.
    Relaxed,
    /// The same domain.
    Strict,
}

/// psd= (RFC 9989 4.7): whether the domain is a public suffix domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicSuffix {
    Yes,
    No,
    /// u, the default: not said.
    Unknown,
}

/// fo=: when a failure report is wanted (RFC 7489 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOption {
    /// 0: when neither SPF nor DKIM gave an aligned pass.
    AllFail,
    /// 1: when either failed to give an aligned pass.
    AnyFail,
    /// d: when a DKIM signature failed, aligned or not.
    Dkim,
    /// s: when SPF failed, aligned or not.
    Spf,
}

impl FailureOption {
    fn letter(self) -> char {
        match self {
            FailureOption::AllFail => '0',
            FailureOption::AnyFail => '1',
            FailureOption::Dkim => 'd',
            FailureOption::Spf => 's',
        }
    }
}

/// A reporting address of rua= or ruf=.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUri {
    /// The URI as written, without the size limit.
    pub uri: String,
    /// The largest report the destination takes, in bytes (`!10m`).
    pub max_size: Option<u64>,
}

impl ReportUri {
    /// The address of a `mailto:` URI, percent-decoded, without `?` header fields;
    /// `None` for other schemes or an undecodable address.
    pub fn mailto(&self) -> Option<String> {
        let (scheme, rest) = self.uri.split_once(':')?;
        if !scheme.eq_ignore_ascii_case("mailto") {
            return None;
        }
        let address = rest.split('?').next().unwrap_or("");
        let decoded = percent_encoding::percent_decode_str(address)
            .decode_utf8()
            .ok()?;
        (!decoded.is_empty()).then(|| decoded.into_owned())
    }
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)?;
        match self.max_size {
            Some(size) => write!(f, "!{size}"),
            None => Ok(()),
        }
    }
}

/// A DMARC policy record, with the defaults of RFC 7489 6.3 filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// p=
    pub policy: Policy,
    /// sp=: for subdomains of the organizational domain; p= when absent.
    pub subdomain_policy: Option<Policy>,
    /// np= (RFC 9989): for subdomains that do not exist; sp=, then p=, when absent.
    pub nonexistent_policy: Option<Policy>,
    /// adkim=
    pub dkim_alignment: Alignment,
    /// aspf=
    pub spf_alignment: Alignment,
    /// pct= (RFC 7489; RFC 9989 drops it for t=): the share of failing messages the
    /// policy applies to, 0 to 100.
    pub percent: u8,
    /// t=y (RFC 9989): the domain is testing its policy; receivers apply one step
    /// milder.
    pub testing: bool,
    /// psd= (RFC 9989)
    pub public_suffix: PublicSuffix,
    /// rua=
    pub aggregate_reports: Vec<ReportUri>,
    /// ruf=
    pub failure_reports: Vec<ReportUri>,
    /// fo=
    pub failure_options: Vec<FailureOption>,
    /// rf= (RFC 7489 only): failure report formats.
    pub report_formats: Vec<String>,
    /// ri= (RFC 7489 only): seconds between aggregate reports.
    pub report_interval: u32,
}

impl Record {
    /// A record with `policy` and every other tag at its default.
    pub fn with_policy(policy: Policy) -> Record {
        Record {
            policy,
            subdomain_policy: None,
            nonexistent_policy: None,
            dkim_alignment: Alignment::Relaxed,
            spf_alignment: Alignment::Relaxed,
            percent: 100,
            testing: false,
            public_suffix: PublicSuffix::Unknown,
            aggregate_reports: Vec::new(),
            failure_reports: Vec::new(),
            failure_options: vec![FailureOption::AllFail],
            report_formats: vec!["afrf".into()],
            report_interval: DEFAULT_INTERVAL,
        }
    }
}

const DEFAULT_INTERVAL: u32 = 86400;

/// A record and what in it was not taken as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub record: Record,
    /// Each tag whose value was unusable and so replaced by its default, and any
    /// other departure from the RFC, in words.
    pub warnings: Vec<String>,
}

/// Why a TXT record gives no DMARC policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// It does not start with v=DMARC1: not a DMARC record at all, to be ignored
    /// (RFC 7489 6.6.3).
    #[error("not a DMARC record: it does not start with v=DMARC1")]
    NotDmarc,
    #[error("{0}")]
    Tags(TagListError),
    /// No valid p= (or an invalid sp=) and no valid rua= to fall back on (RFC 7489
    /// 6.6.3).
    #[error("{0}, and no valid rua= address to fall back to p=none with")]
    NoPolicy(String),
}

/// Whether a TXT record is meant as a DMARC record: it starts with the tag v=DMARC1
/// (case-sensitive, white space allowed around the '=').
pub fn is_dmarc_record(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else {
        return false;
    };
    let wsp = [' ', '\t'];
    let rest = text.trim_start_matches(wsp);
    rest.strip_prefix('v')
        .map(|r| r.trim_start_matches(wsp))
        .and_then(|r| r.strip_prefix('='))
        .map(|r| r.trim_start_matches(wsp))
        .and_then(|r| r.strip_prefix("DMARC1"))
        .map(|r| r.trim_start_matches(wsp))
        .is_some_and(|r| r.is_empty() || r.starts_with(';'))
}

impl Parsed {
    pub fn parse(text: &str) -> Result<Parsed, RecordError> {
        if !is_dmarc_record(text.as_bytes()) {
            return Err(RecordError::NotDmarc);
        }
        let tags = tag_list::split(text).map_err(RecordError::Tags)?;
        let mut warnings = Vec::new();
        let mut record = Record::with_policy(Policy::None);
        let mut policy = Err("no p= tag".to_string());
        for (i, tag) in tags.iter().enumerate().skip(1) {
            let value = tag.value.as_str();
            if tag.name == "p" {
                if i != 1 {
                    warnings.push("p= should come right after v= (RFC 7489 6.3)".into());
                }
                policy = one_policy(value).map_err(|e| format!("p={value}: {e}"));
            } else if let Err(problem) = record.set(&tag.name, value) {
                warnings.push(format!(
                    "{}={value}: {problem}; the default is used",
                    tag.name
                ));
            }
        }
        let sp_invalid = tags.iter().any(|t| t.name == "sp") && record.subdomain_policy.is_none();
        let policy = match policy {
            Ok(p) if !sp_invalid => Ok(p),
            Ok(_) => Err("sp= is not valid".to_string()),
            Err(e) => Err(e),
        };
        record.policy = match policy {
            Ok(p) => p,
            // RFC 7489 6.6.3: act as if p=none when a rua= address is usable.
            Err(problem) if !record.aggregate_reports.is_empty() => {
                warnings.push(format!(
                    "{problem}: taken as p=none, as rua= is valid (RFC 7489 6.6.3)"
                ));
                record.subdomain_policy = None;
                Policy::None
            }
            Err(problem) => return Err(RecordError::NoPolicy(problem)),
        };
        Ok(Parsed { record, warnings })
    }
}

impl Record {
    /// Sets tag `name` (other than v= and p=) from its value; unknown tags are
    /// ignored (RFC 7489 6.3).
    fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "sp" => self.subdomain_policy = Some(one_policy(value)?),
            "np" => self.nonexistent_policy = Some(one_policy(value)?),
            "adkim" => self.dkim_alignment = alignment(value)?,
            "aspf" => self.spf_alignment = alignment(value)?,
            "pct" => {
                self.percent = u8::try_from(number(value)?)
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or("not 0 to 100")?;
            }
            "t" => {
                self.testing = match flag(value) {
                    Ok('y') => true,
                    Ok('n') => false,
                    _ => return Err("expected y or n".into()),
                };
            }
            "psd" => {
                self.public_suffix = match flag(value)? {
                    'y' => PublicSuffix::Yes,
                    'n' => PublicSuffix::No,
                    _ => PublicSuffix::Unknown,
                };
            }
            "rua" => self.aggregate_reports = uris(value)?,
            "ruf" => self.failure_reports = uris(value)?,
            "fo" => self.failure_options = failure_options(value)?,
            "rf" => {
                let formats = parts(Rule::format_list_only, value)?;
                self.report_formats = formats.iter().map(|f| f.to_ascii_lowercase()).collect();
            }
            "ri" => {
                self.report_interval = u32::try_from(number(value)?).map_err(|_| "too large")?
            }
            _ => {}
        }
        Ok(())
    }
}

/// The parts of `value` under the entry rule `rule`, or what was wrong, in words.
fn parts(rule: Rule, value: &str) -> Result<Vec<String>, String> {
    let entry = parse_whole::<DmarcParser, _>(rule, value, describe, &[":", ",", "!"])
        .map_err(|e| e.to_string())?;
    Ok(entry
        .into_inner()
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| p.as_str().to_string())
        .collect())
}

fn one(rule: Rule, value: &str) -> Result<String, String> {
    Ok(parts(rule, value)?.remove(0).to_ascii_lowercase())
}

fn one_policy(value: &str) -> Result<Policy, String> {
    Ok(match one(Rule::policy_only, value)?.as_str() {
        "none" => Policy::None,
        "quarantine" => Policy::Quarantine,
        _ => Policy::Reject,
    })
}

fn alignment(value: &str) -> Result<Alignment, String> {
    Ok(match one(Rule::alignment_only, value)?.as_str() {
        "s" => Alignment::Strict,
        _ => Alignment::Relaxed,
    })
}

fn flag(value: &str) -> Result<char, String> {
    Ok(one(Rule::flag_only, value)?.chars().next().unwrap_or('u'))
}

fn number(value: &str) -> Result<u64, String> {
    one(Rule::number_only, value)?
        .parse()
        .map_err(|_| "too large".to_string())
}

fn failure_options(value: &str) -> Result<Vec<FailureOption>, String> {
    Ok(parts(Rule::failure_options_only, value)?
        .iter()
        .map(|o| match o.as_str() {
            "0" => FailureOption::AllFail,
            "1" => FailureOption::AnyFail,
            "d" | "D" => FailureOption::Dkim,
            _ => FailureOption::Spf,
        })
        .collect())
}

fn uris(value: &str) -> Result<Vec<ReportUri>, String> {
    let entry = parse_whole::<DmarcParser, _>(Rule::uri_list_only, value, describe, &[",", "!"])
        .map_err(|e| e.to_string())?;
    entry
        .into_inner()
        .filter(|p| p.as_rule() == Rule::dmarc_uri)
        .map(|pair| {
            let mut inner = pair.into_inner();
            let uri = inner.next().expect("a URI").as_str().to_string();
            let max_size = inner
                .next()
                .map(|size| size_in_bytes(size.as_str()))
                .transpose()?;
            Ok(ReportUri { uri, max_size })
        })
        .collect()
}

/// `10m` in bytes; a unit is a power of 1024 (RFC 7489 6.2).
fn size_in_bytes(size: &str) -> Result<u64, String> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let shift = match size[digits.len()..].to_ascii_lowercase().as_str() {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => 40,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("report size {size} is too large"))
}

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::policy => "none, quarantine or reject",
        Rule::alignment => "r or s",
        Rule::flag => "y or n",
        Rule::dmarc_uri | Rule::uri => "a URI",
        Rule::scheme => "a URI scheme",
        Rule::size => "a size",
        Rule::failure_option => "0, 1, d or s",
        Rule::keyword => "a format name",
        Rule::number => "digits",
        Rule::EOI => "end of value",
        _ => return None,
    })
}

impl fmt::Display for Record {
    /// v=DMARC1, p=, then each tag that is not at its default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let defaults = Record::with_policy(self.policy);
        write!(f, "v=DMARC1; p={}", self.policy.name())?;
        let policies = [
            ("sp", self.subdomain_policy),
            ("np", self.nonexistent_policy),
        ];
        for (tag, policy) in policies {
            if let Some(policy) = policy {
                write!(f, "; {tag}={}", policy.name())?;
            }
        }
        for (tag, alignment) in [("adkim", self.dkim_alignment), ("aspf", self.spf_alignment)] {
            if alignment == Alignment::Strict {
                write!(f, "; {tag}=s")?;
            }
        }
        if self.percent != 100 {
            write!(f, "; pct={}", self.percent)?;
        }
        if self.testing {
            f.write_str("; t=y")?;
        }
        match self.public_suffix {
            PublicSuffix::Yes => f.write_str("; psd=y")?,
            PublicSuffix::No => f.write_str("; psd=n")?,
            PublicSuffix::Unknown => {}
        }
        for (tag, uris) in [
            ("rua", &self.aggregate_reports),
            ("ruf", &self.failure_reports),
        ] {
            if !uris.is_empty() {
                let uris: Vec<String> = uris.iter().map(ToString::to_string).collect();
                write!(f, "; {tag}={}", uris.join(","))?;
            }
        }
        if self.failure_options != defaults.failure_options {
            let letters: Vec<String> = self
                .failure_options
                .iter()
                .map(|o| o.letter().to_string())
                .collect();
            write!(f, "; fo={}", letters.join(":"))?;
        }
        if self.report_formats != defaults.report_formats {
            write!(f, "; rf={}", self.report_formats.join(":"))?;
        }
        if self.report_interval != DEFAULT_INTERVAL {
            write!(f, "; ri={}", self.report_interval)?;
        }
        Ok(())
    }
}
