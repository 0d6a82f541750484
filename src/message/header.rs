//! The header section of a raw message (RFC 5322 2.2), read byte by byte: fields split
//! at CRLF, folded lines kept with their field, the section ended by the empty line.
//!
//! This is the framer in front of the field-value grammars (`grammars/message.pest`):
//! it checks what they cannot see (line endings, line length, field-name syntax) and
//! names the line of each problem. It does not guess: a bare LF or CR, a line without a
//! colon, or a field cut off by the end of the message is an error, never a field.
//!
//! RFC 5322 3.5 makes the body optional, and the empty line with it: a message that
//! ends after a complete field has a header and no body.

use std::borrow::Cow;

/// RFC 5322 2.1.1: "Each line of characters MUST be no more than 998 characters ...
/// excluding the CRLF."
const MAX_LINE_OCTETS: usize = 998;

/// The header fields of a message, in order, and where its body starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderSection<'a> {
    fields: Vec<HeaderField<'a>>,
    body_offset: usize,
}

/// One header field, as it appears in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The field from its name to its final CRLF, folding included.
    raw: &'a [u8],
    name: &'a str,
    /// Where the value starts in `raw`: after the colon.
    value_start: usize,
    line: usize,
}

/// Why the header section of a message cannot be read. Lines count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header line {line} ends in a bare LF; lines end in CRLF (RFC 5322 2.1)")]
    BareLf { line: usize },
    #[error("header line {line} has a bare CR; CR comes only before LF (RFC 5322 2.1)")]
    BareCr { line: usize },
    #[error(
        "header line {line} is {octets} octets long; RFC 5322 2.1.1 allows 998 before the CRLF"
    )]
    LineTooLong { line: usize, octets: usize },
    #[error("header line {line} has no ':'; a field is a name, a colon and a value (RFC 5322 2.2)")]
    MissingColon { line: usize },
    #[error("header line {line} has no field name before its ':'")]
    EmptyName { line: usize },
    #[error(
        "header line {line} has {} at column {column} of its field name; names are printable ASCII except ':' (RFC 5322 2.2)",
        describe_octet(*found)
    )]
    InvalidName {
        line: usize,
        column: usize,
        found: u8,
    },
    #[error("header line 1 starts with white space, but there is no field before it to continue")]
    ContinuationFirst,
    #[error("the message ends within the header field at line {line}, before its CRLF")]
    Unterminated { line: usize },
    #[error("header line {line}, column {column}: the field value is not UTF-8 (RFC 6532 3.2)")]
    NotUtf8 { line: usize, column: usize },
}

impl<'a> HeaderSection<'a> {
    /// Reads the header section at the start of `message`.
    pub fn parse(message: &'a [u8]) -> Result<Self, HeaderError> {
        let mut fields = Vec::new();
        let (mut start, mut line) = (0, 1);
        while start < message.len() {
            let (end, mut next) = line_end(message, start, line)?;
            if end == start {
                return Ok(HeaderSection {
                    fields,
                    body_offset: next,
                });
            }
            if is_wsp(message[start]) {
                // Continuation lines are taken with their field below; this is line 1.
                return Err(HeaderError::ContinuationFirst);
            }
            let first_line = line;
            while next < message.len() && is_wsp(message[next]) {
                line += 1;
                next = line_end(message, next, line)?.1;
            }
            fields.push(HeaderField::new(&message[start..next], first_line)?);
            start = next;
            line += 1;
        }
        Ok(HeaderSection {
            fields,
            body_offset: message.len(),
        })
    }

    /// Every field, in message order.
    pub fn fields(&self) -> &[HeaderField<'a>] {
        &self.fields
    }

    /// The fields named `name` (compared case-insensitively, RFC 5322 1.2.2), in
    /// message order.
    pub fn fields_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s HeaderField<'a>> + 's {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
    }

    /// Where the body starts: after the empty line, or at the end of a message without
    /// one.
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// The message this header section was read from (`message`), without the
    /// fields `dropped` picks; borrowed when it picks none.
    pub fn without<'m>(
        &self,
        message: &'m [u8],
        dropped: impl Fn(&HeaderField<'_>) -> bool,
    ) -> Cow<'m, [u8]> {
        if !self.fields.iter().any(&dropped) {
            return message.into();
        }
        let header_end: usize = self.fields.iter().map(|f| f.raw.len()).sum();
        let mut kept: Vec<u8> = self
            .fields
            .iter()
            .filter(|f| !dropped(f))
            .flat_map(|f| f.raw.iter().copied())
            .collect();
        kept.extend_from_slice(&message[header_end..]);
        kept.into()
    }
}

impl<'a> HeaderField<'a> {
    /// A field from its complete lines (`raw` ends in CRLF) starting at line `line`.
    fn new(raw: &'a [u8], line: usize) -> Result<Self, HeaderError> {
        let first_line = &raw[..raw.iter().position(|&b| b == b'\r').unwrap_or(raw.len())];
        let colon = first_line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HeaderError::MissingColon { line })?;
        // obs-optional (RFC 5322 4.5) allows white space between the name and the colon.
        let name = first_line[..colon].trim_ascii_end();
        if name.is_empty() {
            return Err(HeaderError::EmptyName { line });
        }
        // ftext = %d33-57 / %d59-126; the colon (58) ends the name.
        if let Some(i) = name.iter().position(|b| !(33..=126).contains(b)) {
            return Err(HeaderError::InvalidName {
                line,
                column: i + 1,
                found: name[i],
            });
        }
        Ok(HeaderField {
            raw,
            name: std::str::from_utf8(name).expect("checked to be ASCII"),
            value_start: colon + 1,
            line,
        })
    }

    /// The field name as written.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The line of the message the field starts on, counting from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The whole field from its name to its final CRLF, exactly as in the message (as
    /// DKIM's "simple" canonicalization needs it).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The value as in the message: after the colon, before the final CRLF, folding
    /// included.
    pub fn raw_value(&self) -> &'a [u8] {
        &self.raw[self.value_start..self.raw.len() - 2]
    }

    /// The characters before the value on the field's first line (the name, any
    /// obsolete white space, the colon): add it to a column counted in the value to
    /// count it in the field.
    pub fn value_offset(&self) -> usize {
        self.value_start
    }

    /// The value unfolded (RFC 5322 2.2.3): every CRLF that is followed by white space,
    /// which in a field is every CRLF but the last, removed.
    pub fn value(&self) -> Cow<'a, [u8]> {
        let value = self.raw_value();
        if value.contains(&b'\r') {
            Cow::Owned(
                value
                    .iter()
                    .copied()
                    .filter(|&b| b != b'\r' && b != b'\n')
                    .collect(),
            )
        } else {
            Cow::Borrowed(value)
        }
    }

    /// The value unfolded, as text: RFC 6532 allows UTF-8 in field values, and nothing
    /// else that is not ASCII. Invalid UTF-8 is an error naming its line and column.
    pub fn value_str(&self) -> Result<Cow<'a, str>, HeaderError> {
        let value = std::str::from_utf8(self.raw_value())
            .map_err(|e| self.not_utf8(self.value_start + e.valid_up_to()))?;
        Ok(if value.contains('\r') {
            Cow::Owned(value.replace("\r\n", ""))
        } else {
            Cow::Borrowed(value)
        })
    }

    /// The error for invalid UTF-8 at `offset` in `raw`, which is valid before it.
    fn not_utf8(&self, offset: usize) -> HeaderError {
        let before = &self.raw[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let on_line = &before[line_start..];
        let chars = std::str::from_utf8(on_line).map_or(on_line.len(), |s| s.chars().count());
        HeaderError::NotUtf8 {
            line: self.line + before.iter().filter(|&&b| b == b'\n').count(),
            column: chars + 1,
        }
    }
}

/// The line starting at `start`: where its CRLF starts, and where the next line does.
fn line_end(message: &[u8], start: usize, line: usize) -> Result<(usize, usize), HeaderError> {
    let rest = &message[start..];
    let Some(i) = rest.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return Err(HeaderError::Unterminated { line });
    };
    if rest[i] == b'\n' {
        return Err(HeaderError::BareLf { line });
    }
    if rest.get(i + 1) != Some(&b'\n') {
        return Err(HeaderError::BareCr { line });
    }
    if i > MAX_LINE_OCTETS {
        return Err(HeaderError::LineTooLong { line, octets: i });
    }
    Ok((start + i, start + i + 2))
}

/// WSP (RFC 5234): space or horizontal tab.
fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// An octet of a field name, for an error message.
fn describe_octet(b: u8) -> String {
    match b {
        b' ' => "a space".into(),
        b'\t' => "a tab".into(),
        b if b.is_ascii_graphic() => format!("'{}'", b as char),
        b => format!("octet 0x{b:02X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(message: &str) -> Result<HeaderSection<'_>, HeaderError> {
        HeaderSection::parse(message.as_bytes())
    }

    #[test]
    fn fields_end_at_the_empty_line() {
        let m = "From: a@example.org\r\nTo: b@example.org\r\n\r\nNot: a field\r\n";
        let h = parse(m).unwrap();
        let names: Vec<&str> = h.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["From", "To"]);
        assert_eq!(&m[h.body_offset()..], "Not: a field\r\n");
        assert_eq!(h.fields()[1].line(), 2);
        assert_eq!(h.fields()[1].raw(), b"To: b@example.org\r\n");
        assert_eq!(h.fields()[1].raw_value(), b" b@example.org");
    }

    #[test]
    fn folded_lines_belong_to_their_field_and_unfold() {
        let m = "Subject: a\r\n b\r\n\tc\r\nTo:\r\n  \r\n x@y\r\n\r\n";
        let h = parse(m).unwrap();
        let subject = &h.fields()[0];
        assert_eq!(subject.raw_value(), b" a\r\n b\r\n\tc");
        assert_eq!(&*subject.value(), b" a b\tc");
        assert_eq!(subject.value_str().unwrap(), " a b\tc");
        // A continuation line of white space only is obs-FWS (RFC 5322 4.2).
        let to = &h.fields()[1];
        assert_eq!((to.line(), &*to.value_str().unwrap()), (4, "   x@y"));
        assert_eq!(h.body_offset(), m.len());
    }

    #[test]
    fn a_body_is_optional_but_a_field_needs_its_crlf() {
        let h = parse("From: a@example.org\r\n").unwrap();
        assert_eq!((h.fields().len(), h.body_offset()), (1, 21));
        assert_eq!(parse("").unwrap().fields(), []);
        assert_eq!(parse("\r\nbody").unwrap().body_offset(), 2);
        assert_eq!(
            parse("From: a@example.org\r\nTo: b").unwrap_err(),
            HeaderError::Unterminated { line: 2 }
        );
        assert_eq!(
            parse("To: a\r\n b").unwrap_err().to_string(),
            "the message ends within the header field at line 2, before its CRLF"
        );
    }

    #[test]
    fn bare_lf_and_cr_name_their_line() {
        let err = parse("From: a@example.org\r\nTo: b@example.org\n\r\n").unwrap_err();
        assert_eq!(err, HeaderError::BareLf { line: 2 });
        assert_eq!(
            err.to_string(),
            "header line 2 ends in a bare LF; lines end in CRLF (RFC 5322 2.1)"
        );
        assert_eq!(
            parse("A: b\r\n c\rd\r\n").unwrap_err(),
            HeaderError::BareCr { line: 2 }
        );
        assert_eq!(
            parse("A: b\r\n\n").unwrap_err(),
            HeaderError::BareLf { line: 2 },
            "an empty line must be CRLF too"
        );
    }

    #[test]
    fn field_names_are_checked() {
        let err = parse("Subject: x\r\nFrom a@example.org\r\n\r\n").unwrap_err();
        assert_eq!(err, HeaderError::MissingColon { line: 2 });
        assert!(
            err.to_string().starts_with("header line 2 has no ':'"),
            "{err}"
        );
        let err = parse("Fr om: x\r\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "header line 1 has a space at column 3 of its field name; names are printable ASCII except ':' (RFC 5322 2.2)"
        );
        assert!(matches!(
            HeaderSection::parse(b"Fr\xC3\xB6m: x\r\n"),
            Err(HeaderError::InvalidName {
                line: 1,
                column: 3,
                found: 0xC3
            })
        ));
        assert_eq!(
            parse("A: b\r\n: c\r\n").unwrap_err(),
            HeaderError::EmptyName { line: 2 }
        );
        assert_eq!(
            parse(" A: b\r\n").unwrap_err(),
            HeaderError::ContinuationFirst
        );
    }

    #[test]
    fn white_space_before_the_colon_is_obsolete_but_accepted() {
        let h = parse("From  : a@example.org\r\n").unwrap();
        let from = &h.fields()[0];
        assert_eq!((from.name(), from.value_offset()), ("From", 7));
        assert_eq!(from.value_str().unwrap(), " a@example.org");
    }

    #[test]
    fn names_are_found_case_insensitively() {
        let h = parse("from: a\r\nTo: b\r\nFROM: c\r\n").unwrap();
        let lines: Vec<usize> = h.fields_named("From").map(|f| f.line()).collect();
        assert_eq!(lines, [1, 3]);
        assert_eq!(h.fields_named("Cc").count(), 0);
    }

    #[test]
    fn values_must_be_utf8_and_the_error_says_where() {
        let h = HeaderSection::parse("Subject: J\u{f6}rg\r\n".as_bytes()).unwrap();
        assert_eq!(h.fields()[0].value_str().unwrap(), " J\u{f6}rg");
        let h = HeaderSection::parse(b"A: b\r\nSubject: ok\r\n \xC3\xA4 \xFF\r\n").unwrap();
        let subject = &h.fields()[1];
        assert_eq!(&*subject.value(), b" ok \xC3\xA4 \xFF");
        assert_eq!(
            subject.value_str().unwrap_err(),
            HeaderError::NotUtf8 { line: 3, column: 4 }
        );
    }

    #[test]
    fn lines_are_limited_to_998_octets() {
        let ok = format!("A: {}\r\n", "b".repeat(995));
        assert!(parse(&ok).is_ok());
        let long = format!("A: b\r\n {}\r\n", "c".repeat(998));
        assert_eq!(
            parse(&long).unwrap_err(),
            HeaderError::LineTooLong {
                line: 2,
                octets: 999
            }
        );
    }
}
