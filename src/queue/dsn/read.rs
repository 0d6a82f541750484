//! Reading the delivery-status content (RFC 3464 2.1): a byte framer that splits it
//! into groups of unfolded fields, and the conversion of each field's value, read
//! with `grammars/dsn.pest`, into a typed value.

use std::fmt::Display;

use pest::iterators::Pair;
use pest_derive::Parser;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::Action;
use super::parse::{DsnError, Typed};
use crate::grammar::{SyntaxError, parse_whole};
use crate::message::{MAX_COMMENT_DEPTH, check_comment_depth};
use crate::smtp::Enhanced;

#[derive(Parser)]
#[grammar = "../grammars/message.pest"]
#[grammar = "../grammars/dsn.pest"]
struct DsnParser;

/// The longest line of the delivery-status content, without its line break (RFC
/// 5322 2.1.1, whose line rules RFC 3464 2.1.1 takes over).
const MAX_LINE: usize = 998;

/// One field of the delivery-status content, unfolded.
#[derive(Debug)]
pub(super) struct RawField {
    /// The line it starts on, counted from 1 in the delivery-status content.
    pub line: usize,
    /// The name as written.
    pub name: String,
    /// The value: after the colon, line breaks removed.
    value: String,
    /// Characters before the value in the unfolded field, for error columns.
    value_column: usize,
}

/// Splits the delivery-status content into groups of fields. Groups are separated by
/// one or more empty lines (or lines of white space only); a line that starts with
/// white space continues the field before it. Lines end in CRLF or LF; each must be
/// UTF-8 and at most 998 octets long.
pub(super) fn groups(content: &[u8]) -> Result<Vec<Vec<RawField>>, DsnError> {
    let mut groups = Vec::new();
    let mut group: Vec<(usize, String)> = Vec::new();
    for (i, line) in content.split(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let text = checked_line(line.strip_suffix(b"\r").unwrap_or(line), number)?;
        if text.trim().is_empty() {
            if !group.is_empty() {
                groups.push(fields(std::mem::take(&mut group))?);
            }
        } else if text.starts_with([' ', '\t']) {
            let (_, field) = group.last_mut().ok_or_else(|| DsnError::Line {
                line: number,
                problem: "a continuation line without a field before it".into(),
            })?;
            field.push_str(text);
        } else {
            group.push((number, text.to_string()));
        }
    }
    if !group.is_empty() {
        groups.push(fields(group)?);
    }
    Ok(groups)
}

/// The text of line `number`, or what is wrong with it.
fn checked_line(line: &[u8], number: usize) -> Result<&str, DsnError> {
    if line.len() > MAX_LINE {
        return Err(DsnError::Line {
            line: number,
            problem: format!("longer than {MAX_LINE} octets"),
        });
    }
    std::str::from_utf8(line).map_err(|e| DsnError::Line {
        line: number,
        problem: format!("not UTF-8 at octet {}", e.valid_up_to() + 1),
    })
}

/// Unfolded fields, each with the number of its first line, split into name and value.
fn fields(group: Vec<(usize, String)>) -> Result<Vec<RawField>, DsnError> {
    group
        .into_iter()
        .map(|(line, text)| {
            let field = parse_whole::<DsnParser, _>(Rule::field_only, &text, describe, PUNCTUATION)
                .map_err(|e| DsnError::Line {
                    line,
                    problem: format!("not a field: {e}"),
                })?;
            let name = child(&field, Rule::field_name).as_str().to_string();
            let value = child(&field, Rule::field_value);
            Ok(RawField {
                line,
                name,
                value_column: text[..value.as_span().start()].chars().count(),
                value: value.as_str().to_string(),
            })
        })
        .collect()
}

impl RawField {
    /// The value as text (`*text`): trimmed, comments kept as written.
    pub fn text(&self) -> String {
        self.value.trim().to_string()
    }

    /// A `type; text` value: an MTA name or a diagnostic.
    pub fn typed(&self) -> Result<Typed, DsnError> {
        let entry = self.entry(Rule::typed_only)?;
        Ok(Typed {
            kind: child(&entry, Rule::type_name).as_str().to_ascii_lowercase(),
            value: child(&entry, Rule::typed_text).as_str().trim().to_string(),
        })
    }

    /// An `address-type; address` value. A utf-8 address has its escapes decoded;
    /// angle brackets around an rfc822 or utf-8 address, which some MTAs write, are
    /// removed.
    pub fn address(&self) -> Result<Typed, DsnError> {
        let mut address = self.typed()?;
        if address.kind == "utf-8" {
            address.value = decode_utf8_address(&address.value);
        }
        if matches!(address.kind.as_str(), "rfc822" | "utf-8") {
            let mut value = address.value.trim();
            while let Some(inner) = value.strip_prefix('<').and_then(|v| v.strip_suffix('>')) {
                value = inner.trim();
            }
            address.value = value.to_string();
        }
        Ok(address)
    }

    pub fn action(&self) -> Result<Action, DsnError> {
        let entry = self.entry(Rule::action_only)?;
        Action::from_name(child(&entry, Rule::action_value).as_str())
            .ok_or_else(|| self.error("not an action"))
    }

    /// A status code (RFC 3463 2); a comment after it is dropped.
    pub fn status(&self) -> Result<Enhanced, DsnError> {
        let entry = self.entry(Rule::status_only)?;
        let code = child(&entry, Rule::status_code);
        let number = |rule| child(&code, rule).as_str().parse::<u16>().ok();
        match (
            number(Rule::status_class),
            number(Rule::status_subject),
            number(Rule::status_detail),
        ) {
            (Some(class), Some(subject), Some(detail)) => {
                Ok(Enhanced(class as u8, subject, detail))
            }
            _ => Err(self.error("not a status code")),
        }
    }

    /// A date-time, as seconds since the Unix epoch.
    pub fn date(&self) -> Result<i64, DsnError> {
        let entry = self.entry(Rule::date_time_only)?;
        let mut parts = DateParts::default();
        for part in child(&entry, Rule::date_time).into_inner() {
            let slot = match part.as_rule() {
                Rule::day => &mut parts.day,
                Rule::month => &mut parts.month,
                Rule::year => &mut parts.year,
                Rule::hour => &mut parts.hour,
                Rule::minute => &mut parts.minute,
                Rule::second => &mut parts.second,
                Rule::zone => &mut parts.zone,
                _ => continue,
            };
            *slot = part.as_str();
        }
        parts
            .unix()
            .ok_or_else(|| self.error("no such date and time"))
    }

    /// The value read with the entry rule `rule`, comment depth checked first (comments
    /// nest, and the grammar recurses into them).
    fn entry(&self, rule: Rule) -> Result<Pair<'_, Rule>, DsnError> {
        check_comment_depth(&self.value).map_err(|column| {
            let column = column + self.value_column;
            self.error(format!(
                "comments nested more than {MAX_COMMENT_DEPTH} deep at {column}"
            ))
        })?;
        parse_whole::<DsnParser, _>(rule, &self.value, describe, PUNCTUATION).map_err(
            |mut e: SyntaxError| {
                e.column += self.value_column;
                self.error(e)
            },
        )
    }

    fn error(&self, problem: impl Display) -> DsnError {
        DsnError::Field {
            line: self.line,
            field: self.name.clone(),
            problem: problem.to_string(),
        }
    }
}

/// The first child of `pair` made by `rule`, which the grammar guarantees.
fn child<'i>(pair: &Pair<'i, Rule>, rule: Rule) -> Pair<'i, Rule> {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == rule)
        .expect("the grammar gives this rule that child")
}

/// A utf-8 address (RFC 6533 3) with each `\x{HEX}` naming a Unicode scalar value
/// replaced by that character; anything else is kept as written.
pub(super) fn decode_utf8_address(text: &str) -> String {
    let Ok(entry) =
        parse_whole::<DsnParser, _>(Rule::utf8_address_only, text, describe, PUNCTUATION)
    else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    for part in entry.into_inner() {
        let decoded = (part.as_rule() == Rule::embedded_unicode_char)
            .then(|| u32::from_str_radix(child(&part, Rule::hexpoint).as_str(), 16).ok())
            .flatten()
            .and_then(char::from_u32);
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(part.as_str()),
        }
    }
    out
}

/// The parts of an RFC 5322 date-time as written.
#[derive(Default)]
struct DateParts<'a> {
    day: &'a str,
    month: &'a str,
    year: &'a str,
    hour: &'a str,
    minute: &'a str,
    second: &'a str,
    zone: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl DateParts<'_> {
    /// Seconds since the Unix epoch; `None` for a date or time that does not exist.
    fn unix(&self) -> Option<i64> {
        let month = MONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(self.month))?;
        let month = Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
        let date = Date::from_calendar_date(self.full_year()?, month, self.day.parse().ok()?);
        // A leap second (RFC 5322 3.3 allows 60) counts as the second before it.
        let second = match self.second {
            "" => 0,
            s => s.parse::<u8>().ok()?.min(59),
        };
        let time = Time::from_hms(self.hour.parse().ok()?, self.minute.parse().ok()?, second);
        let local = PrimitiveDateTime::new(date.ok()?, time.ok()?);
        let unix = local.assume_utc().unix_timestamp() - zone_minutes(self.zone)? * 60;
        // Years 0 to 9999 in UTC too, so that the time can be written again.
        let utc = OffsetDateTime::from_unix_timestamp(unix).ok()?;
        (0..=9999).contains(&utc.year()).then_some(unix)
    }

    /// The year, with obs-year's two digits meaning 1950 to 2049 and three digits
    /// counted from 1900 (RFC 5322 4.3).
    fn full_year(&self) -> Option<i32> {
        let n: i32 = self.year.parse().ok()?;
        Some(match self.year.len() {
            2 if n < 50 => 2000 + n,
            2 | 3 => 1900 + n,
            _ => n,
        })
    }
}

/// The zone's offset from UTC in minutes. The obsolete US names have their offsets;
/// military zones count as -0000, as RFC 5322 4.3 says, since their signs were
/// used both ways.
fn zone_minutes(zone: &str) -> Option<i64> {
    if let Some(digits) = zone.strip_prefix(['+', '-']) {
        let hhmm: i64 = digits.parse().ok()?;
        if hhmm % 100 >= 60 {
            return None;
        }
        let minutes = hhmm / 100 * 60 + hhmm % 100;
        return Some(if zone.starts_with('-') {
            -minutes
        } else {
            minutes
        });
    }
    let hours = match zone.to_ascii_uppercase().as_str() {
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => 0,
    };
    Some(hours * 60)
}

const PUNCTUATION: &[&str] = &[":", ";", ".", ",", ")"];

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::field_name => "a field name",
        Rule::type_name => "a type (dns, rfc822, utf-8, smtp, ...)",
        Rule::action_value => "failed, delayed, delivered, relayed or expanded",
        Rule::status_class => "a status code (such as 5.1.1)",
        Rule::status_subject | Rule::status_detail => "1 to 3 digits",
        Rule::date_time | Rule::day_name | Rule::day => "a date (day month year)",
        Rule::month => "a month (Jan, Feb, ...)",
        Rule::year => "a year",
        Rule::hour | Rule::minute | Rule::second => "two digits",
        Rule::zone => "a zone (+hhmm or -hhmm)",
        Rule::EOI => "the end of the field",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: &str) -> RawField {
        let text = format!("{name}: {value}");
        let mut group = fields(vec![(7, text)]).unwrap();
        group.remove(0)
    }

    #[test]
    fn dates_read_with_comments_obsolete_zones_and_years() {
        let unix = |value| field("Arrival-Date", value).date();
        assert_eq!(unix("Sun, 22 Nov 2026 17:23:03 +0000"), Ok(1795368183));
        assert_eq!(unix("22 Nov 2026 18:23 +0100 (CET)"), Ok(1795368180));
        assert_eq!(
            unix("Fri, 6 Apr 01 09:23:06 PST"),
            unix("6 Apr 2001 17:23:06 GMT")
        );
        assert_eq!(unix("1 Jan 70 00:00:00 Z"), Ok(0));
        assert_eq!(unix("31 Dec 1998 23:59:60 +0000"), Ok(915148799));
        assert!(unix("31 Dec 9999 23:59 -0001").is_err());
        let e = unix("31 Feb 2026 10:00 +0000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "delivery-status line 7: Arrival-Date: no such date and time"
        );
        // UTC is no zone of RFC 5322: "UT" is, and then "C" is left over.
        let e = unix("Sun, 22 Nov 2026 17:23:03 UTC").unwrap_err();
        assert_eq!(
            e.to_string(),
            "delivery-status line 7: Arrival-Date: unexpected 'C' at 43, expected the end of \
             the field"
        );
    }

    #[test]
    fn utf8_addresses_decode_their_escapes_only() {
        assert_eq!(
            decode_utf8_address("j\\x{F6}rg@b\\x{FC}cher.example"),
            "jörg@bücher.example"
        );
        assert_eq!(decode_utf8_address("a\\x{2B}b@x"), "a+b@x");
        assert_eq!(
            decode_utf8_address("a\\x{D800}\\x{zz}\\b@x"),
            "a\\x{D800}\\x{zz}\\b@x"
        );
        assert_eq!(decode_utf8_address("jörg@x"), "jörg@x");
    }

    #[test]
    fn errors_name_the_line_field_and_column() {
        let e = field("Status", "5.1.1234").status().unwrap_err();
        assert_eq!(
            e.to_string(),
            "delivery-status line 7: Status: unexpected '4' at 16, expected the end of the field"
        );
        let e = field("Status", "x").status().unwrap_err();
        assert!(
            e.to_string()
                .ends_with("expected a status code (such as 5.1.1)"),
            "{e}"
        );
        let e = field("Action", "bounced").action().unwrap_err();
        assert!(e.to_string().contains("expected failed, delayed"), "{e}");
        let e = field("Final-Recipient", "bob@example.org")
            .address()
            .unwrap_err();
        assert!(e.to_string().contains("expected"), "{e}");
        assert_eq!(
            field("Status", " 5.0.0 (quota (nested))").status(),
            Ok(Enhanced(5, 0, 0))
        );
    }
}
