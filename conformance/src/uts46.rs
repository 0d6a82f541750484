//! Unicode's IdnaTestV2.txt run through `Domain::parse`.
//!
//! `Domain::parse` applies UTS #46 ToASCII with every flag on (nontransitional,
//! UseSTD3ASCIIRules, CheckHyphens, CheckBidi, CheckJoiners, VerifyDnsLength), so a
//! row passes when a source with no toAsciiN status parses to exactly the toAsciiN
//! value, and a source with any status is rejected.

use std::fs;
use std::path::Path;

use gannet::address::Domain;
use gannet::leniency::Leniencies;

use crate::Suite;

/// A documented difference between gannet and the test file: where `applies`, gannet
/// is expected to do the opposite of what the row says.
struct Deviation {
    reason: &'static str,
    applies: fn(&Row) -> bool,
}

const DEVIATIONS: &[Deviation] = &[
    Deviation {
        reason: "an empty label or a trailing root dot is valid UTS #46 but not an RFC 5321 Domain, so gannet rejects it",
        applies: |row| {
            !row.failing && (row.to_ascii.is_empty() || row.to_ascii.split('.').any(str::is_empty))
        },
    },
    Deviation {
        reason: "RFC 6531 takes U-labels, which are in NFC; an ASCII '<', '=' or '>' followed by U+0338 is not, so the grammar rejects it before UTS #46 would compose it",
        applies: |row| {
            !row.failing
                && row
                    .source
                    .chars()
                    .zip(row.source.chars().skip(1))
                    .any(|(a, b)| "<=>".contains(a) && b == '\u{338}')
        },
    },
    Deviation {
        reason: "known gap: gannet's IDNA data (ICU4X 2.4, a newer Unicode than the file's 16.0) accepts U+32B9A, U+3E8AC and U+3F8CD, which the file marks V7 (disallowed)",
        // Rows that also hold a Georgian capital (U+10A0-U+10CF), disallowed in any
        // Unicode version, are rejected for that and stay ordinary rows.
        applies: |row| {
            row.status == "[V7]"
                && row.to_unicode.chars().any(|c| ACCEPTED_V7.contains(&c))
                && !row
                    .to_unicode
                    .chars()
                    .any(|c| ('\u{10A0}'..='\u{10CF}').contains(&c))
        },
    },
];

/// The code points of the known gap above.
const ACCEPTED_V7: &[char] = &['\u{32B9A}', '\u{3E8AC}', '\u{3F8CD}'];

/// One test row, with blanks resolved as the file header says.
struct Row {
    source: String,
    to_unicode: String,
    to_ascii: String,
    /// The toAsciiN status, e.g. "[B5, B6]"; empty or "[]" for none.
    status: String,
    failing: bool,
}

pub fn run(path: &Path) -> Suite {
    let mut suite = Suite::new("UTS #46 IdnaTestV2");
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            suite.record(Err(format!("{}: {e}", path.display())));
            return suite;
        }
    };
    for (n, line) in text.lines().enumerate() {
        let Some(row) = parse_row(line) else { continue };
        let deviation = DEVIATIONS.iter().find(|d| (d.applies)(&row));
        if let Some(d) = deviation {
            suite.deviation(d.reason);
        }
        let expect_error = row.failing != deviation.is_some();
        let got = Domain::parse(&row.source, Leniencies::PEDANTIC);
        let result = match (got, expect_error) {
            (Ok(d), false) if d.ascii() == row.to_ascii => Ok(()),
            (Ok(d), false) => Err(format!("gave {:?}, expected {:?}", d.ascii(), row.to_ascii)),
            (Ok(d), true) => Err(format!("accepted as {:?}, expected an error", d.ascii())),
            (Err(e), false) => Err(format!("rejected ({e}), expected {:?}", row.to_ascii)),
            (Err(_), true) => Ok(()),
        };
        suite.record(result.map_err(|e| format!("line {}: {:?}: {e}", n + 1, row.source)));
    }
    suite
}

/// Columns: source; toUnicode; toUnicodeStatus; toAsciiN; toAsciiNStatus; ...
fn parse_row(line: &str) -> Option<Row> {
    let data = line.split('#').next()?.trim();
    if data.is_empty() {
        return None;
    }
    let cols: Vec<&str> = data.split(';').map(str::trim).collect();
    let source = unescape(cols.first()?);
    let to_unicode = if cols[1].is_empty() {
        source.clone()
    } else {
        unescape(cols[1])
    };
    let unicode_status = cols[2];
    let to_ascii = if cols[3].is_empty() {
        to_unicode.clone()
    } else {
        unescape(cols[3])
    };
    let status = if cols[4].is_empty() {
        unicode_status
    } else {
        cols[4]
    }
    .to_string();
    let failing = !status.is_empty() && status != "[]";
    Some(Row {
        source,
        to_unicode,
        to_ascii,
        status,
        failing,
    })
}

/// `\uXXXX` and `\x{X...}` escapes, and `""` for the empty string.
fn unescape(s: &str) -> String {
    if s == "\"\"" {
        return String::new();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (hex, skip) = if let Some(h) = after.strip_prefix('u') {
            (h.get(..4).unwrap_or(h), 1 + 4)
        } else if let Some(h) = after.strip_prefix("x{") {
            let end = h.find('}').unwrap_or(h.len());
            (&h[..end], 2 + end + 1)
        } else {
            ("", 0)
        };
        match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
            Some(c) => {
                out.push(c);
                rest = &after[skip.min(after.len())..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_blank_columns() {
        assert_eq!(unescape("a\\u05D0b\\x{1F600}"), "a\u{5D0}b\u{1F600}");
        let row = parse_row("Faß.de; faß.de; ; xn--fa-hia.de; ; fass.de;  # faß.de").unwrap();
        assert_eq!(
            (row.source.as_str(), row.to_ascii.as_str(), row.failing),
            ("Faß.de", "xn--fa-hia.de", false)
        );
        let row = parse_row("à\\u05D0; ; [B5, B6]; xn--0ca24w; ; ;  # àא").unwrap();
        assert!(
            row.failing,
            "a blank toAsciiNStatus inherits toUnicodeStatus"
        );
        assert!(parse_row("# comment").is_none());
    }
}
