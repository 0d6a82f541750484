//! Body sections (RFC 9051 6.4.5 `BODY[section]<partial>`) and BINARY (RFC 3516, part
//! of IMAP4rev2): bytes of the stored message picked out with the [`mime`] tree.
//!
//! Part numbers follow RFC 9051 6.4.5: the parts of a multipart are numbered from 1;
//! a message that is not multipart has one part, 1, its body; the parts of a
//! message/rfc822 (or message/global) part are the parts of the message it
//! encapsulates, and its HEADER and TEXT are that message's.

use std::borrow::Cow;

use super::command::{Partial, Section, SectionText};
use crate::message::mime::{self, Children, Part};

/// BINARY of a part whose Content-Transfer-Encoding gannet cannot remove. The server
/// answers `NO [UNKNOWN-CTE]` (RFC 3516 4.3) with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "part has Content-Transfer-Encoding {0:?}, which cannot be decoded; fetch it with BODY[] instead"
)]
pub struct UnknownCte(pub String);

/// The bytes of `BODY[section]` of the message `raw` (the whole message for an empty
/// section). `None` when the section does not exist: a part number beyond the parts
/// there are, HEADER or TEXT of a part that is not a message, MIME without a part
/// number. RFC 9051 does not say what to send then; Dovecot sends an empty string.
pub fn section<'r>(raw: &'r [u8], section: &Section) -> Option<Cow<'r, [u8]>> {
    section_of(raw, &mime::parse(raw), section)
}

/// [`section`] for a message already parsed: `root` is `mime::parse(raw)`.
pub fn section_of<'r>(raw: &'r [u8], root: &Part<'_>, section: &Section) -> Option<Cow<'r, [u8]>> {
    let node = resolve(root, &section.part)?;
    let message = |node| match node {
        Node::Message(m) => Some(m),
        Node::Content(p) => p.message(),
    };
    let bytes = match (&section.text, node) {
        (None, Node::Message(_)) => raw,
        (None, Node::Content(p)) => &raw[p.body.clone()],
        (Some(SectionText::Mime), Node::Content(p)) => &raw[p.header.clone()],
        (Some(SectionText::Mime), Node::Message(_)) => return None,
        (Some(SectionText::Header), node) => &raw[message(node)?.header.clone()],
        (Some(SectionText::Text), node) => &raw[message(node)?.body.clone()],
        (Some(SectionText::HeaderFields { not, fields }), node) => {
            let header = &raw[message(node)?.header.clone()];
            return Some(Cow::Owned(header_fields(header, fields, *not)));
        }
    };
    Some(Cow::Borrowed(bytes))
}

/// The fields of `header` named in `names` (or, with `not`, all others), compared
/// case-insensitively, each exactly as in the message (folding included), in message
/// order, and the empty line that ends a header (RFC 9051 6.4.5).
fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for field in mime::fields(header) {
        let named = !field.name.is_empty()
            && names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(field.name));
        if named != not {
            out.extend_from_slice(field.raw);
            if !field.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// `BINARY[part]` of the message `raw` (RFC 3516): the part's body with its
/// Content-Transfer-Encoding removed; the whole message, as it is, for an empty part.
/// `Ok(None)` when the part does not exist.
pub fn binary<'r>(raw: &'r [u8], part: &[u32]) -> Result<Option<Cow<'r, [u8]>>, UnknownCte> {
    binary_of(raw, &mime::parse(raw), part)
}

/// [`binary`] for a message already parsed: `root` is `mime::parse(raw)`.
pub fn binary_of<'r>(
    raw: &'r [u8],
    root: &Part<'_>,
    part: &[u32],
) -> Result<Option<Cow<'r, [u8]>>, UnknownCte> {
    if part.is_empty() {
        return Ok(Some(Cow::Borrowed(raw)));
    }
    let Some(Node::Content(p)) = resolve(root, part) else {
        return Ok(None);
    };
    let encoding = p.encoding();
    match encoding.decode(&raw[p.body.clone()]) {
        Some(bytes) => Ok(Some(bytes)),
        None => Err(UnknownCte(encoding.name().to_string())),
    }
}

/// The `<offset.length>` range of `bytes` (RFC 9051 6.4.5): empty when the offset is
/// past the end, cut short at the end.
pub fn partial(bytes: &[u8], p: Partial) -> &[u8] {
    let start = (p.offset as usize).min(bytes.len());
    let end = start.saturating_add(p.length as usize).min(bytes.len());
    &bytes[start..end]
}

/// What a part number leads to: a message (its header is a message header; HEADER and
/// TEXT apply), or a body part (its header is a MIME header; the number's bytes are its
/// body).
#[derive(Clone, Copy)]
enum Node<'p, 'a> {
    Message(&'p Part<'a>),
    Content(&'p Part<'a>),
}

fn resolve<'p, 'a>(root: &'p Part<'a>, path: &[u32]) -> Option<Node<'p, 'a>> {
    path.iter()
        .try_fold(Node::Message(root), |node, &n| step(node, n))
}

/// Part `n` of `node`.
fn step<'p, 'a>(node: Node<'p, 'a>, n: u32) -> Option<Node<'p, 'a>> {
    let index = (n as usize).checked_sub(1)?;
    match node {
        Node::Message(m) => match &m.children {
            Children::Multipart(parts) => parts.get(index).map(Node::Content),
            // A message that is not multipart has one part: its body.
            _ => (index == 0).then_some(Node::Content(m)),
        },
        Node::Content(p) => match &p.children {
            Children::Multipart(parts) => parts.get(index).map(Node::Content),
            Children::Message(message) => step(Node::Message(message), n),
            Children::None => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imaptest_fetch_body() {
        imaptest::assert_script("fetch-body");
    }

    #[test]
    fn imaptest_fetch_body_mime() {
        imaptest::assert_script("fetch-body-mime");
    }

    #[test]
    fn imaptest_fetch_body_message_rfc822() {
        imaptest::assert_script("fetch-body-message-rfc822");
        imaptest::assert_script("fetch-body-message-rfc822-mime");
        imaptest::assert_script("fetch-body-message-rfc822-x2");
    }

    #[test]
    fn imaptest_fetch_binary() {
        imaptest::assert_script("fetch-binary-mime");
        imaptest::assert_script("fetch-binary-mime-base64");
        imaptest::assert_script("fetch-binary-mime-qp");
    }

    fn sec(part: &[u32], text: Option<SectionText>) -> Section {
        Section {
            part: part.to_vec(),
            text,
        }
    }

    fn get(raw: &str, part: &[u32], text: Option<SectionText>) -> Option<String> {
        section(raw.as_bytes(), &sec(part, text))
            .map(|b| String::from_utf8(b.into_owned()).unwrap())
    }

    fn fields(not: bool, names: &[&str]) -> Option<SectionText> {
        Some(SectionText::HeaderFields {
            not,
            fields: names.iter().map(|n| n.to_string()).collect(),
        })
    }

    #[test]
    fn a_message_that_is_not_multipart_has_one_part() {
        let raw = "Subject: s\r\n\r\nbody\r\n";
        assert_eq!(get(raw, &[], None).as_deref(), Some(raw));
        assert_eq!(get(raw, &[1], None).as_deref(), Some("body\r\n"));
        assert_eq!(
            get(raw, &[1], Some(SectionText::Mime)).as_deref(),
            Some("Subject: s\r\n\r\n")
        );
        assert_eq!(get(raw, &[2], None), None);
        assert_eq!(get(raw, &[0], None), None);
        assert_eq!(get(raw, &[1, 1], None), None);
        // HEADER and TEXT need a message; MIME needs a part.
        assert_eq!(get(raw, &[1], Some(SectionText::Header)), None);
        assert_eq!(get(raw, &[1], Some(SectionText::Text)), None);
        assert_eq!(get(raw, &[], Some(SectionText::Mime)), None);
        assert_eq!(
            get(raw, &[], Some(SectionText::Text)).as_deref(),
            Some("body\r\n")
        );
    }

    #[test]
    fn header_fields_keep_their_text_and_order() {
        let raw = "Subject: one\r\n  folded\r\nfrom: a@b\r\nX-Other: x\r\nno colon\r\nSUBJECT: two\r\n\r\nbody";
        assert_eq!(
            get(raw, &[], fields(false, &["From", "subject"])).as_deref(),
            Some("Subject: one\r\n  folded\r\nfrom: a@b\r\nSUBJECT: two\r\n\r\n")
        );
        assert_eq!(
            get(raw, &[], fields(true, &["From", "subject"])).as_deref(),
            Some("X-Other: x\r\nno colon\r\n\r\n")
        );
        assert_eq!(
            get(raw, &[], fields(false, &["x-none"])).as_deref(),
            Some("\r\n")
        );
        // A header that ends the message without a line break still ends in one.
        assert_eq!(
            get("A: 1\r\nB: 2", &[], fields(false, &["b"])).as_deref(),
            Some("B: 2\r\n\r\n")
        );
    }

    #[test]
    fn partial_ranges_are_cut_to_the_bytes() {
        let p = |offset, length| Partial { offset, length };
        assert_eq!(partial(b"0123456789", p(2, 3)), b"234");
        assert_eq!(partial(b"0123456789", p(8, 5)), b"89");
        assert_eq!(partial(b"0123456789", p(10, 1)), b"");
        assert_eq!(partial(b"0123456789", p(u32::MAX, u32::MAX)), b"");
        assert_eq!(partial(b"0123456789", p(1, u32::MAX)), b"123456789");
        assert_eq!(partial(b"0123456789", p(0, 0)), b"");
    }

    const ENCODED: &str = "Content-Type: multipart/mixed; boundary=b\r\n\r\n\
        --b\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n\
        --b\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\na=3Db=\r\nc\r\n\
        --b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n\
        --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: m\r\n\r\nm\r\n\
        --b--\r\n";

    #[test]
    fn binary_removes_the_transfer_encoding() {
        let raw = ENCODED.as_bytes();
        let bin = |part: &[u32]| binary(raw, part).map(|b| b.map(Cow::into_owned));
        assert_eq!(bin(&[]), Ok(Some(raw.to_vec())));
        assert_eq!(bin(&[1]), Ok(Some(vec![0, 1, 2, 255])));
        assert_eq!(bin(&[2]), Ok(Some(b"a=bc".to_vec())));
        assert_eq!(bin(&[3]), Err(UnknownCte("x-uuencode".into())));
        assert_eq!(
            bin(&[3]).unwrap_err().to_string(),
            "part has Content-Transfer-Encoding \"x-uuencode\", which cannot be decoded; \
             fetch it with BODY[] instead"
        );
        assert_eq!(bin(&[4]), Ok(Some(b"Subject: m\r\n\r\nm".to_vec())));
        assert_eq!(bin(&[4, 1]), Ok(Some(b"m".to_vec())));
        assert_eq!(bin(&[5]), Ok(None));
        // A message that is not multipart: part 1 is its body, decoded.
        let single = b"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n";
        assert_eq!(binary(single, &[1]).unwrap().as_deref(), Some(&b"hi"[..]));
    }

    #[test]
    fn parsed_once_or_per_call_agree() {
        let raw = ENCODED.as_bytes();
        let root = mime::parse(raw);
        for part in [vec![], vec![1], vec![2], vec![4], vec![4, 1], vec![9]] {
            for text in [
                None,
                Some(SectionText::Mime),
                Some(SectionText::Header),
                Some(SectionText::Text),
            ] {
                let s = sec(&part, text);
                assert_eq!(section_of(raw, &root, &s), section(raw, &s), "{s:?}");
            }
            assert_eq!(binary_of(raw, &root, &part), binary(raw, &part));
        }
    }
}

/// Replays Dovecot's imaptest scripts (`rfc-vectors/imaptest/tests/`) against the
/// functions of this module, ENVELOPE and BODYSTRUCTURE: each `FETCH` in a script is
/// answered from the script's mbox, and every item whose expected value the script
/// spells out is compared with gannet's. Items the script leaves to variables
/// (`$hdr1`) or directives (`$!unordered`), and items that are not about message
/// content (FLAGS, UID), are skipped.
#[cfg(test)]
pub(super) mod imaptest {
    use std::path::PathBuf;

    use super::*;
    use crate::imap::bodystructure::bodystructure;
    use crate::imap::envelope::envelope;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rfc-vectors/imaptest/tests")
    }

    /// The messages of an mbox as imaptest appends them (its mailbox-source-mbox.c):
    /// the lines after each `From ` line up to the next, that line left out, every LF
    /// without a CR before it made CRLF.
    pub fn mbox(name: &str) -> Vec<Vec<u8>> {
        let data = std::fs::read(dir().join(format!("{name}.mbox"))).unwrap();
        let mut messages: Vec<Vec<u8>> = Vec::new();
        for line in data.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"From ") {
                messages.push(Vec::new());
                continue;
            }
            let message = messages
                .last_mut()
                .expect("an mbox starts with a From line");
            match line.strip_suffix(b"\n") {
                Some(text) if !text.ends_with(b"\r") => {
                    message.extend_from_slice(text);
                    message.extend_from_slice(b"\r\n");
                }
                _ => message.extend_from_slice(line),
            }
        }
        messages
    }

    /// A command of a script with the untagged replies that must come with it, each
    /// with its `{{{ }}}` blocks made IMAP literals as imaptest's test-parser.c does:
    /// lines joined with CRLF (LF for a `~{{{` block), the last line break dropped.
    struct Command {
        text: String,
        replies: Vec<Vec<u8>>,
    }

    fn script(name: &str) -> Vec<Command> {
        let data = std::fs::read(dir().join(name)).unwrap();
        let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        if lines.last() == Some(&&b""[..]) {
            lines.pop();
        }
        let mut commands: Vec<Command> = Vec::new();
        let mut header = true;
        let mut block: Option<(Vec<u8>, usize, usize, bool)> = None;
        for line in lines {
            let mut line = line.to_vec();
            if let Some((mut text, start, mut line_end, mut binary)) = block.take() {
                if !line.starts_with(b"}}}") {
                    text.extend_from_slice(&line);
                    line_end = text.len();
                    text.extend_from_slice(if binary { b"\n" } else { b"\r\n" });
                    block = Some((text, start, line_end, binary));
                    continue;
                }
                text.truncate(line_end);
                let size = text.len() - start;
                let prefix = format!("{}{{{size}}}\r\n", if binary { "~" } else { "" });
                text.splice(start..start, prefix.bytes());
                let rest = &line[3..];
                if let Some(head) = rest.strip_suffix(b"{{{") {
                    binary = head.ends_with(b"~");
                    text.extend_from_slice(head.strip_suffix(b"~").unwrap_or(head));
                    let at = text.len();
                    block = Some((text, at, at, binary));
                    continue;
                }
                text.extend_from_slice(rest);
                line = text;
            } else {
                if line.is_empty() {
                    header = false;
                    continue;
                }
                if line.starts_with(b"#") {
                    continue;
                }
                if let Some(head) = line.strip_suffix(b"{{{") {
                    let binary = head.ends_with(b"~");
                    let text = head.strip_suffix(b"~").unwrap_or(head).to_vec();
                    let at = text.len();
                    block = Some((text, at, at, binary));
                    continue;
                }
            }
            if header {
                continue;
            }
            if let Some(reply) = line.strip_prefix(b"* ") {
                if let Some(command) = commands.last_mut() {
                    command.replies.push(reply.to_vec());
                }
            } else if !line.starts_with(b"! ") && !line.starts_with(b"? ") {
                let text = String::from_utf8_lossy(&line).into_owned();
                commands.push(Command {
                    text,
                    replies: Vec::new(),
                });
            }
        }
        commands
    }

    /// An IMAP value of an expected reply, with the text it was written as.
    #[derive(Debug)]
    enum Value {
        Nil,
        Atom(String),
        Str(Vec<u8>),
        List(String),
    }

    /// Reads `name value` pairs of a FETCH reply's list (`N FETCH (...)`).
    fn fetch_items(reply: &[u8]) -> (usize, Vec<(String, Value)>) {
        let text = reply;
        let space = text.iter().position(|&b| b == b' ').unwrap();
        let seq: usize = std::str::from_utf8(&text[..space])
            .unwrap()
            .parse()
            .unwrap();
        let open = text.iter().position(|&b| b == b'(').unwrap();
        let mut i = open + 1;
        let mut items = Vec::new();
        loop {
            while text[i] == b' ' {
                i += 1;
            }
            if text[i] == b')' {
                return (seq, items);
            }
            // A name: an atom, with a bracketed section that may hold spaces.
            let start = i;
            let mut depth = 0;
            while depth > 0 || !matches!(text[i], b' ' | b')') {
                match text[i] {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            let name = String::from_utf8_lossy(&text[start..i]).to_lowercase();
            i += 1;
            let (value, end) = value(text, i);
            items.push((name, value));
            i = end;
        }
    }

    /// The value at `i` and where it ends.
    fn value(text: &[u8], mut i: usize) -> (Value, usize) {
        let literal = |i: usize| {
            let close = i + text[i..].iter().position(|&b| b == b'}').unwrap();
            let size: usize = std::str::from_utf8(&text[i + 1..close])
                .unwrap()
                .parse()
                .unwrap();
            let start = close + 3;
            (Value::Str(text[start..start + size].to_vec()), start + size)
        };
        match text[i] {
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                while text[i] != b'"' {
                    if text[i] == b'\\' {
                        i += 1;
                    }
                    s.push(text[i]);
                    i += 1;
                }
                (Value::Str(s), i + 1)
            }
            b'{' => literal(i),
            b'~' => literal(i + 1),
            b'(' => {
                let start = i;
                let mut depth = 0;
                loop {
                    match text[i] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'"' => {
                            i += 1;
                            while text[i] != b'"' {
                                i += if text[i] == b'\\' { 2 } else { 1 };
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let list = String::from_utf8_lossy(&text[start..=i]).into_owned();
                (Value::List(list), i + 1)
            }
            _ => {
                let start = i;
                while !matches!(text[i], b' ' | b')') {
                    i += 1;
                }
                let atom = String::from_utf8_lossy(&text[start..i]).into_owned();
                let v = if atom.eq_ignore_ascii_case("NIL") {
                    Value::Nil
                } else {
                    Value::Atom(atom)
                };
                (v, i)
            }
        }
    }

    /// The section of a `body[...]` name: part numbers, then the text specifier.
    fn parse_section(spec: &str) -> Section {
        let mut part = Vec::new();
        let mut rest = spec;
        while let Some((n, tail)) = rest.split_once('.').or(Some((rest, "")))
            && let Ok(n) = n.parse::<u32>()
        {
            part.push(n);
            rest = tail;
        }
        let upper = rest.to_uppercase();
        let fields = |list: &str| -> Vec<String> {
            let inner = list.trim().trim_start_matches('(').trim_end_matches(')');
            inner.split_whitespace().map(str::to_string).collect()
        };
        let text = if upper.is_empty() {
            None
        } else if let Some(list) = upper.strip_prefix("HEADER.FIELDS.NOT") {
            Some(SectionText::HeaderFields {
                not: true,
                fields: fields(list),
            })
        } else if let Some(list) = upper.strip_prefix("HEADER.FIELDS") {
            Some(SectionText::HeaderFields {
                not: false,
                fields: fields(list),
            })
        } else {
            Some(match upper.as_str() {
                "HEADER" => SectionText::Header,
                "TEXT" => SectionText::Text,
                "MIME" => SectionText::Mime,
                other => panic!("section {other}"),
            })
        };
        Section { part, text }
    }

    /// The fetch items of a command (`fetch 1 (a b[c d]<1.2>)`), keyed by the name the
    /// reply gives them (`.peek` dropped, `<offset>` only), with their partial ranges.
    fn command_items(command: &str) -> Option<Vec<(String, Option<Partial>)>> {
        let rest = command
            .strip_prefix("fetch ")
            .or(command.strip_prefix("FETCH "))?;
        let (_, items) = rest.split_once(' ')?;
        let items = items.trim();
        let items = items
            .strip_prefix('(')
            .and_then(|i| i.strip_suffix(')'))
            .unwrap_or(items);
        let mut words = vec![String::new()];
        let mut depth = 0;
        for c in items.chars() {
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' => depth -= 1,
                ' ' if depth == 0 => {
                    words.push(String::new());
                    continue;
                }
                _ => {}
            }
            words.last_mut().expect("not empty").push(c);
        }
        let mut out = Vec::new();
        for word in words {
            let item = word.to_lowercase().replace(".peek", "");
            let (name, partial) = match item.rsplit_once('<') {
                Some((name, range)) if item.ends_with('>') => {
                    let (offset, length) = range.trim_end_matches('>').split_once('.')?;
                    let p = Partial {
                        offset: offset.parse().ok()?,
                        length: length.parse().ok()?,
                    };
                    (format!("{name}<{offset}>"), Some(p))
                }
                _ => (item, None),
            };
            out.push((name, partial));
        }
        Some(out)
    }

    /// What gannet sends for a fetch item, or `None` for one this module does not
    /// answer.
    fn ours(raw: &[u8], name: &str, partial: Option<Partial>) -> Option<Value> {
        let bytes = |b: Option<Cow<'_, [u8]>>| match b {
            Some(b) => Value::Str(match partial {
                Some(p) => super::partial(&b, p).to_vec(),
                None => b.to_vec(),
            }),
            None => Value::Nil,
        };
        let bracket = |prefix: &str| -> Option<String> {
            let rest = name.strip_prefix(prefix)?;
            Some(rest[..rest.rfind(']')?].to_string())
        };
        let list = |write: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            write(&mut out);
            Value::List(String::from_utf8(out).unwrap())
        };
        let text = |t| Section {
            part: Vec::new(),
            text: t,
        };
        Some(match name {
            "envelope" => list(&|out| envelope(raw, out)),
            "body" => list(&|out| bodystructure(raw, false, out)),
            "bodystructure" => list(&|out| bodystructure(raw, true, out)),
            "rfc822" => bytes(section(raw, &text(None))),
            "rfc822.header" => bytes(section(raw, &text(Some(SectionText::Header)))),
            "rfc822.text" => bytes(section(raw, &text(Some(SectionText::Text)))),
            _ => {
                if let Some(spec) = bracket("body[") {
                    bytes(section(raw, &parse_section(&spec)))
                } else if let Some(spec) = bracket("binary.size[") {
                    let part = parse_section(&spec).part;
                    match binary(raw, &part).unwrap() {
                        Some(b) => Value::Atom(b.len().to_string()),
                        None => Value::Nil,
                    }
                } else if let Some(spec) = bracket("binary[") {
                    bytes(binary(raw, &parse_section(&spec).part).unwrap())
                } else {
                    return None;
                }
            }
        })
    }

    /// Runs the FETCH commands of script `name`; returns how many items were compared
    /// and a description of each that differs.
    pub fn check(name: &str) -> (usize, Vec<String>) {
        let messages = mbox(name);
        let mut compared = 0;
        let mut failures = Vec::new();
        for command in script(name) {
            let text = command
                .text
                .strip_prefix("ok ")
                .unwrap_or(&command.text)
                .to_string();
            let Some(items) = command_items(&text) else {
                continue;
            };
            for reply in &command.replies {
                let lower = String::from_utf8_lossy(reply).to_lowercase();
                if !lower.contains(" fetch (") {
                    continue;
                }
                let (seq, expected) = fetch_items(reply);
                let raw = &messages[seq - 1];
                for (item, want) in expected {
                    let partial = items.iter().find(|(n, _)| *n == item).and_then(|(_, p)| *p);
                    let Some(got) = ours(raw, &item, partial) else {
                        continue;
                    };
                    let same = match (&want, &got) {
                        (Value::List(w), _) | (Value::Atom(w), _) if w.contains('$') => continue,
                        (Value::List(w), Value::List(g)) => w.eq_ignore_ascii_case(g),
                        (Value::Atom(w), Value::Atom(g)) => w == g,
                        (Value::Str(w), Value::Str(g)) => w == g,
                        (Value::Nil, Value::Nil) => true,
                        _ => false,
                    };
                    compared += 1;
                    if !same {
                        failures.push(format!(
                            "{name}: `{text}`, message {seq}, {item}:\n  expected {want:?}\n  gannet   {got:?}"
                        ));
                    }
                }
            }
        }
        (compared, failures)
    }

    /// Asserts that script `name` has FETCH expectations and gannet meets them all.
    pub fn assert_script(name: &str) {
        let (compared, failures) = check(name);
        assert!(compared > 0, "{name}: no FETCH item was compared");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
