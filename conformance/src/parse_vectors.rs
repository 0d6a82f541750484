//! Parser vectors: TOML files described in `rfc-vectors/README.md`, one folder per
//! RFC, each case naming the parser it goes through (addresses, SMTP commands, header
//! address fields, IMAP commands).

use std::fmt::Display;
use std::fs;
use std::path::Path;

use gannet::address::{Address, Domain, ForwardPath, Localpart, ReversePath};
use gannet::imap;
use gannet::leniency::{Leniencies, Leniency};
use gannet::message;
use gannet::smtp::Command;
use serde::Deserialize;

use crate::Suite;

/// The folders with parser vectors, and the suite name for each.
const SUITES: &[(&str, &str)] = &[
    ("rfc5321", "RFC 5321 addresses, commands"),
    ("rfc5322", "RFC 5322 addr-spec"),
    ("rfc5322-addresses", "RFC 5322 address lists, From"),
    ("rfc6531", "RFC 6531 UTF-8"),
    ("rfc1870", "RFC 1870 SIZE"),
    ("rfc3030", "RFC 3030 BDAT, BINARYMIME"),
    ("rfc3461", "RFC 3461 DSN parameters"),
    ("rfc4865", "RFC 4865 FUTURERELEASE"),
    ("rfc4954", "RFC 4954 AUTH"),
    ("rfc9051", "RFC 9051 IMAP commands"),
    ("rfc4978", "RFC 4978 COMPRESS"),
    ("rfc7162", "RFC 7162 CONDSTORE, QRESYNC"),
    ("rfc3502", "RFC 3502 MULTIAPPEND"),
    ("rfc8514", "RFC 8514 SAVEDATE"),
    ("rfc7889", "RFC 7889 APPENDLIMIT"),
    ("rfc5256", "RFC 5256 SORT, THREAD"),
    ("rfc5032", "RFC 5032 WITHIN"),
    ("rfc9208", "RFC 9208 QUOTA"),
    ("rfc8508", "RFC 8508 REPLACE"),
    ("rfc8474", "RFC 8474 OBJECTID"),
    ("rfc9394", "RFC 9394 PARTIAL"),
    ("rfc5464", "RFC 5464 METADATA, RFC 9590"),
    ("rfc5465", "RFC 5465 NOTIFY"),
    ("rfc7377", "RFC 7377 MULTISEARCH"),
    ("rfc6855", "RFC 6855 UTF8=ACCEPT"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    entry: Option<String>,
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    entry: Option<String>,
    input: String,
    /// For `imap-command`: the literals' octets, in order, whose markers `input` has.
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    lenient: Vec<Leniency>,
    display: Option<String>,
    ascii: Option<String>,
    error: Option<String>,
    /// The obsolete forms (RFC 5322 section 4) a header value uses, by their
    /// `Obsolete` variant names; none when left out.
    #[serde(default)]
    obsolete: Vec<String>,
    #[serde(rename = "ref")]
    reference: String,
}

pub fn run(vectors: &Path) -> Vec<Suite> {
    SUITES
        .iter()
        .map(|(dir, name)| run_dir(&vectors.join(dir), name))
        .collect()
}

fn run_dir(dir: &Path, name: &str) -> Suite {
    let mut suite = Suite::new(name);
    let mut files: Vec<_> = match fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            suite.record(Err(format!("{}: {e}", dir.display())));
            return suite;
        }
    };
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    for path in files {
        let file = fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| toml::from_str::<File>(&text).map_err(|e| e.to_string()));
        match file {
            Ok(file) => {
                for (i, case) in file.cases.iter().enumerate() {
                    let at = format!(
                        "{}#{}",
                        path.file_name().unwrap_or_default().to_string_lossy(),
                        i + 1
                    );
                    let result = check(case, file.entry.as_deref())
                        .map_err(|e| format!("{at} {:?} ({}): {e}", case.input, case.reference));
                    suite.record(result);
                }
            }
            Err(e) => suite.record(Err(format!("{}: {e}", path.display()))),
        }
    }
    suite
}

/// What an entry point gave: its display form, for domains the A-label form, and for
/// header values the obsolete syntax used.
#[derive(Default)]
struct Parsed {
    display: String,
    ascii: Option<String>,
    obsolete: Vec<String>,
}

/// A header value's entries, shown as a list in canonical form.
fn header_value<T: Display>(
    r: Result<message::Parsed<Vec<T>>, impl Display>,
) -> Result<Parsed, String> {
    r.map(|p| Parsed {
        display: p
            .value
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        ascii: None,
        obsolete: p.obsolete.iter().map(|o| format!("{o:?}")).collect(),
    })
    .map_err(|e| e.to_string())
}

/// An IMAP request as the vectors show it: the tag and the command's Debug form, with
/// an APPEND's message shown by its length.
fn imap_request(r: &imap::Request) -> String {
    match &r.command {
        imap::Command::Append { mailbox, messages } => {
            let shown: Vec<String> = messages.iter().map(append_message).collect();
            format!(
                "{} Append {{ mailbox: {mailbox:?}, {} }}",
                r.tag,
                shown.join("; ")
            )
        }
        imap::Command::Replace {
            uid,
            number,
            mailbox,
            message,
        } => format!(
            "{} Replace {{ uid: {uid}, number: {number:?}, mailbox: {mailbox:?}, {} }}",
            r.tag,
            append_message(message)
        ),
        imap::Command::SetMetadata { mailbox, values } => {
            let shown: Vec<String> = values
                .iter()
                .map(|(entry, value)| match value {
                    None => format!("{entry} NIL"),
                    Some(v) => format!("{entry} {:?}", String::from_utf8_lossy(v)),
                })
                .collect();
            format!(
                "{} SetMetadata {{ mailbox: {mailbox:?}, values: [{}] }}",
                r.tag,
                shown.join(", ")
            )
        }
        command => format!("{} {command:?}", r.tag),
    }
}

/// An APPEND or REPLACE message with its data shown by its length.
fn append_message(m: &imap::AppendMessage) -> String {
    let utf8 = if m.utf8 { " (UTF8)" } else { "" };
    format!(
        "flags: {:?}, date: {:?}, data: {} octets{utf8}",
        m.flags,
        m.date,
        m.data.len()
    )
}

fn parse(
    entry: &str,
    input: &str,
    literals: &[String],
    lenient: Leniencies,
) -> Result<Result<Parsed, String>, String> {
    let plain = |r: Result<String, gannet::address::AddressError>| {
        r.map(|display| Parsed {
            display,
            ..Parsed::default()
        })
        .map_err(|e| e.to_string())
    };
    Ok(match entry {
        "mailbox" => plain(Address::parse(input, lenient).map(|a| a.to_string())),
        "addr-spec" => plain(Address::parse_addr_spec(input, lenient).map(|a| a.to_string())),
        "localpart" => plain(Localpart::parse(input, lenient).map(|l| l.to_string())),
        "reverse-path" => plain(ReversePath::parse(input, lenient).map(|p| p.to_string())),
        "forward-path" => plain(ForwardPath::parse(input, lenient).map(|p| p.to_string())),
        // Errors are compared as the reply a client would get.
        "smtp-command" => Command::parse(input, lenient)
            .map(|c| Parsed {
                display: c.to_string(),
                ..Parsed::default()
            })
            .map_err(|e| e.reply().to_string().trim_end().to_string()),
        // Errors are compared as the reply a client would get.
        "imap-command" => {
            let literals = literals
                .iter()
                .map(|l| imap::Literal::Memory(l.as_bytes().to_vec()))
                .collect();
            imap::parse_command(input, literals)
                .map(|r| Parsed {
                    display: imap_request(&r),
                    ..Parsed::default()
                })
                .map_err(|e| {
                    let tag = e.tag.as_deref().unwrap_or("*");
                    format!("{tag} BAD [PARSE] {}", e.message)
                })
        }
        "domain" => Domain::parse(input, lenient)
            .map(|d| Parsed {
                display: d.to_string(),
                ascii: Some(d.ascii().to_string()),
                ..Parsed::default()
            })
            .map_err(|e| e.to_string()),
        "address-list" => header_value(message::parse_address_list(input, lenient)),
        "mailbox-list" => header_value(message::parse_mailbox_list(input, lenient)),
        "header-mailbox" => {
            header_value(
                message::parse_mailbox(input, lenient).map(|p| message::Parsed {
                    value: vec![p.value],
                    obsolete: p.obsolete,
                }),
            )
        }
        // A whole message; errors are compared as the text a submission server sends.
        "from-field" => header_value(message::from_addresses(input.as_bytes(), lenient)),
        other => return Err(format!("unknown entry {other:?}")),
    })
}

fn check(case: &Case, default_entry: Option<&str>) -> Result<(), String> {
    let entry = case
        .entry
        .as_deref()
        .or(default_entry)
        .ok_or("no entry given")?;
    let lenient: Leniencies = case.lenient.iter().copied().collect();
    match (
        parse(entry, &case.input, &case.literals, lenient)?,
        &case.error,
    ) {
        (Ok(p), None) => {
            let want = case.display.as_deref().unwrap_or(&case.input);
            if p.display != want {
                return Err(format!("displayed as {:?}, expected {want:?}", p.display));
            }
            if p.obsolete != case.obsolete {
                return Err(format!(
                    "obsolete syntax {:?}, expected {:?}",
                    p.obsolete, case.obsolete
                ));
            }
            match (&case.ascii, &p.ascii) {
                (Some(want), Some(got)) if want != got => {
                    Err(format!("A-label form {got:?}, expected {want:?}"))
                }
                _ => Ok(()),
            }
        }
        (Ok(p), Some(want)) => Err(format!(
            "accepted as {:?}, expected error {want:?}",
            p.display
        )),
        (Err(e), None) => Err(format!("rejected: {e}")),
        (Err(e), Some(want)) if e.starts_with(want.as_str()) => Ok(()),
        (Err(e), Some(want)) => Err(format!("rejected with {e:?}, expected {want:?}")),
    }
}
