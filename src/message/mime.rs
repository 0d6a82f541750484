//! The MIME structure of a raw message (RFC 2045, RFC 2046, RFC 2231), computed from
//! its bytes: for each part, where its header and body are in the message, its
//! Content-* fields, and its children. IMAP's BODYSTRUCTURE, body sections and BINARY
//! are answered from this tree, so every size and offset is a count of the stored
//! bytes, never of a re-encoded copy (see ARCHITECTURE.md, "Message parsing").
//!
//! Unlike [`super::HeaderSection`], which refuses what RFC 5322 forbids because it
//! guards decisions about security, this reader answers for any stored message: a
//! line without a colon, a bare LF, a missing close delimiter or a broken
//! Content-Type all give a structure, the one RFC 2045 defaults or common practice
//! implies. It never panics, makes one pass over the bytes (each line is compared with
//! the open boundaries only), and stops looking into structure beyond [`MAX_DEPTH`]
//! levels or [`MAX_PARTS`] parts, leaving the rest as opaque body.

use std::borrow::Cow;
use std::ops::Range;

/// How deep multiparts and encapsulated messages are looked into. Real mail nests a
/// handful of levels; each level costs a stack frame and a boundary to compare lines
/// with.
pub const MAX_DEPTH: usize = 64;

/// How many parts one message may have; past it, the remaining content of a multipart
/// is left in its body without children.
pub const MAX_PARTS: usize = 10_000;

/// One part of a message. The message itself is the root part: its header is the
/// message header, and for a multipart message its children are the body parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The header section, through the empty line that ends it when there is one.
    pub header: Range<usize>,
    /// The body: after the header's empty line, up to the line break before the next
    /// delimiter line (RFC 2046 5.1.1: that line break belongs to the delimiter), or
    /// the end of the message.
    pub body: Range<usize>,
    /// LF characters in the body: its lines, as BODYSTRUCTURE counts them.
    pub body_lines: usize,
    /// The Content-Type, or the default when it is absent or unusable: text/plain, or
    /// message/rfc822 directly inside a multipart/digest (RFC 2046 5.1.5).
    pub content_type: ContentType<'a>,
    /// The Content-Transfer-Encoding, if the part names a usable one (RFC 2045 6.1
    /// makes 7bit the default).
    pub encoding: Option<Encoding<'a>>,
    /// Content-ID, unfolded and trimmed, as written.
    pub id: Option<Cow<'a, [u8]>>,
    /// Content-Description, unfolded and trimmed, encoded-words left as they are.
    pub description: Option<Cow<'a, [u8]>>,
    /// Content-Disposition (RFC 2183).
    pub disposition: Option<Disposition<'a>>,
    /// Content-Language (RFC 3282): the language tags, empty when absent.
    pub language: Vec<Cow<'a, [u8]>>,
    /// Content-Location (RFC 2557), unfolded and trimmed.
    pub location: Option<Cow<'a, [u8]>>,
    /// Content-MD5 (RFC 1864), unfolded and trimmed.
    pub md5: Option<Cow<'a, [u8]>>,
    pub children: Children<'a>,
}

/// What a part contains besides its own body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Children<'a> {
    /// A leaf. Also a multipart without a boundary parameter, and a multipart or
    /// message at the nesting or part limit: their content stays opaque.
    None,
    /// The body parts of a multipart, in order, without preamble and epilogue. Empty
    /// when no delimiter line was found.
    Multipart(Vec<Part<'a>>),
    /// The message encapsulated in a message/rfc822 or message/global body.
    Message(Box<Part<'a>>),
}

/// A media type with its parameters. Type and subtype are lowercase; parameter names
/// are lowercase; values are as written (quotes and quoted pairs removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType<'a> {
    pub media_type: Cow<'a, str>,
    pub subtype: Cow<'a, str>,
    pub params: Vec<Param<'a>>,
}

/// A Content-Disposition: its type, lowercase, and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition<'a> {
    pub kind: Cow<'a, str>,
    pub params: Vec<Param<'a>>,
}

/// A parameter of a Content-Type or Content-Disposition.
///
/// RFC 2231 continuations (`name*0`, `name*1*`, ...) are joined into one parameter,
/// as Dovecot does: named `name*` with the value `charset'language'%xx-encoded` when
/// any segment was extended (a segment that was not has its `%` escaped, and the value
/// starts with `''` if the first one was not), else named `name` with the segments
/// concatenated. Segments with a gap in their numbers are left as they are. The joined
/// form keeps the charset, which a decoded value would lose; [`Param::decode`] gives
/// the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, [u8]>,
}

/// A parameter value with any RFC 2231 extended encoding removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamValue<'p> {
    /// The charset an extended value names; `None` for a plain value (US-ASCII, or
    /// UTF-8 under RFC 6532) or an empty charset field.
    pub charset: Option<&'p [u8]>,
    pub language: Option<&'p [u8]>,
    pub value: Cow<'p, [u8]>,
}

/// A Content-Transfer-Encoding (RFC 2045 6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding<'a> {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
    /// Any other token (`x-uuencode`, a typo), as written: the body cannot be decoded.
    Other(Cow<'a, str>),
}

impl<'a> Part<'a> {
    /// Whether the part is a multipart with its body parts split out.
    pub fn is_multipart(&self) -> bool {
        matches!(self.children, Children::Multipart(_))
    }

    /// The body parts of a multipart; empty for anything else.
    pub fn parts(&self) -> &[Part<'a>] {
        match &self.children {
            Children::Multipart(parts) => parts,
            _ => &[],
        }
    }

    /// The encapsulated message of a message/rfc822 or message/global part.
    pub fn message(&self) -> Option<&Part<'a>> {
        match &self.children {
            Children::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The transfer encoding in force: the named one, or 7bit.
    pub fn encoding(&self) -> &Encoding<'a> {
        self.encoding.as_ref().unwrap_or(&Encoding::SevenBit)
    }
}

impl<'a> ContentType<'a> {
    fn new(media_type: &'static str, subtype: &'static str) -> Self {
        ContentType {
            media_type: Cow::Borrowed(media_type),
            subtype: Cow::Borrowed(subtype),
            params: Vec::new(),
        }
    }

    /// Whether the type is `media_type/subtype` (both given lowercase).
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type == media_type && self.subtype == subtype
    }

    /// The value of the plain parameter `name` (given lowercase), the first if it
    /// repeats.
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        param(&self.params, name)
    }

    /// The charset parameter, with RFC 2046's default for text: us-ascii.
    pub fn charset(&self) -> Option<&[u8]> {
        self.param("charset")
            .or((self.media_type == "text").then_some(b"us-ascii".as_slice()))
    }

    /// Whether the part is an encapsulated message IMAP describes with an envelope
    /// (RFC 9051 body-type-msg).
    pub fn is_message(&self) -> bool {
        self.media_type == "message" && matches!(&*self.subtype, "rfc822" | "global")
    }
}

impl Disposition<'_> {
    /// The value of the plain parameter `name` (given lowercase).
    pub fn param(&self, name: &str) -> Option<&[u8]> {
        param(&self.params, name)
    }
}

fn param<'p>(params: &'p [Param<'_>], name: &str) -> Option<&'p [u8]> {
    params.iter().find(|p| p.name == name).map(|p| &*p.value)
}

impl Param<'_> {
    /// The value's bytes: for an RFC 2231 extended parameter (name ending in `*`), its
    /// charset and language split off and the %xx escapes decoded; otherwise the value
    /// as it is. An extended value without its two `'` is taken as plain.
    pub fn decode(&self) -> ParamValue<'_> {
        let plain = ParamValue {
            charset: None,
            language: None,
            value: Cow::Borrowed(&self.value),
        };
        if !self.name.ends_with('*') {
            return plain;
        }
        let mut fields = self.value.splitn(3, |&b| b == b'\'');
        let (Some(charset), Some(language), Some(encoded)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return plain;
        };
        ParamValue {
            charset: non_empty(charset),
            language: non_empty(language),
            value: percent_decode(encoded),
        }
    }
}

fn non_empty(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty()).then_some(s)
}

/// Appends `input` to `out` with each `escape` followed by two hex digits turned
/// into that octet (RFC 2231's `%XX`, quoted-printable's `=XX`); any other octet,
/// a lone escape included, is kept as it is.
fn unescape_hex(input: &[u8], escape: u8, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < input.len() {
        match (
            input[i],
            input.get(i + 1).and_then(|&h| hex(h)),
            input.get(i + 2).and_then(|&l| hex(l)),
        ) {
            (b, Some(h), Some(l)) if b == escape => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

fn percent_decode(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    unescape_hex(s, b'%', &mut out);
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl<'a> Encoding<'a> {
    fn parse(value: &'a [u8]) -> Option<Self> {
        let mut c = Cursor::new(value);
        c.skip_cfws();
        let token = c.token();
        if token.is_empty() {
            return None;
        }
        let known = [
            ("7bit", Encoding::SevenBit),
            ("8bit", Encoding::EightBit),
            ("binary", Encoding::Binary),
            ("base64", Encoding::Base64),
            ("quoted-printable", Encoding::QuotedPrintable),
        ];
        let name = ascii(token);
        Some(
            known
                .into_iter()
                .find(|(n, _)| name.eq_ignore_ascii_case(n))
                .map_or(Encoding::Other(name), |(_, e)| e),
        )
    }

    /// The name IMAP shows (RFC 9051 body-fld-enc): uppercase for the five of RFC
    /// 2045, as the ABNF spells them; any other as written.
    pub fn name(&self) -> &str {
        match self {
            Encoding::SevenBit => "7BIT",
            Encoding::EightBit => "8BIT",
            Encoding::Binary => "BINARY",
            Encoding::Base64 => "BASE64",
            Encoding::QuotedPrintable => "QUOTED-PRINTABLE",
            Encoding::Other(name) => name,
        }
    }

    /// `body` with this encoding removed; `None` for an encoding gannet does not know.
    pub fn decode<'b>(&self, body: &'b [u8]) -> Option<Cow<'b, [u8]>> {
        match self {
            Encoding::SevenBit | Encoding::EightBit | Encoding::Binary => Some(Cow::Borrowed(body)),
            Encoding::Base64 => Some(Cow::Owned(decode_base64(body))),
            Encoding::QuotedPrintable => Some(Cow::Owned(decode_quoted_printable(body))),
            Encoding::Other(_) => None,
        }
    }
}

/// Base64 (RFC 2045 6.8) as mail carries it: characters outside the alphabet (line
/// breaks, the white space some encoders indent with, junk) are ignored, as 6.8
/// requires, and decoding restarts after padding, so concatenated encodings decode
/// whole. Never fails: a lone final character, which carries no full octet, is dropped.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    /// Alphabet characters decoded at a time: a multiple of 4, so that a full buffer
    /// ends on a quantum.
    const RUN: usize = 1 << 16;
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut run = Vec::with_capacity(input.len().min(RUN));
    for &b in input {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                run.push(b);
                if run.len() == RUN {
                    decode_run(&mut run, &mut out);
                }
            }
            b'=' => decode_run(&mut run, &mut out),
            _ => {}
        }
    }
    decode_run(&mut run, &mut out);
    out
}

/// Decodes and empties `run`, alphabet characters without padding.
fn decode_run(run: &mut Vec<u8>, out: &mut Vec<u8>) {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    if run.len() % 4 == 1 {
        run.pop();
    }
    // Alphabet characters only, and not 1 mod 4 of them: this cannot fail, and if it
    // did only this run would be lost.
    let _ = LENIENT.decode_vec(&run[..], out);
    run.clear();
}

/// Quoted-printable (RFC 2045 6.7): `=XX` (either case of hex digit) is the octet,
/// white space at the end of a line is removed (rule 3: a transport may have added
/// it), a line ending in `=` continues on the next (soft line break), and every other
/// line break becomes CRLF. An `=` not followed by two hex digits is kept as it is, as
/// 6.7 suggests for robustness.
pub fn decode_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    loop {
        let (line, newline) = match find_lf(rest) {
            Some(i) => (&rest[..i], Some(i + 1)),
            None => (rest, None),
        };
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        while let [head @ .., b' ' | b'\t'] = line {
            line = head;
        }
        let soft = line.last() == Some(&b'=');
        if soft {
            line = &line[..line.len() - 1];
        }
        unescape_hex(line, b'=', &mut out);
        let Some(next) = newline else {
            return out;
        };
        if !soft {
            out.extend_from_slice(b"\r\n");
        }
        rest = &rest[next..];
    }
}

/// One header field as it appears in a header section, for the tolerant readers of
/// IMAP (sections, ENVELOPE, BODYSTRUCTURE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The name before the colon, white space before the colon removed; empty for a
    /// line without a colon, which is kept as a field so that nothing is lost.
    pub name: &'a [u8],
    /// From the name through the final line break, continuation lines included.
    pub raw: &'a [u8],
    /// After the colon, before the final line break; folding included.
    pub value: &'a [u8],
}

impl<'a> Field<'a> {
    /// The value unfolded (every CR and LF removed, the white space after them kept)
    /// and trimmed of white space at both ends.
    pub fn unfolded(&self) -> Cow<'a, [u8]> {
        unfold(self.value)
    }
}

/// A field value unfolded: CR and LF removed (the white space after them kept), and
/// white space trimmed at both ends.
pub fn unfold(value: &[u8]) -> Cow<'_, [u8]> {
    let trimmed = trim(value);
    if trimmed.iter().any(|&b| b == b'\r' || b == b'\n') {
        Cow::Owned(
            trimmed
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect(),
        )
    } else {
        Cow::Borrowed(trimmed)
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r' | b'\n'] = s {
        s = rest;
    }
    s
}

/// The fields of the header section at the start of `header`, up to its empty line
/// (or the end). Lines end in LF, with or without CR before it.
pub fn fields(header: &[u8]) -> Fields<'_> {
    Fields { rest: header }
}

/// The iterator of [`fields`].
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let s = self.rest;
        if s.is_empty() || s[0] == b'\n' || s.starts_with(b"\r\n") {
            return None;
        }
        let mut end = line_after(s, 0);
        while end < s.len() && matches!(s[end], b' ' | b'\t') {
            end = line_after(s, end);
        }
        let raw = &s[..end];
        self.rest = &s[end..];
        let first_line = &raw[..find_lf(raw).unwrap_or(raw.len())];
        let body = raw
            .strip_suffix(b"\r\n")
            .or_else(|| raw.strip_suffix(b"\n"))
            .unwrap_or(raw);
        Some(match first_line.iter().position(|&b| b == b':') {
            Some(colon) => Field {
                name: first_line[..colon].trim_ascii_end(),
                raw,
                value: &body[colon + 1..],
            },
            None => Field {
                name: b"",
                raw,
                value: b"",
            },
        })
    }
}

/// Where the line that starts at `start` ends, its LF included.
fn line_after(s: &[u8], start: usize) -> usize {
    find_lf(&s[start..]).map_or(s.len(), |i| start + i + 1)
}

/// The first LF in `s`. Eight octets at a time: this is most of the work of parsing a
/// message, and the standard library's memchr is not public.
pub(crate) fn find_lf(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LFS: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = s.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        let x = word ^ LFS;
        // The lowest flagged byte is always a real zero byte of `x` (a borrow only
        // spreads upwards), and in little-endian order it comes first in memory.
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(n * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let tail = chunks.remainder();
    let done = s.len() - tail.len();
    tail.iter().position(|&b| b == b'\n').map(|i| done + i)
}

/// Parses the MIME structure of `raw`, a whole message.
pub fn parse(raw: &[u8]) -> Part<'_> {
    let mut parser = Parser {
        raw,
        pos: 0,
        lines: 0,
        boundaries: Vec::new(),
        parts: 0,
    };
    parser.part(0, false).0
}

/// A delimiter line (RFC 2046 5.1.1) of one of the open multiparts.
#[derive(Debug, Clone, Copy)]
struct Delimiter {
    /// Index into the boundary stack: which multipart it belongs to.
    level: usize,
    close: bool,
    /// Where the line starts, and the LF count before it.
    start: usize,
    lines: usize,
}

struct Parser<'a> {
    raw: &'a [u8],
    /// The start of the next line to read.
    pos: usize,
    /// LF characters before `pos`.
    lines: usize,
    /// The boundaries of the open multiparts, outermost first.
    boundaries: Vec<Cow<'a, [u8]>>,
    /// Parts created so far.
    parts: usize,
}

impl<'a> Parser<'a> {
    /// Reads one part from `pos`: its header, then its body up to a delimiter line of
    /// an enclosing multipart (returned, already read) or the end of the message.
    fn part(&mut self, depth: usize, in_digest: bool) -> (Part<'a>, Option<Delimiter>) {
        self.parts += 1;
        let start = self.pos;
        let (body_start, delimiter) = self.header();
        let raw = self.raw;
        let mut part = content_fields(&raw[start..body_start], in_digest);
        part.header = start..body_start;
        part.body = body_start..body_start;
        let open = depth < MAX_DEPTH && self.parts < MAX_PARTS;
        let boundary = match &*part.content_type.media_type {
            "multipart" => part
                .content_type
                .params
                .iter()
                .find(|p| p.name == "boundary"),
            _ => None,
        };
        let boundary = boundary
            .filter(|p| !p.value.is_empty())
            .map(|p| p.value.clone());
        if delimiter.is_some() {
            // Cut off before its body: a multipart with a boundary is still one, with
            // no parts.
            if boundary.is_some() && open {
                part.children = Children::Multipart(Vec::new());
            }
            return (part, delimiter);
        }
        let body_lines = self.lines;
        let end = match boundary {
            Some(boundary) if open => {
                let digest = part.content_type.subtype == "digest";
                let (children, end) = self.multipart(boundary, depth, digest);
                part.children = Children::Multipart(children);
                end
            }
            _ if open && part.content_type.is_message() => {
                let (message, end) = self.part(depth + 1, false);
                part.children = Children::Message(Box::new(message));
                end
            }
            _ => self.next_delimiter(),
        };
        let (mut body_end, mut end_lines) = self.content_end(body_start, end);
        // A last child with an empty body right before the delimiter has the line
        // break the delimiter owns at the end of its header; the body here covers it
        // too, so that every part lies within its parent's body.
        let last_child_end = match &part.children {
            Children::Multipart(parts) => parts.last().map(|p| p.body.end),
            Children::Message(message) => Some(message.body.end),
            Children::None => None,
        };
        if let (Some(child_end), Some(d)) = (last_child_end, end)
            && child_end > body_end
        {
            body_end = child_end;
            end_lines = d.lines;
        }
        part.body = body_start..body_end;
        part.body_lines = end_lines - body_lines;
        (part, end)
    }

    /// Reads a multipart's body after its header: preamble, body parts, epilogue. The
    /// delimiter returned is an enclosing multipart's.
    fn multipart(
        &mut self,
        boundary: Cow<'a, [u8]>,
        depth: usize,
        digest: bool,
    ) -> (Vec<Part<'a>>, Option<Delimiter>) {
        self.boundaries.push(boundary);
        let level = self.boundaries.len() - 1;
        let mut children = Vec::new();
        let mut next = self.next_delimiter();
        let end = loop {
            match next {
                Some(d) if d.level == level && !d.close => {
                    if self.parts >= MAX_PARTS {
                        next = self.next_delimiter();
                        continue;
                    }
                    let (child, end) = self.part(depth + 1, digest);
                    children.push(child);
                    next = end;
                }
                Some(d) if d.level == level => {
                    self.boundaries.pop();
                    return (children, self.next_delimiter());
                }
                // An enclosing multipart's delimiter, or the end of the message: the
                // close delimiter is missing, and this multipart ends here.
                other => break other,
            }
        };
        self.boundaries.pop();
        (children, end)
    }

    /// Where content that started at `start` ends, given the delimiter line (or the
    /// end of the message) that follows it, and the LF count at that point.
    fn content_end(&self, start: usize, end: Option<Delimiter>) -> (usize, usize) {
        let Some(d) = end else {
            return (self.raw.len(), self.lines);
        };
        if d.start <= start {
            return (start, d.lines);
        }
        // The line break before the delimiter is part of it (RFC 2046 5.1.1).
        let crlf = d.start >= start + 2 && self.raw[d.start - 2] == b'\r';
        (d.start - if crlf { 2 } else { 1 }, d.lines - 1)
    }

    /// Reads header lines up to and including the empty line; returns where the body
    /// starts. A delimiter line ends the header (and the part) too.
    fn header(&mut self) -> (usize, Option<Delimiter>) {
        while self.pos < self.raw.len() {
            let (line, next) = self.line();
            let delimiter = self.delimiter(line);
            self.advance(next);
            if line.is_empty() || line == b"\r" {
                return (self.pos, None);
            }
            if let Some(d) = delimiter {
                return (d.start, Some(d));
            }
        }
        (self.raw.len(), None)
    }

    /// Skips lines up to the next delimiter line of an open multipart, which is read
    /// and returned; `None` at the end of the message.
    fn next_delimiter(&mut self) -> Option<Delimiter> {
        if self.boundaries.is_empty() {
            let rest = &self.raw[self.pos..];
            self.lines += rest.iter().filter(|&&b| b == b'\n').count();
            self.pos = self.raw.len();
            return None;
        }
        while self.pos < self.raw.len() {
            let (line, next) = self.line();
            let found = self.delimiter(line);
            self.advance(next);
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The line at `pos`, without its LF, and where the next one starts.
    fn line(&self) -> (&'a [u8], usize) {
        let rest = &self.raw[self.pos..];
        match find_lf(rest) {
            Some(i) => (&rest[..i], self.pos + i + 1),
            None => (rest, self.raw.len()),
        }
    }

    /// Moves `pos` to `next`, the start of the following line.
    fn advance(&mut self, next: usize) {
        if self.raw[next - 1] == b'\n' {
            self.lines += 1;
        }
        self.pos = next;
    }

    /// Whether `line` (at `pos`) is a delimiter line of an open multipart: `--` and
    /// the boundary at its start, `--` after that for a close delimiter. RFC 2046
    /// 5.1.1 asks for a match at the start of the line, not of the whole line (what
    /// follows is padding, or junk some mailers add). When boundaries of several open
    /// multiparts match, the longest wins (an inner `foobar` inside an outer `foo`),
    /// and among equal ones the innermost (a boundary reused inside).
    fn delimiter(&self, line: &[u8]) -> Option<Delimiter> {
        let rest = line.strip_prefix(b"--")?;
        let mut best: Option<(usize, usize)> = None;
        for (level, boundary) in self.boundaries.iter().enumerate().rev() {
            if rest.starts_with(boundary) && best.is_none_or(|(_, len)| boundary.len() > len) {
                best = Some((level, boundary.len()));
            }
        }
        let (level, len) = best?;
        Some(Delimiter {
            level,
            close: rest[len..].starts_with(b"--"),
            start: self.pos,
            lines: self.lines,
        })
    }
}

/// A part with the Content-* fields of `header` and nothing else set. Each field
/// counts the first time it appears (a later one does not replace an unusable first
/// one), as Dovecot reads them. Content-Type applies whether or not the message has a
/// MIME-Version field, as in every common reader.
fn content_fields(header: &[u8], in_digest: bool) -> Part<'_> {
    const NAMES: [&str; 8] = [
        "type",
        "transfer-encoding",
        "id",
        "description",
        "disposition",
        "language",
        "location",
        "md5",
    ];
    let mut found: [Option<&[u8]>; 8] = [None; 8];
    for field in fields(header) {
        let Some(name) = strip_prefix_ignore_case(field.name, b"content-") else {
            continue;
        };
        if let Some(k) = NAMES
            .iter()
            .position(|n| name.eq_ignore_ascii_case(n.as_bytes()))
        {
            found[k].get_or_insert(field.value);
        }
    }
    let [
        content_type,
        encoding,
        id,
        description,
        disposition,
        language,
        location,
        md5,
    ] = found;
    let content_type = match content_type.and_then(parse_content_type) {
        Some(ct) => ct,
        None if in_digest => ContentType::new("message", "rfc822"),
        None => ContentType::new("text", "plain"),
    };
    Part {
        header: 0..0,
        body: 0..0,
        body_lines: 0,
        content_type,
        encoding: encoding.and_then(Encoding::parse),
        id: id.map(unfold),
        description: description.map(unfold),
        disposition: disposition.and_then(parse_disposition),
        language: language.map(parse_language).unwrap_or_default(),
        location: location.map(unfold),
        md5: md5.map(unfold),
        children: Children::None,
    }
}

fn strip_prefix_ignore_case<'s>(s: &'s [u8], prefix: &[u8]) -> Option<&'s [u8]> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// `type "/" subtype *(";" parameter)` (RFC 2045 5.1), comments allowed. `None` when
/// there is no usable type and subtype, which RFC 2045 5.2 says to treat as no field.
fn parse_content_type(value: &[u8]) -> Option<ContentType<'_>> {
    let mut c = Cursor::new(value);
    c.skip_cfws();
    let media_type = c.token();
    c.skip_cfws();
    if !c.eat(b'/') {
        return None;
    }
    c.skip_cfws();
    let subtype = c.token();
    if media_type.is_empty() || subtype.is_empty() {
        return None;
    }
    Some(ContentType {
        media_type: lowercase(media_type),
        subtype: lowercase(subtype),
        params: parse_params(&mut c),
    })
}

/// `disposition-type *(";" disposition-parm)` (RFC 2183 2).
fn parse_disposition(value: &[u8]) -> Option<Disposition<'_>> {
    let mut c = Cursor::new(value);
    c.skip_cfws();
    let kind = c.token();
    if kind.is_empty() {
        return None;
    }
    Some(Disposition {
        kind: lowercase(kind),
        params: parse_params(&mut c),
    })
}

/// `Language-tag *("," Language-tag)` (RFC 3282 2), comments and white space
/// allowed; empty elements skipped.
fn parse_language(value: &[u8]) -> Vec<Cow<'_, [u8]>> {
    let mut c = Cursor::new(value);
    let mut tags = Vec::new();
    loop {
        c.skip_cfws();
        let start = c.i;
        while c
            .peek()
            .is_some_and(|b| b != b',' && b != b'(' && !is_space(b))
        {
            c.i += 1;
        }
        if c.i > start {
            tags.push(Cow::Borrowed(&value[start..c.i]));
        }
        c.skip_cfws();
        match c.peek() {
            Some(b',') => c.i += 1,
            // Junk between tags: skip it, as far as the next comma.
            Some(_) => c.skip_to(b','),
            None => return tags,
        }
    }
}

/// The parameters after a type: `*(";" attribute "=" value)`, read tolerantly (see
/// [`Param`] for the RFC 2231 joining). A parameter without `=` is dropped. A value
/// that is neither one token nor one quoted string before the next `;` (an unquoted
/// file name with spaces, `name==?utf-8?b?...?=`) is taken as written up to the `;`.
fn parse_params<'a>(c: &mut Cursor<'a>) -> Vec<Param<'a>> {
    let mut params = Vec::new();
    loop {
        c.skip_to(b';');
        if !c.eat(b';') {
            break;
        }
        c.skip_cfws();
        let name = c.token();
        c.skip_cfws();
        if name.is_empty() || !c.eat(b'=') {
            continue;
        }
        c.skip_cfws();
        let start = c.i;
        let mut value = if c.peek() == Some(b'"') {
            c.quoted()
        } else {
            Cow::Borrowed(c.token())
        };
        c.skip_cfws();
        if !matches!(c.peek(), None | Some(b';')) {
            c.skip_to(b';');
            value = unfold(&c.s[start..c.i]);
        }
        params.push(Param {
            name: lowercase(name),
            value,
        });
    }
    join_continuations(params)
}

/// Joins RFC 2231 continuations (section 3) as described at [`Param`]. A joined
/// parameter takes the place of its first segment. Sorting, not searching, groups the
/// segments, so a field with many parameters costs n log n.
fn join_continuations(params: Vec<Param<'_>>) -> Vec<Param<'_>> {
    let segments: Vec<Option<Segment>> = params.iter().map(|p| Segment::of(&p.name)).collect();
    if segments.iter().all(Option::is_none) {
        return params;
    }
    let base = |i: usize| segments[i].map_or("", |s| &params[i].name[..s.star]);
    let mut order: Vec<usize> = (0..params.len())
        .filter(|&i| segments[i].is_some())
        .collect();
    // Stable: equal numbers stay in message order, and are then not contiguous.
    order.sort_by(|&a, &b| {
        (base(a), segments[a].map(|s| s.index)).cmp(&(base(b), segments[b].map(|s| s.index)))
    });
    // What to write at each segment's position: the joined parameter at the first
    // segment of a good group, the segment itself for a group with gaps, else nothing.
    let mut joined: Vec<Option<Param<'_>>> = vec![None; params.len()];
    let mut keep = vec![false; params.len()];
    for group in order.chunk_by(|&a, &b| base(a) == base(b)) {
        let segment = |i: usize| segments[i].expect("only segments are grouped");
        let contiguous = group
            .iter()
            .enumerate()
            .all(|(n, &i)| segment(i).index as usize == n);
        if !contiguous {
            group.iter().for_each(|&i| keep[i] = true);
            continue;
        }
        let any_extended = group.iter().any(|&i| segment(i).extended);
        let mut value = Vec::new();
        if any_extended && !segment(group[0]).extended {
            value.extend_from_slice(b"''");
        }
        for &i in group {
            let v = &params[i].value;
            if any_extended && !segment(i).extended {
                for &b in v.iter() {
                    match b {
                        b'%' => value.extend_from_slice(b"%25"),
                        _ => value.push(b),
                    }
                }
            } else {
                value.extend_from_slice(v);
            }
        }
        let name = base(group[0]);
        let first = *group.iter().min().expect("groups are not empty");
        joined[first] = Some(Param {
            name: Cow::Owned(if any_extended {
                format!("{name}*")
            } else {
                name.to_string()
            }),
            value: Cow::Owned(value),
        });
    }
    let mut out = Vec::with_capacity(params.len());
    for (i, (param, joined)) in params.into_iter().zip(joined).enumerate() {
        if segments[i].is_none() || keep[i] {
            out.push(param);
        } else if let Some(joined) = joined {
            out.push(joined);
        }
    }
    out
}

/// Where an RFC 2231 parameter name (`name*`, `name*2`, `name*2*`) has its star, its
/// segment number, and whether the segment is extended (charset'language'%xx).
#[derive(Debug, Clone, Copy)]
struct Segment {
    star: usize,
    index: u32,
    extended: bool,
}

impl Segment {
    fn of(name: &str) -> Option<Segment> {
        let star = name.find('*')?;
        let rest = &name[star + 1..];
        let (digits, extended) = match rest.strip_suffix('*') {
            Some(digits) => (digits, true),
            None if rest.is_empty() => ("", true),
            None => (rest, false),
        };
        let index = if digits.is_empty() {
            0
        } else if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse().ok()?
        } else {
            return None;
        };
        Some(Segment {
            star,
            index,
            extended,
        })
    }
}

/// `s` lowercased, borrowed when it already is. Tokens are ASCII.
fn lowercase(s: &[u8]) -> Cow<'_, str> {
    let text = ascii(s);
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        text
    }
}

/// A token as text: tokens are ASCII, so this never copies.
fn ascii(s: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(s)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 2045 token characters: printable ASCII except space and tspecials.
fn is_token(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// A reader of structured field values (RFC 2045's lexical rules: tokens, quoted
/// strings, comments), which works on the folded value: CR and LF count as white
/// space.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.i += 1;
        }
        found
    }

    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.peek().is_some_and(is_token) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    /// Skips white space and comments. An unterminated comment runs to the end.
    fn skip_cfws(&mut self) {
        loop {
            match self.peek() {
                Some(b) if is_space(b) => self.i += 1,
                Some(b'(') => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// Skips a comment, nested ones included, at `(`. Nesting is counted, not
    /// recursed into.
    fn skip_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'\\' => self.i = (self.i + 1).min(self.s.len()),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// A quoted string at `"`: its content with quoted pairs resolved and line breaks
    /// (folding) removed. An unterminated string runs to the end.
    fn quoted(&mut self) -> Cow<'a, [u8]> {
        let s = self.s;
        self.i += 1;
        let start = self.i;
        let mut owned: Option<Vec<u8>> = None;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => {
                    return owned.map_or(Cow::Borrowed(&s[start..self.i - 1]), Cow::Owned);
                }
                b'\\' | b'\r' | b'\n' => {
                    let buf = owned.get_or_insert_with(|| s[start..self.i - 1].to_vec());
                    if b == b'\\'
                        && let Some(&next) = s.get(self.i)
                    {
                        buf.push(next);
                        self.i += 1;
                    }
                }
                _ => {
                    if let Some(buf) = &mut owned {
                        buf.push(b);
                    }
                }
            }
        }
        owned.map_or(Cow::Borrowed(&s[start..]), Cow::Owned)
    }

    /// Moves to the next `stop` outside quoted strings and comments, or the end.
    fn skip_to(&mut self, stop: u8) {
        while let Some(b) = self.peek() {
            match b {
                _ if b == stop => return,
                b'"' => {
                    self.quoted();
                }
                b'(' => self.skip_comment(),
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `range` in `raw`, as text.
    fn at<'r>(raw: &'r str, range: &Range<usize>) -> &'r str {
        &raw[range.clone()]
    }

    fn params(ps: &[Param<'_>]) -> Vec<(String, String)> {
        ps.iter()
            .map(|p| {
                let value = String::from_utf8_lossy(&p.value).into_owned();
                (p.name.to_string(), value)
            })
            .collect()
    }

    #[test]
    fn a_message_without_mime_fields_is_one_text_part() {
        let raw = "Subject: hi\r\n\r\nline 1\r\nline 2\r\n";
        let m = parse(raw.as_bytes());
        assert_eq!(at(raw, &m.header), "Subject: hi\r\n\r\n");
        assert_eq!(at(raw, &m.body), "line 1\r\nline 2\r\n");
        assert_eq!(m.body_lines, 2);
        assert!(m.content_type.is("text", "plain"));
        assert_eq!(m.content_type.params, []);
        assert_eq!(m.content_type.charset(), Some(&b"us-ascii"[..]));
        assert_eq!(m.encoding, None);
        assert_eq!(m.encoding(), &Encoding::SevenBit);
        assert_eq!(m.children, Children::None);
    }

    #[test]
    fn a_header_without_its_empty_line_has_an_empty_body() {
        let raw = "Subject: hi\r\nTo: a@b";
        let m = parse(raw.as_bytes());
        assert_eq!(
            (m.header.clone(), m.body.clone()),
            (0..raw.len(), raw.len()..raw.len())
        );
        let m = parse(b"");
        assert_eq!((m.header, m.body, m.body_lines), (0..0, 0..0, 0));
        // A body without a final line break has one line fewer than it shows.
        let m = parse(b"\r\nno break");
        assert_eq!((m.body, m.body_lines), (2..10, 0));
    }

    /// RFC 2046 5.1.1's example, with the parts' line breaks kept apart from the
    /// delimiters.
    const RFC2046: &str = "From: Nathaniel Borenstein <nsb@bellcore.com>\r\n\
        Subject: Sample message\r\n\
        MIME-Version: 1.0\r\n\
        Content-type: multipart/mixed; boundary=\"simple boundary\"\r\n\
        \r\n\
        This is the preamble.  It is to be ignored.\r\n\
        --simple boundary\r\n\
        \r\n\
        This is implicitly typed plain US-ASCII text.\r\n\
        It does NOT end with a linebreak.\r\n\
        --simple boundary\r\n\
        Content-type: text/plain; charset=us-ascii\r\n\
        \r\n\
        This is explicitly typed plain US-ASCII text.\r\n\
        It DOES end with a linebreak.\r\n\
        \r\n\
        --simple boundary--\r\n\
        \r\n\
        This is the epilogue.  It is also to be ignored.\r\n";

    #[test]
    fn multipart_bodies_end_before_the_line_break_of_the_delimiter() {
        let m = parse(RFC2046.as_bytes());
        assert!(m.content_type.is("multipart", "mixed"));
        assert_eq!(
            m.content_type.param("boundary"),
            Some(&b"simple boundary"[..])
        );
        assert!(at(RFC2046, &m.body).starts_with("This is the preamble."));
        assert!(at(RFC2046, &m.body).ends_with("also to be ignored.\r\n"));
        let [first, second] = m.parts() else {
            panic!("{:?}", m.children)
        };
        assert_eq!(at(RFC2046, &first.header), "\r\n");
        assert_eq!(
            at(RFC2046, &first.body),
            "This is implicitly typed plain US-ASCII text.\r\nIt does NOT end with a linebreak."
        );
        assert_eq!(first.body_lines, 1);
        assert!(first.content_type.is("text", "plain"));
        assert_eq!(
            at(RFC2046, &second.header),
            "Content-type: text/plain; charset=us-ascii\r\n\r\n"
        );
        assert_eq!(
            at(RFC2046, &second.body),
            "This is explicitly typed plain US-ASCII text.\r\nIt DOES end with a linebreak.\r\n"
        );
        assert_eq!(second.body_lines, 2);
    }

    #[test]
    fn nested_multiparts_and_messages() {
        let raw = "Content-Type: multipart/mixed; boundary=outer\r\n\r\n\
            --outer\r\n\
            Content-Type: multipart/alternative; boundary=inner\r\n\r\n\
            --inner\r\n\r\none\r\n\
            --inner\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n\
            --inner--\r\n\
            inner epilogue\r\n\
            --outer\r\n\
            Content-Type: message/rfc822\r\n\r\n\
            Subject: inside\r\n\
            Content-Type: multipart/mixed; boundary=deep\r\n\r\n\
            --deep\r\n\r\nthree\r\n\
            --deep--\r\n\
            --outer--\r\n";
        let m = parse(raw.as_bytes());
        let [alternative, message] = m.parts() else {
            panic!("{m:?}")
        };
        let [one, two] = alternative.parts() else {
            panic!("{alternative:?}")
        };
        assert_eq!(at(raw, &one.body), "one");
        assert_eq!(at(raw, &two.body), "<p>two</p>");
        assert!(two.content_type.is("text", "html"));
        assert!(at(raw, &alternative.body).ends_with("--inner--\r\ninner epilogue"));
        assert!(message.content_type.is_message());
        let inner = message.message().expect("an encapsulated message");
        assert!(at(raw, &inner.header).starts_with("Subject: inside\r\n"));
        assert_eq!(at(raw, &inner.parts()[0].body), "three");
        assert_eq!(message.body, inner.header.start..inner.body.end);
        let end = raw.len() - "\r\n--outer--\r\n".len();
        assert_eq!(at(raw, &message.body), &raw[inner.header.start..end]);
        assert_eq!(message.body_lines, 6);
    }

    #[test]
    fn a_missing_close_delimiter_ends_the_multipart_at_the_end_or_an_outer_delimiter() {
        let raw = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nlast\r\n";
        let m = parse(raw.as_bytes());
        assert_eq!(at(raw, &m.parts()[0].body), "last\r\n");
        let raw = "Content-Type: multipart/mixed; boundary=a\r\n\r\n\
            --a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\n\r\nin b\r\n\
            --a\r\n\r\nsecond of a\r\n\
            --a--\r\n";
        let m = parse(raw.as_bytes());
        let [b, second] = m.parts() else {
            panic!("{m:?}")
        };
        assert_eq!(at(raw, &b.parts()[0].body), "in b");
        assert_eq!(at(raw, &second.body), "second of a");
        // No delimiter at all, or no body: a multipart without parts.
        let raw = "Content-Type: multipart/mixed; boundary=a\r\n\r\nno parts\r\n";
        assert_eq!(parse(raw.as_bytes()).children, Children::Multipart(vec![]));
        let raw = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\
            Content-Type: multipart/alternative; boundary=b\r\n--a--\r\n";
        let m = parse(raw.as_bytes());
        let [cut] = m.parts() else { panic!("{m:?}") };
        assert_eq!(cut.children, Children::Multipart(vec![]));
    }

    #[test]
    fn delimiters_are_matched_at_the_start_of_lines() {
        let raw = "Content-Type: multipart/mixed; boundary=foo\r\n\r\n\
            --foo \t\r\n\r\none\r\n\
            -- foo\r\n\
            --fo\r\n\
            --foo junk\r\n\r\ntwo\r\n\
            --foo--x\r\n\
            epilogue\r\n";
        let m = parse(raw.as_bytes());
        let [one, two] = m.parts() else {
            panic!("{m:?}")
        };
        assert_eq!(at(raw, &one.body), "one\r\n-- foo\r\n--fo");
        assert_eq!(at(raw, &two.body), "two");
        assert!(at(raw, &m.body).ends_with("--foo--x\r\nepilogue\r\n"));
        // The longest boundary wins: `--foobar` is the inner multipart's.
        let raw = "Content-Type: multipart/mixed; boundary=foo\r\n\r\n\
            --foo\r\nContent-Type: multipart/mixed; boundary=foobar\r\n\r\n\
            --foobar\r\n\r\ninner one\r\n\
            --foobar\r\n\r\ninner two\r\n\
            --foobar--\r\n\
            --foo--\r\n";
        let m = parse(raw.as_bytes());
        let [inner] = m.parts() else { panic!("{m:?}") };
        let bodies: Vec<&str> = inner.parts().iter().map(|p| at(raw, &p.body)).collect();
        assert_eq!(bodies, ["inner one", "inner two"]);
    }

    #[test]
    fn bare_lf_lines_split_too() {
        let raw = "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>\nx\n--b--\n";
        let m = parse(raw.as_bytes());
        assert_eq!(
            at(raw, &m.header),
            "Content-Type: multipart/mixed; boundary=b\n\n"
        );
        let [html] = m.parts() else { panic!("{m:?}") };
        assert_eq!(at(raw, &html.header), "Content-Type: text/html\n\n");
        assert_eq!((at(raw, &html.body), html.body_lines), ("<p>\nx", 1));
    }

    #[test]
    fn digest_parts_default_to_messages() {
        let raw = "Content-Type: multipart/digest; boundary=d\r\n\r\n\
            --d\r\n\r\nSubject: one\r\n\r\nbody one\r\n\
            --d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n\
            --d--\r\n";
        let m = parse(raw.as_bytes());
        let [one, two] = m.parts() else {
            panic!("{m:?}")
        };
        assert!(one.content_type.is("message", "rfc822"));
        let inner = one.message().expect("a message");
        assert_eq!(at(raw, &inner.header), "Subject: one\r\n\r\n");
        assert_eq!(at(raw, &inner.body), "body one");
        assert!(two.content_type.is("text", "plain"));
        // Only directly inside the digest.
        let raw = "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\
            Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\ntext\r\n--m--\r\n--d--\r\n";
        let m = parse(raw.as_bytes());
        assert!(m.parts()[0].parts()[0].content_type.is("text", "plain"));
    }

    #[test]
    fn content_type_is_read_tolerantly() {
        let ct = |value: &str| {
            let raw = format!("Content-Type:{value}\r\n\r\n");
            let m = parse(raw.as_bytes());
            let ct = &m.content_type;
            (
                format!("{}/{}", ct.media_type, ct.subtype),
                params(&ct.params),
            )
        };
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            ct(" Text/HTML (a comment) ; CharSet=\"UTF-8\" (why)"),
            ("text/html".into(), p(&[("charset", "UTF-8")]))
        );
        assert_eq!(
            ct(" multipart/mixed;\r\n boundary=\"a\\\"b\r\n c\""),
            ("multipart/mixed".into(), p(&[("boundary", "a\"b c")]))
        );
        // Values that are not one token or quoted string run to the next `;`.
        assert_eq!(
            ct(" application/pdf; name=my file.pdf; x=y"),
            (
                "application/pdf".into(),
                p(&[("name", "my file.pdf"), ("x", "y")])
            )
        );
        assert_eq!(
            ct(" text/plain; name==?utf-8?q?a=3Db?=;"),
            ("text/plain".into(), p(&[("name", "=?utf-8?q?a=3Db?=")]))
        );
        // Broken parameters are dropped, the rest kept.
        assert_eq!(
            ct(" text/plain; junk; =x; a=1;; b=\"2"),
            ("text/plain".into(), p(&[("a", "1"), ("b", "2")]))
        );
        // RFC 2045 5.2: an unusable Content-Type is no Content-Type.
        for broken in [
            " text",
            " /plain",
            " text/",
            "",
            " (only a comment)",
            " té/xt",
        ] {
            assert_eq!(ct(broken), ("text/plain".into(), vec![]), "{broken:?}");
        }
        // A multipart without a boundary is left whole.
        let m = parse(b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\ny\r\n");
        assert_eq!(m.children, Children::None);
    }

    #[test]
    fn rfc2231_continuations_are_joined_as_dovecot_does() {
        let ps = |value: &str| {
            let raw = format!("Content-Type: application/x-stuff;{value}\r\n\r\n");
            params(&parse(raw.as_bytes()).content_type.params)
        };
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        // RFC 2231 3's example.
        assert_eq!(
            ps(
                " title*0=\"This is even more \";\r\n title*1=\"***fun*** \"; title*2=\"isn't it!\""
            ),
            p(&[("title", "This is even more ***fun*** isn't it!")])
        );
        // RFC 2231 4.1's example, segments out of order, a plain one between.
        assert_eq!(
            ps(
                " title*1*=%2A%2A%2Afun%2A%2A%2A%20; a=b; title*2=\"isn't it!\"; \
               title*0*=us-ascii'en'This%20is%20even%20more%20"
            ),
            p(&[
                (
                    "title*",
                    "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!"
                ),
                ("a", "b"),
            ])
        );
        // A plain first segment before extended ones gets an empty charset and
        // language; its `%` is escaped.
        assert_eq!(
            ps(" n*0=\"50%\"; n*1*=%20off"),
            p(&[("n*", "''50%25%20off")])
        );
        // A gap: the segments stay as they are.
        assert_eq!(ps(" n*0=a; n*2=c"), p(&[("n*0", "a"), ("n*2", "c")]));
        // A single extended parameter, decoded.
        let raw = "Content-Disposition: attachment; filename*=UTF-8'de'Gr%C3%BC%C3%9Fe.txt\r\n\r\n";
        let m = parse(raw.as_bytes());
        let d = m.disposition.expect("a disposition");
        assert_eq!(d.kind, "attachment");
        let v = d.params[0].decode();
        assert_eq!(v.charset, Some(&b"UTF-8"[..]));
        assert_eq!(v.language, Some(&b"de"[..]));
        assert_eq!(&*v.value, "Grüße.txt".as_bytes());
        // A plain parameter decodes to itself, `%` and all.
        let plain = Param {
            name: "name".into(),
            value: Cow::Borrowed(b"100%25"),
        };
        assert_eq!(&*plain.decode().value, b"100%25");
    }

    #[test]
    fn the_other_content_fields() {
        let raw = "Content-ID: <part1@example.org>\r\n\
            content-description: A \r\n  =?utf-8?q?caf=C3=A9?= \r\n\
            Content-Transfer-Encoding: Base64 (comment)\r\n\
            Content-Disposition: INLINE; filename=\"a.txt\"\r\n\
            Content-Language: en-US, (comment) fr\r\n\
            Content-Location: http://example.org/\r\n a.txt\r\n\
            Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
            Content-ID: <second@example.org>\r\n\r\n";
        let m = parse(raw.as_bytes());
        assert_eq!(m.id.as_deref(), Some(&b"<part1@example.org>"[..]));
        assert_eq!(
            m.description.as_deref(),
            Some(&b"A   =?utf-8?q?caf=C3=A9?="[..])
        );
        assert_eq!(m.encoding, Some(Encoding::Base64));
        let d = m.disposition.as_ref().expect("a disposition");
        assert_eq!(
            (&*d.kind, d.param("filename")),
            ("inline", Some(&b"a.txt"[..]))
        );
        let language: Vec<&[u8]> = m.language.iter().map(|l| &**l).collect();
        assert_eq!(language, [&b"en-US"[..], b"fr"]);
        assert_eq!(
            m.location.as_deref(),
            Some(&b"http://example.org/ a.txt"[..])
        );
        assert_eq!(m.md5.as_deref(), Some(&b"Q2hlY2sgSW50ZWdyaXR5IQ=="[..]));
        fn enc(v: &str) -> Option<Encoding<'_>> {
            Encoding::parse(v.as_bytes())
        }
        assert_eq!(
            enc(" x-uuencode"),
            Some(Encoding::Other("x-uuencode".into()))
        );
        assert_eq!(enc(" QUOTED-printable"), Some(Encoding::QuotedPrintable));
        assert_eq!(enc(" "), None);
        assert_eq!(Encoding::Other("x-foo".into()).name(), "x-foo");
        assert_eq!(Encoding::EightBit.name(), "8BIT");
    }

    #[test]
    fn fields_are_read_whatever_the_line_endings() {
        let header = b"A: 1\r\nB : two\r\n  folded\r\nno colon here\nC:3\n\nD: body\r\n";
        let fs: Vec<Field<'_>> = fields(header).collect();
        let names: Vec<&[u8]> = fs.iter().map(|f| f.name).collect();
        assert_eq!(names, [&b"A"[..], b"B", b"", b"C"]);
        assert_eq!(fs[1].raw, b"B : two\r\n  folded\r\n");
        assert_eq!(fs[1].value, b" two\r\n  folded");
        assert_eq!(&*fs[1].unfolded(), b"two  folded");
        assert_eq!(fs[2].raw, b"no colon here\n");
        assert_eq!(fs[3].value, b"3");
        assert_eq!(
            fields(b"X: at the end").next().map(|f| f.value),
            Some(&b" at the end"[..])
        );
    }

    #[test]
    fn nesting_and_part_counts_are_bounded() {
        // Ten thousand multiparts, each inside the last. (No boundary is the start of
        // another: `b1` would be a delimiter of `b10` lines.)
        let mut raw = String::new();
        for i in 0..10_000 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary={i}b\r\n\r\n--{i}b\r\n"
            ));
        }
        raw.push_str("\r\ndeepest\r\n");
        let m = parse(raw.as_bytes());
        let mut depth = 0;
        let mut part = &m;
        while let [child] = part.parts() {
            part = child;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(part.children, Children::None);
        assert!(at(&raw, &part.body).ends_with("deepest\r\n"));
        // The same with messages.
        let raw = "Content-Type: message/rfc822\r\n\r\n".repeat(10_000);
        let m = parse(raw.as_bytes());
        let mut depth = 0;
        let mut part = &m;
        while let Some(inner) = part.message() {
            part = inner;
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        // Fifty thousand parts: the first MAX_PARTS - 1 are split out (the root is one).
        let mut raw = String::from("Content-Type: multipart/mixed; boundary=b\r\n\r\n");
        raw.push_str(&"--b\r\n\r\nx\r\n".repeat(50_000));
        raw.push_str("--b--\r\nepilogue\r\n");
        let m = parse(raw.as_bytes());
        assert_eq!(m.parts().len(), MAX_PARTS - 1);
        assert!(at(&raw, &m.body).ends_with("--b--\r\nepilogue\r\n"));
    }

    #[test]
    fn base64_ignores_what_is_not_in_its_alphabet() {
        assert_eq!(
            decode_base64(b"aGVs\r\nbG8gd29y\r\nbGQ=\r\n"),
            b"hello world"
        );
        assert_eq!(
            decode_base64(b"  aGVs    \r\n bG8g  \r\n   d29y  \t \r\n    bGQ= \r\n"),
            b"hello world"
        );
        // Padding in the middle: two encodings one after the other.
        assert_eq!(decode_base64(b"aGk=\r\naGk="), b"hihi");
        assert_eq!(decode_base64(b"aGk"), b"hi");
        // A lone final character has no octet in it.
        assert_eq!(decode_base64(b"aGk=Q"), b"hi");
        assert_eq!(
            decode_base64(b"*** not base64 ***"),
            decode_base64(b"notbase6")
        );
        let long: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&long);
        let wrapped: Vec<u8> = encoded
            .as_bytes()
            .chunks(76)
            .flat_map(|line| line.iter().copied().chain(*b"\r\n"))
            .collect();
        assert_eq!(decode_base64(&wrapped), long);
    }

    #[test]
    fn quoted_printable_per_rfc2045() {
        let qp = |s: &str| String::from_utf8(decode_quoted_printable(s.as_bytes())).unwrap();
        assert_eq!(qp("a=3Db=3db\r\n"), "a=b=b\r\n");
        assert_eq!(qp("soft=\r\nbreak"), "softbreak");
        assert_eq!(qp("soft= \t\r\nbreak \t\r\n"), "softbreak\r\n");
        assert_eq!(qp("bare\nlf\n"), "bare\r\nlf\r\n");
        assert_eq!(qp("=4 =ZZ ="), "=4 =ZZ ");
        assert_eq!(qp("trailing  \r\n"), "trailing\r\n");
        assert_eq!(qp(""), "");
        assert_eq!(decode_quoted_printable(b"=FF=00"), [0xff, 0]);
    }

    #[test]
    fn find_lf_agrees_with_a_plain_search() {
        let mut data = [b'x'; 40];
        for i in 0..40 {
            for j in i..40 {
                data.fill(b'x');
                data[j] = b'\n';
                data[i] = 0x8a;
                let plain = data[i..].iter().position(|&b| b == b'\n');
                assert_eq!(find_lf(&data[i..]), plain, "{i} {j}");
            }
        }
        assert_eq!(find_lf(b"\x0b\x09\x0a"), Some(2));
        assert_eq!(find_lf(b""), None);
    }
}
