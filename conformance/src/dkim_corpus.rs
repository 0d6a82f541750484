//! The Mail::DKIM verifier corpus (fastmail/mail-dkim's t/corpus, with its fake DNS
//! and the expectations of its t/verifier.t), run through `gannet::dkim::verify`.
//! Its licence (Perl 5 terms) keeps it out of this repository: it is read from the
//! project's shared vector collection: `MAIL_DKIM_CORPUS` if set, else
//! `../shared/vectors/dkim-mail-dkim-perl` next to the checkout, else the same
//! under `/work/shared` (where the collection lives on the project's machines, for
//! checkouts made elsewhere, such as CI's).
//!
//! Mail::DKIM's "pass" is a passing signature; "fail" a signature that does not
//! verify (gannet: fail); "invalid" one that cannot be checked (gannet: permerror,
//! temperror or policy).

use std::fs;
use std::path::{Path, PathBuf};

use gannet::dkim::{DkimResult, SignatureResult, verify};
use gannet::dns::{Record, StaticZone};
use gannet::message::crlf_line_ends;

use crate::Suite;

/// Cases where gannet knowingly differs from Mail::DKIM, and why.
struct Deviation {
    reason: &'static str,
    /// What gannet does instead.
    expect: fn(&[SignatureResult]) -> bool,
    applies: fn(&str) -> bool,
}

const DEVIATIONS: &[Deviation] = &[
    Deviation {
        reason: "DomainKeys (RFC 4870, historic) is not DKIM: gannet finds no DKIM-Signature in these messages",
        expect: |results| results.is_empty(),
        applies: |file| file.starts_with("dk_") || file.contains("_dk_"),
    },
    Deviation {
        reason: "signatures in pre-RFC draft formats (no v= tag, or v=0.5): RFC 6376 3.5 requires v=1, so gannet reports permerror where Mail::DKIM passes or fails them",
        expect: |results| {
            !results.is_empty()
                && results
                    .iter()
                    .all(|r| r.result == DkimResult::Permerror && r.reason.contains("v="))
        },
        applies: |file| DRAFT_FORMAT.contains(&file),
    },
    Deviation {
        reason: "rsa-sha1 signatures: RFC 8301 3.1 says verifiers must not consider them valid, so gannet reports policy where Mail::DKIM passes or fails them",
        expect: |results| {
            let sha1 = |r: &SignatureResult| {
                r.result == DkimResult::Policy && r.reason.contains("rsa-sha1")
            };
            results.iter().any(sha1)
                && results
                    .iter()
                    .all(|r| sha1(r) || r.result == DkimResult::Permerror)
        },
        applies: |file| RSA_SHA1.contains(&file),
    },
];

/// The corpus's messages whose signatures predate RFC 4871.
const DRAFT_FORMAT: &[&str] = &[
    "good_ietf00_1.txt",
    "good_ietf00_2.txt",
    "good_ietf00_3.txt",
    "good_ietf00_4.txt",
    "good_ietf00_5.txt",
    "mine_ietf01_1.txt",
    "mine_ietf01_2.txt",
    "mine_ietf01_3.txt",
    "mine_ietf01_4.txt",
    "mine_ietf05_1.txt",
    "good_ietf01_1.txt",
    "good_ietf01_2.txt",
    "bad_ietf01_1.txt",
    "bad_ietf01_2.txt",
    "bad_ietf01_3.txt",
    "bad_1.txt",
    "no_body_1.txt",
    "no_body_2.txt",
    "no_body_3.txt",
    "multiple_1.txt",
];

/// The corpus's messages signed only with rsa-sha1 (or with that and unusable
/// signatures).
const RSA_SHA1: &[&str] = &[
    "good_rfc4871_3.txt",
    "good_rfc4871_4.txt",
    "good_1878523.txt",
    "good_83176.txt",
    "multiple_2.txt",
    "good_qp_1.txt",
    "good_qp_2.txt",
    "good_qp_3.txt",
    "goodkey_1.txt",
    "goodkey_2.txt",
    "goodkey_3.txt",
    "goodkey_4.txt",
    "bad_1878954.txt",
];

/// Where the corpus is: the first of the places above that exists (the first
/// one when none does, so that the error names it).
pub fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MAIL_DKIM_CORPUS") {
        return PathBuf::from(dir);
    }
    let candidates = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/dkim-mail-dkim-perl"),
        PathBuf::from("/work/shared/vectors/dkim-mail-dkim-perl"),
    ];
    candidates
        .iter()
        .find(|dir| dir.join("expected.tsv").exists())
        .unwrap_or(&candidates[0])
        .clone()
}

pub fn run(dir: &Path) -> Suite {
    let mut suite = Suite::new("RFC 6376 Mail::DKIM corpus");
    let (expected, zone) = match load(dir) {
        Ok(loaded) => loaded,
        Err(e) => {
            suite.record(Err(format!(
                "{e} (set MAIL_DKIM_CORPUS to the corpus folder)"
            )));
            return suite;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let now = gannet::message::now_unsigned();
    for (file, want) in expected {
        let outcome = fs::read(dir.join("t/corpus").join(&file))
            .map_err(|e| format!("{file}: {e}"))
            .map(|raw| runtime.block_on(verify(&zone, &crlf_line_ends(&raw).0, now)));
        let results = match outcome {
            Ok(results) => results,
            Err(e) => {
                suite.record(Err(e));
                continue;
            }
        };
        let deviation = DEVIATIONS.iter().find(|d| (d.applies)(&file));
        let ok = match deviation {
            Some(d) => {
                suite.deviation(d.reason);
                (d.expect)(&results)
            }
            None => matches_expectation(&want, &results),
        };
        suite.record(if ok {
            Ok(())
        } else {
            Err(format!(
                "{file}: expected {want}, gannet gave {}",
                summary(&results)
            ))
        });
    }
    suite
}

fn matches_expectation(want: &str, results: &[SignatureResult]) -> bool {
    let any = |r: DkimResult| results.iter().any(|s| s.result == r);
    match want {
        "pass" => any(DkimResult::Pass),
        "fail" => !any(DkimResult::Pass) && any(DkimResult::Fail),
        _ => !results.is_empty() && !any(DkimResult::Pass) && !any(DkimResult::Fail),
    }
}

fn summary(results: &[SignatureResult]) -> String {
    if results.is_empty() {
        return "no signatures".into();
    }
    results
        .iter()
        .map(|r| format!("{} ({})", r.result, r.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The expectations (file, pass|fail|invalid) and the fake DNS as a zone.
fn load(dir: &Path) -> Result<(Vec<(String, String)>, StaticZone), String> {
    let read = |name: &str| {
        fs::read_to_string(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let expected = read("expected.tsv")?
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect();
    let mut zone = StaticZone::new();
    for line in read("t/FAKE_DNS.dat")?.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let value = value.trim();
        if value == "NXDOMAIN" {
            continue;
        } else if value.starts_with("~~") {
            zone.fail(name, None);
        } else {
            zone.add(name, Record::Txt(vec![value.as_bytes().to_vec()]));
        }
    }
    Ok((expected, zone))
}
