//! Zone files (RFC 1035 5.1 master-file syntax) read into records: `$ORIGIN`,
//! `$TTL`, `@`, relative names, a blank owner repeating the previous one, TTL and
//! class in either order, parentheses across lines, `;` comments, and quoted
//! character-strings with `\X` and `\DDD` escapes. TTLs are read and checked but
//! not kept: a static zone never expires.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::normalize_name;
use super::records::{Record, RecordType, Tlsa};

/// What is wrong with a zone file, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ZoneFileError {
    pub line: usize,
    pub message: String,
}

/// One word of a line: its octets (escapes resolved) and whether it was quoted.
#[derive(Debug)]
struct Token {
    bytes: Vec<u8>,
    quoted: bool,
}

impl Token {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A logical line: parentheses joined, comments gone.
struct Line {
    number: usize,
    /// Whether it started with a blank, so its owner is the previous one.
    continues_owner: bool,
    tokens: Vec<Token>,
}

/// Every record in `text`, in order, as (owner name, record).
pub fn read_zone_file(text: &str) -> Result<Vec<(String, Record)>, ZoneFileError> {
    let mut origin: Option<String> = None;
    let mut owner: Option<String> = None;
    let mut out = Vec::new();
    for line in lines(text)? {
        let err = |message: String| ZoneFileError {
            line: line.number,
            message,
        };
        let mut words = line.tokens.iter().peekable();
        let Some(first) = words.peek() else { continue };
        if !first.quoted && first.bytes.starts_with(b"$") {
            let directive = first.text().to_ascii_uppercase();
            words.next();
            let value = words
                .next()
                .ok_or_else(|| err(format!("{directive} needs a value")))?;
            match directive.as_str() {
                "$ORIGIN" => {
                    origin = Some(absolute(&value.text(), origin.as_deref()).map_err(err)?)
                }
                "$TTL" => {
                    ttl(&value.text()).map_err(err)?;
                }
                _ => {
                    return Err(err(format!(
                        "unsupported directive {directive}: gannet reads $ORIGIN and $TTL"
                    )));
                }
            }
            if let Some(extra) = words.next() {
                return Err(err(format!(
                    "unexpected {:?} after {directive}",
                    extra.text()
                )));
            }
            continue;
        }
        if !line.continues_owner {
            let name = words.next().expect("peeked").text();
            owner = Some(absolute(&name, origin.as_deref()).map_err(err)?);
        }
        let Some(owner) = owner.clone() else {
            return Err(err("the first record has no owner name".into()));
        };
        let rtype = record_type(&mut words).map_err(err)?;
        let rdata: Vec<&Token> = words.collect();
        let record = rdata_of(rtype, &rdata, origin.as_deref()).map_err(err)?;
        out.push((owner, record));
    }
    Ok(out)
}

/// Skips the optional TTL and class (in either order) and reads the type.
fn record_type<'t>(words: &mut impl Iterator<Item = &'t Token>) -> Result<RecordType, String> {
    for word in words {
        let text = word.text();
        if text.eq_ignore_ascii_case("IN") || ttl(&text).is_ok() {
            continue;
        }
        return RecordType::from_name(&text).ok_or_else(|| {
            let known: Vec<&str> = RecordType::ALL.iter().map(|t| t.name()).collect();
            format!(
                "unsupported record type or class {text:?}: gannet reads class IN and the types {}",
                known.join(", ")
            )
        });
    }
    Err("missing record type".into())
}

/// A TTL: seconds, or a number with unit letters (`1h30m`, BIND style).
fn ttl(text: &str) -> Result<u32, String> {
    let bad = || format!("bad TTL {text:?}");
    if text.is_empty() || !text.as_bytes()[0].is_ascii_digit() {
        return Err(bad());
    }
    let (mut total, mut number) = (0u64, 0u64);
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number * 10 + u64::from(d);
        } else {
            let unit = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 604800,
                _ => return Err(bad()),
            };
            total += number * unit;
            number = 0;
        }
        if total + number > u64::from(u32::MAX) {
            return Err(bad());
        }
    }
    Ok((total + number) as u32)
}

/// `name` made absolute against `origin`, normalized.
fn absolute(name: &str, origin: Option<&str>) -> Result<String, String> {
    let full = if name == "@" {
        origin.ok_or("@ used before any $ORIGIN")?.to_string()
    } else if name.ends_with('.') {
        name.to_string()
    } else {
        let origin = origin.ok_or_else(|| format!("relative name {name:?} before any $ORIGIN"))?;
        format!("{name}.{origin}")
    };
    let name = normalize_name(&full).map_err(|e| e.to_string())?;
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_*/.".contains(*c)))
    {
        Some(c) => Err(format!(
            "name {name:?} has {c:?}: zone files here hold letters, digits, '-', '_', '*' and '/' in names"
        )),
        None => Ok(name),
    }
}

/// The record of type `rtype` from its data words.
fn rdata_of(rtype: RecordType, words: &[&Token], origin: Option<&str>) -> Result<Record, String> {
    let count = |n: usize| {
        if words.len() == n {
            Ok(())
        } else {
            Err(format!("{rtype} takes {n} value(s), found {}", words.len()))
        }
    };
    let text = |i: usize| words[i].text();
    Ok(match rtype {
        RecordType::A => {
            count(1)?;
            Record::A(
                text(0)
                    .parse::<Ipv4Addr>()
                    .map_err(|_| format!("bad IPv4 address {:?}", text(0)))?,
            )
        }
        RecordType::Aaaa => {
            count(1)?;
            Record::Aaaa(
                text(0)
                    .parse::<Ipv6Addr>()
                    .map_err(|_| format!("bad IPv6 address {:?}", text(0)))?,
            )
        }
        RecordType::Mx => {
            count(2)?;
            Record::Mx {
                preference: text(0)
                    .parse()
                    .map_err(|_| format!("bad MX preference {:?}", text(0)))?,
                // "." is the root: a null MX (RFC 7505).
                exchange: match text(1).as_str() {
                    "." => String::new(),
                    name => absolute(name, origin)?,
                },
            }
        }
        RecordType::Txt => {
            if words.is_empty() {
                return Err("TXT needs at least one character-string".into());
            }
            let strings: Vec<Vec<u8>> = words.iter().map(|w| w.bytes.clone()).collect();
            if let Some(long) = strings.iter().find(|s| s.len() > 255) {
                return Err(format!(
                    "a TXT character-string holds at most 255 octets, this one has {}: split it into several quoted strings",
                    long.len()
                ));
            }
            Record::Txt(strings)
        }
        RecordType::Ptr => {
            count(1)?;
            Record::Ptr(absolute(&text(0), origin)?)
        }
        RecordType::Cname => {
            count(1)?;
            Record::Cname(absolute(&text(0), origin)?)
        }
        RecordType::Tlsa => tlsa(words)?,
    })
}

/// `usage selector matching hex...` (RFC 6698 2.2); the hex may be split by blanks.
fn tlsa(words: &[&Token]) -> Result<Record, String> {
    if words.len() < 4 {
        return Err("TLSA takes usage, selector, matching type and hex data".into());
    }
    let field = |i: usize, what: &str| {
        words[i]
            .text()
            .parse::<u8>()
            .map_err(|_| format!("bad TLSA {what} {:?}", words[i].text()))
    };
    let hex: String = words[3..].iter().map(|w| w.text()).collect();
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format!(
            "bad TLSA data {hex:?}: expected hex digits in pairs"
        ));
    }
    let data = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex"))
        .collect();
    Ok(Record::Tlsa(Tlsa {
        usage: field(0, "usage")?,
        selector: field(1, "selector")?,
        matching: field(2, "matching type")?,
        data,
    }))
}

/// Splits `text` into logical lines of tokens.
fn lines(text: &str) -> Result<Vec<Line>, ZoneFileError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut number) = (0, 1);
    while i < bytes.len() {
        let mut line = Line {
            number,
            continues_owner: matches!(bytes[i], b' ' | b'\t'),
            tokens: Vec::new(),
        };
        let mut depth = 0;
        loop {
            let Some(&b) = bytes.get(i) else {
                if depth > 0 {
                    return Err(ZoneFileError {
                        line: line.number,
                        message: "unclosed '('".into(),
                    });
                }
                break;
            };
            let err = |message: &str| ZoneFileError {
                line: number,
                message: message.into(),
            };
            match b {
                b'\n' => {
                    i += 1;
                    number += 1;
                    if depth == 0 {
                        break;
                    }
                }
                b' ' | b'\t' | b'\r' => i += 1,
                b';' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'(' => {
                    depth += 1;
                    i += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Err(err("')' without '('"));
                    }
                    depth -= 1;
                    i += 1;
                }
                b'"' => {
                    let (token, next) = word(bytes, i + 1, true).map_err(|m| err(&m))?;
                    if bytes.get(next) != Some(&b'"') {
                        return Err(err("unclosed '\"'"));
                    }
                    line.tokens.push(token);
                    i = next + 1;
                }
                _ => {
                    let (token, next) = word(bytes, i, false).map_err(|m| err(&m))?;
                    line.tokens.push(token);
                    i = next;
                }
            }
        }
        if !line.tokens.is_empty() {
            out.push(line);
        }
    }
    Ok(out)
}

/// Reads one word from `start`, up to a delimiter (the closing quote when
/// `quoted`); returns it and where it stopped.
fn word(bytes: &[u8], start: usize, quoted: bool) -> Result<(Token, usize), String> {
    let mut out = Vec::new();
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        let ends = if quoted {
            b == b'"' || b == b'\n'
        } else {
            matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"')
        };
        if ends {
            break;
        }
        if b == b'\\' {
            let digits = bytes
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(u8::is_ascii_digit));
            if let Some(d) = digits {
                let value: u32 = std::str::from_utf8(d)
                    .expect("digits")
                    .parse()
                    .expect("digits");
                out.push(u8::try_from(value).map_err(|_| format!("escape \\{value} is over 255"))?);
                i += 4;
            } else {
                out.push(*bytes.get(i + 1).ok_or("'\\' at the end of the file")?);
                i += 2;
            }
            continue;
        }
        out.push(b);
        i += 1;
    }
    Ok((Token { bytes: out, quoted }, i))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ZONE: &str = r#"
$ORIGIN example.org.
$TTL 1h
@        IN  MX   10 mx1          ; relative exchange
         3600 IN MX 20 mx2.example.net.
mx1          A    192.0.2.10
             AAAA 2001:db8::10
@            TXT  ( "v=spf1 ip4:192.0.2.0/24"
                    " -all" )
sel._domainkey TXT "k=ed25519; p=" "abc\"\\\059"
www   CNAME mx1
_25._tcp.mx1 TLSA 3 1 1 ( 0123 abcd )
10.2.0.192.in-addr.arpa. PTR mx1.example.org.
"#;

    #[test]
    fn a_zone_with_every_feature_reads_into_records() {
        let records = read_zone_file(ZONE).unwrap();
        let find = |n: &str| -> Vec<&Record> {
            records
                .iter()
                .filter(|(o, _)| o == n)
                .map(|(_, r)| r)
                .collect()
        };
        assert_eq!(
            find("example.org"),
            vec![
                &Record::Mx {
                    preference: 10,
                    exchange: "mx1.example.org".into()
                },
                &Record::Mx {
                    preference: 20,
                    exchange: "mx2.example.net".into()
                },
                &Record::Txt(vec![b"v=spf1 ip4:192.0.2.0/24".to_vec(), b" -all".to_vec()]),
            ]
        );
        assert_eq!(
            find("mx1.example.org"),
            vec![
                &Record::A("192.0.2.10".parse().unwrap()),
                &Record::Aaaa("2001:db8::10".parse().unwrap())
            ]
        );
        assert_eq!(
            find("sel._domainkey.example.org"),
            vec![&Record::Txt(vec![
                b"k=ed25519; p=".to_vec(),
                b"abc\"\\;".to_vec()
            ])]
        );
        assert_eq!(
            find("www.example.org"),
            vec![&Record::Cname("mx1.example.org".into())]
        );
        assert_eq!(
            find("_25._tcp.mx1.example.org"),
            vec![&Record::Tlsa(Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data: vec![1, 0x23, 0xab, 0xcd]
            })]
        );
        assert_eq!(
            find("10.2.0.192.in-addr.arpa"),
            vec![&Record::Ptr("mx1.example.org".into())]
        );
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let cases = [
            (
                "www A 192.0.2.1",
                "line 1: relative name \"www\" before any $ORIGIN",
            ),
            (
                "a.example. SPF \"v=spf1\"",
                "line 1: unsupported record type or class \"SPF\"",
            ),
            (
                "\n\na.example. A 300.1.1.1",
                "line 3: bad IPv4 address \"300.1.1.1\"",
            ),
            ("a.example. TXT ( \"x\"", "line 1: unclosed '('"),
            ("a.example. TXT \"x", "line 1: unclosed '\"'"),
            ("$INCLUDE other", "line 1: unsupported directive $INCLUDE"),
            (
                "  A 192.0.2.1",
                "line 1: the first record has no owner name",
            ),
            ("a.example. MX 10", "line 1: MX takes 2 value(s), found 1"),
            (
                "a..example. A 192.0.2.1",
                "line 1: DNS name \"a..example.\" has an empty label",
            ),
            (
                "a\\;b.example. A 192.0.2.1",
                "line 1: name \"a;b.example\" has ';'",
            ),
            ("a.example. TLSA 3 1 1 \"\"", "line 1: bad TLSA data \"\""),
        ];
        for (zone, expected) in cases {
            let e = read_zone_file(zone).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{zone:?}: {e}");
        }
        let long = format!("a.example. TXT \"{}\"", "x".repeat(256));
        assert!(
            read_zone_file(&long)
                .unwrap_err()
                .message
                .contains("at most 255 octets")
        );
    }

    fn record() -> impl Strategy<Value = Record> {
        let name = "[a-z0-9_-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}";
        prop_oneof![
            any::<[u8; 4]>().prop_map(|a| Record::A(a.into())),
            any::<[u8; 16]>().prop_map(|a| Record::Aaaa(a.into())),
            (any::<u16>(), name).prop_map(|(preference, exchange)| Record::Mx {
                preference,
                exchange
            }),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..4)
                .prop_map(Record::Txt),
            name.prop_map(Record::Ptr),
            name.prop_map(Record::Cname),
            (
                any::<u8>(),
                any::<u8>(),
                any::<u8>(),
                prop::collection::vec(any::<u8>(), 1..40)
            )
                .prop_map(|(usage, selector, matching, data)| Record::Tlsa(Tlsa {
                    usage,
                    selector,
                    matching,
                    data
                })),
        ]
    }

    proptest! {
        #[test]
        fn printed_records_read_back(records in prop::collection::vec(("[a-z0-9_-]{1,10}(\\.[a-z0-9-]{1,10}){0,3}", record()), 0..8)) {
            let text: String = records
                .iter()
                .map(|(name, r)| format!("{name}. IN {} {r}\n", r.record_type()))
                .collect();
            prop_assert_eq!(read_zone_file(&text).map_err(|e| TestCaseError::fail(e.to_string()))?, records);
        }
    }

    #[test]
    fn ttls_take_units() {
        assert_eq!(ttl("3600"), Ok(3600));
        assert_eq!(ttl("1h30m"), Ok(5400));
        assert_eq!(ttl("1W"), Ok(604800));
        assert!(ttl("h").is_err());
        assert!(ttl("99999999999").is_err());
    }
}
