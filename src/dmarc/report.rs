//! DMARC aggregate reports as receivers send them (RFC 7489 appendix C, and RFC
//! 9990's revision of the schema): the XML read into [`Feedback`], whether it comes
//! bare, gzipped, zipped, or attached to a mail message.
//!
//! Only the `<feedback>` element is read, from its start tag to the last end tag:
//! one receiver wraps it in an unclosed `<xs:schema>` element.
//!
//! Values the schema enumerates (dispositions, results) must be written as the
//! schema writes them, lowercase: a report that says "Pass" is refused, naming the
//! value. Text that is not UTF-8 is read with replacement characters, as a report
//! is worth reading for its counts even when one name in it is garbled.

use std::io::{Cursor, Read};
use std::net::IpAddr;

use serde::Deserialize;

use crate::spf::SpfResult;

/// The largest report read, once decompressed: far above real reports (a large
/// receiver's daily report is a few megabytes), well below what would hurt.
pub const MAX_REPORT_SIZE: u64 = 32 << 20;

/// Why bytes are not a report that can be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("not a DMARC aggregate report: {0}")]
    NotAReport(String),
    #[error("the report XML does not follow the schema: {0}")]
    Xml(String),
    #[error("the report is larger than {} MiB decompressed", MAX_REPORT_SIZE >> 20)]
    TooLarge,
    #[error("{0}")]
    Archive(String),
}

/// `<feedback>`, the whole report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Feedback {
    /// 1.0 (RFC 7489) or 2.0 (RFC 9990); older reports have none.
    pub version: Option<String>,
    pub report_metadata: ReportMetadata,
    pub policy_published: PolicyPublished,
    #[serde(rename = "record", default)]
    pub records: Vec<ReportRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportMetadata {
    pub org_name: String,
    pub email: String,
    pub extra_contact_info: Option<String>,
    pub report_id: String,
    pub date_range: DateRange,
    #[serde(rename = "error", default)]
    pub errors: Vec<String>,
    /// RFC 9990: the software that made the report.
    pub generator: Option<String>,
}

/// Seconds since the epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct DateRange {
    pub begin: u64,
    pub end: u64,
}

/// The policy the reporter found, as it found it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PolicyPublished {
    pub domain: String,
    pub adkim: Option<String>,
    pub aspf: Option<String>,
    pub p: Disposition,
    pub sp: Option<Disposition>,
    /// RFC 9990
    pub np: Option<Disposition>,
    pub pct: Option<String>,
    pub fo: Option<String>,
    /// RFC 9990: t=
    pub testing: Option<String>,
    /// RFC 9990: "psl" or "treewalk".
    pub discovery_method: Option<String>,
}

/// What was done with the messages (and, in a policy_published, what was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    None,
    /// RFC 9990: delivered, having passed.
    Pass,
    Quarantine,
    Reject,
}

impl Disposition {
    pub fn name(self) -> &'static str {
        match self {
            Disposition::None => "none",
            Disposition::Pass => "pass",
            Disposition::Quarantine => "quarantine",
            Disposition::Reject => "reject",
        }
    }
}

/// One source's messages of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportRecord {
    pub row: Row,
    pub identifiers: ReportIdentifiers,
    pub auth_results: AuthResults,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Row {
    pub source_ip: IpAddr,
    pub count: u64,
    pub policy_evaluated: PolicyEvaluated,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PolicyEvaluated {
    pub disposition: Disposition,
    /// Aligned DKIM and SPF; absent in drafts before RFC 7489.
    pub dkim: Option<Verdict>,
    pub spf: Option<Verdict>,
    #[serde(rename = "reason", default)]
    pub reasons: Vec<OverrideReason>,
}

/// DMARC's own pass or fail of one mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// Why the reporter did other than the policy asked (forwarded, sampled_out, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OverrideReason {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportIdentifiers {
    pub envelope_to: Option<String>,
    pub envelope_from: Option<String>,
    pub header_from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthResults {
    #[serde(default)]
    pub dkim: Vec<DkimAuth>,
    #[serde(default)]
    pub spf: Vec<SpfAuth>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DkimAuth {
    pub domain: String,
    pub selector: Option<String>,
    pub result: DkimAuthResult,
    pub human_result: Option<String>,
}

/// The schema's DKIMResultType (RFC 8601 2.7.1's words, with none and neutral).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAuthResult {
    None,
    Pass,
    Fail,
    Policy,
    Neutral,
    Temperror,
    Permerror,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SpfAuth {
    pub domain: String,
    /// "mfrom" or "helo"; RFC 9990 drops it.
    pub scope: Option<String>,
    pub result: SpfResult,
    pub human_result: Option<String>,
}

/// Reads a report from a file's bytes: XML, gzip, zip, or a mail message with one
/// of those attached.
pub fn read_report(bytes: &[u8]) -> Result<Feedback, ReportError> {
    read_nested(bytes, true)
}

fn read_nested(bytes: &[u8], message_allowed: bool) -> Result<Feedback, ReportError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return parse_xml(&capped(
            flate2::read::GzDecoder::new(bytes),
            "the gzip data",
        )?);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return parse_xml(&unzip(bytes)?);
    }
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let looks_like_xml =
        start.is_some_and(|i| bytes[i] == b'<' || bytes[i..].starts_with(b"\xef\xbb\xbf<"));
    if looks_like_xml {
        return parse_xml(bytes);
    }
    if message_allowed {
        return from_message(bytes);
    }
    Err(ReportError::NotAReport(
        "an attachment is neither XML, gzip nor zip".into(),
    ))
}

/// Everything `reader` gives, up to [`MAX_REPORT_SIZE`].
fn capped(reader: impl Read, what: &str) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    reader
        .take(MAX_REPORT_SIZE + 1)
        .read_to_end(&mut out)
        .map_err(|e| ReportError::Archive(format!("{what} cannot be decompressed: {e}")))?;
    if out.len() as u64 > MAX_REPORT_SIZE {
        return Err(ReportError::TooLarge);
    }
    Ok(out)
}

/// The one XML file of a zip archive (reports hold exactly one).
fn unzip(bytes: &[u8]) -> Result<Vec<u8>, ReportError> {
    let archive_error =
        |e: zip::result::ZipError| ReportError::Archive(format!("the zip archive: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(archive_error)?;
    let files: Vec<usize> = (0..archive.len())
        .filter(|&i| archive.by_index(i).is_ok_and(|f| f.is_file()))
        .collect();
    let [index] = files[..] else {
        return Err(ReportError::Archive(format!(
            "the zip archive holds {} files; a report has one",
            files.len()
        )));
    };
    let file = archive.by_index(index).map_err(archive_error)?;
    capped(file, "the zip entry")
}

/// The report attached to a mail message: the first part that reads as one.
fn from_message(bytes: &[u8]) -> Result<Feedback, ReportError> {
    let message = mail_parser::MessageParser::default()
        .parse(bytes)
        .filter(|m| !m.root_part().headers.is_empty())
        .ok_or_else(|| {
            ReportError::NotAReport("neither XML, gzip, zip nor a mail message".into())
        })?;
    let mut last_error = None;
    for part in message.parts.iter().filter(|p| !p.is_multipart()) {
        let body = part.contents();
        if body.is_empty() {
            continue;
        }
        match read_nested(body, false) {
            Ok(feedback) => return Ok(feedback),
            Err(e @ (ReportError::Xml(_) | ReportError::TooLarge | ReportError::Archive(_))) => {
                last_error = Some(e);
            }
            Err(ReportError::NotAReport(_)) => {}
        }
    }
    Err(last_error.unwrap_or_else(|| {
        ReportError::NotAReport("the message has no XML, gzip or zip part".into())
    }))
}

/// The `<feedback>` element of `bytes`, read. Only that element is read: one
/// receiver wraps it in an unclosed `<xs:schema>` start tag.
fn parse_xml(bytes: &[u8]) -> Result<Feedback, ReportError> {
    let text = String::from_utf8_lossy(bytes);
    let start = text
        .find("<feedback")
        .ok_or_else(|| ReportError::NotAReport("the XML has no <feedback> element".into()))?;
    let end = text
        .rfind("</feedback>")
        .map_or(text.len(), |i| i + "</feedback>".len());
    let element = text.get(start..end).unwrap_or(&text[start..]);
    quick_xml::de::from_str(element).map_err(|e| ReportError::Xml(e.to_string()))
}
