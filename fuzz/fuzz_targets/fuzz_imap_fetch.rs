//! What FETCH computes from a stored message (gannet::message::mime and gannet::imap's
//! ENVELOPE, BODY, BODYSTRUCTURE, body sections and BINARY) on arbitrary bytes taken as
//! a message: no input may panic or take long (deep nesting, many parts), and
//!
//! 1. The MIME tree: each part's header is followed by its body, both inside the
//!    message; body parts lie in order inside their multipart's body, an encapsulated
//!    message fills its part's body; `body_lines` counts the LFs of the body; the tree
//!    is at most MAX_DEPTH deep and has at most MAX_PARTS parts.
//! 2. ENVELOPE, BODY and BODYSTRUCTURE are each one parenthesized list (strings and
//!    literals skipped), and BODYSTRUCTURE says at least what BODY says.
//! 3. Sections: every part number the tree has names a section whose bytes are that
//!    part's body (MIME: its header), and BINARY of it decodes or reports an unknown
//!    encoding, within the size its encoding allows; a part number past the last part
//!    names nothing; HEADER.FIELDS ends with the empty line; partial ranges are cut
//!    from the section. Parsing once (`*_of`) and per call agree.

#![no_main]

use gannet::imap::{
    Partial, Section, SectionText, UnknownCte, binary, binary_of, bodystructure, bodystructure_of,
    envelope, partial, section, section_of,
};
use gannet::message::mime::{self, Encoding, MAX_DEPTH, MAX_PARTS, Part};
use libfuzzer_sys::fuzz_target;

/// Parts whose sections are checked, so that inputs with thousands of parts stay fast.
const CHECKED_PARTS: usize = 64;

fuzz_target!(|raw: &[u8]| {
    let root = mime::parse(raw);
    let mut count = 0;
    check_part(raw, &root, 0, &mut count);
    assert!(count <= MAX_PARTS, "{count} parts");

    let mut out = Vec::new();
    envelope(raw, &mut out);
    one_list(&out);
    let mut body = Vec::new();
    bodystructure_of(raw, &root, false, &mut body);
    one_list(&body);
    let mut structure = Vec::new();
    bodystructure_of(raw, &root, true, &mut structure);
    one_list(&structure);
    assert!(structure.len() >= body.len());
    let mut again = Vec::new();
    bodystructure(raw, true, &mut again);
    assert_eq!(again, structure);

    let mut paths = Vec::new();
    message_paths(&root, &[], &mut paths);
    let names = field_names(raw);
    for (i, (path, part)) in paths.iter().enumerate() {
        // Parsing per call is checked on a few parts: it costs a parse each.
        check_sections(raw, &root, path, part, &names, i < 4);
    }
    // Part numbers one past each level's last, and the input's first octets as a path:
    // they name a section exactly when the tree has the part.
    let mut others: Vec<Vec<u32>> = paths
        .iter()
        .map(|(path, _)| {
            let mut p = path.clone();
            *p.last_mut().expect("paths are not empty") += 1;
            p
        })
        .collect();
    others.push(raw.iter().take(4).map(|&b| u32::from(b % 5)).collect());
    for path in &others {
        let s = Section {
            part: path.clone(),
            text: None,
        };
        let want = lookup(&root, path).map(|p| &raw[p.body.clone()]);
        let want = if path.is_empty() { Some(raw) } else { want };
        assert_eq!(section_of(raw, &root, &s).as_deref(), want, "{path:?}");
        let found = binary_of(raw, &root, path).map_or(true, |b| b.is_some());
        assert_eq!(found, want.is_some(), "{path:?}");
    }
    let whole = Section::default();
    assert_eq!(section(raw, &whole).as_deref(), Some(raw));
    assert_eq!(binary(raw, &[]).ok().flatten().as_deref(), Some(raw));
});

/// Checks the ranges of `part` and its descendants; counts the parts.
fn check_part(raw: &[u8], part: &Part<'_>, depth: usize, count: &mut usize) {
    *count += 1;
    assert!(depth <= MAX_DEPTH, "depth {depth}");
    assert!(part.header.start <= part.header.end);
    assert_eq!(part.header.end, part.body.start);
    assert!(part.body.start <= part.body.end && part.body.end <= raw.len());
    let lfs = raw[part.body.clone()]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    assert_eq!(part.body_lines, lfs, "lines of {:?}", part.body);
    let mut at = part.body.start;
    for child in part.parts() {
        assert!(at <= child.header.start, "{:?} after {at}", child.header);
        at = child.body.end;
        check_part(raw, child, depth + 1, count);
    }
    assert!(at <= part.body.end);
    if let Some(message) = part.message() {
        assert_eq!(message.header.start, part.body.start);
        assert_eq!(message.body.end, part.body.end);
        check_part(raw, message, depth + 1, count);
    }
}

/// The part numbers of a message (RFC 9051 6.4.5) with the part each names, up to
/// CHECKED_PARTS of them.
fn message_paths<'p, 'a>(
    message: &'p Part<'a>,
    prefix: &[u32],
    out: &mut Vec<(Vec<u32>, &'p Part<'a>)>,
) {
    if message.is_multipart() {
        for (i, child) in message.parts().iter().enumerate() {
            content_paths(child, &number(prefix, i), out);
        }
    } else {
        content_paths(message, &number(prefix, 0), out);
    }
}

fn content_paths<'p, 'a>(
    part: &'p Part<'a>,
    path: &[u32],
    out: &mut Vec<(Vec<u32>, &'p Part<'a>)>,
) {
    if out.len() >= CHECKED_PARTS {
        return;
    }
    out.push((path.to_vec(), part));
    if part.is_multipart() {
        for (i, child) in part.parts().iter().enumerate() {
            content_paths(child, &number(path, i), out);
        }
    } else if let Some(message) = part.message() {
        message_paths(message, path, out);
    }
}

fn number(prefix: &[u32], index: usize) -> Vec<u32> {
    let mut path = prefix.to_vec();
    path.push(u32::try_from(index + 1).expect("fewer than 2^32 parts"));
    path
}

/// The part `path` names, by the numbering `message_paths` follows.
fn lookup<'p, 'a>(root: &'p Part<'a>, path: &[u32]) -> Option<&'p Part<'a>> {
    let (&first, rest) = path.split_first()?;
    let index = usize::try_from(first).ok()?.checked_sub(1)?;
    let mut part = if root.is_multipart() {
        root.parts().get(index)?
    } else {
        (index == 0).then_some(root)?
    };
    for &n in rest {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        part = match part.message() {
            Some(m) if !m.is_multipart() => (index == 0).then_some(m)?,
            Some(m) => m.parts().get(index)?,
            None => part.parts().get(index)?,
        };
    }
    Some(part)
}

/// Up to three field names of the message's header, to fetch HEADER.FIELDS with.
fn field_names(raw: &[u8]) -> Vec<String> {
    mime::fields(raw)
        .filter(|f| !f.name.is_empty())
        .take(3)
        .map(|f| String::from_utf8_lossy(f.name).into_owned())
        .chain(["X-Absent".to_string()])
        .collect()
}

fn check_sections(
    raw: &[u8],
    root: &Part<'_>,
    path: &[u32],
    part: &Part<'_>,
    names: &[String],
    reparse: bool,
) {
    let s = |text| Section {
        part: path.to_vec(),
        text,
    };
    let body = section_of(raw, root, &s(None)).expect("a part the tree has");
    assert_eq!(&*body, &raw[part.body.clone()], "{path:?}");
    let mime_header = section_of(raw, root, &s(Some(SectionText::Mime))).expect("its header");
    assert_eq!(&*mime_header, &raw[part.header.clone()]);
    if reparse {
        assert_eq!(section(raw, &s(None)), Some(body.clone()));
        assert_eq!(binary_of(raw, root, path), binary(raw, path));
    }

    let message = part.message();
    for text in [SectionText::Header, SectionText::Text] {
        let got = section_of(raw, root, &s(Some(text.clone())));
        assert_eq!(got.is_some(), message.is_some(), "{path:?} {text:?}");
    }
    for not in [false, true] {
        let fields = SectionText::HeaderFields {
            not,
            fields: names.to_vec(),
        };
        if let Some(h) = section_of(raw, root, &s(Some(fields))) {
            assert!(h.ends_with(b"\r\n"));
            // The fields are copied; only a last one without its line break gets one.
            let header = &raw[message
                .expect("HEADER.FIELDS needs a message")
                .header
                .clone()];
            assert!(h.len() <= header.len() + 4);
        }
    }
    for (offset, length) in [(0, 1), (1, 3), (u32::MAX, 5), (2, u32::MAX)] {
        let cut = partial(&body, Partial { offset, length });
        assert!(cut.len() <= length as usize);
        let start = (offset as usize).min(body.len());
        assert_eq!(cut, &body[start..start + cut.len()]);
    }

    let decoded = binary_of(raw, root, path);
    let size = part.body.len();
    match (decoded, part.encoding()) {
        (Ok(Some(bytes)), Encoding::Base64) => assert!(bytes.len() <= size / 4 * 3 + 3),
        (Ok(Some(bytes)), Encoding::QuotedPrintable) => assert!(bytes.len() <= 2 * size),
        (Ok(Some(bytes)), Encoding::SevenBit | Encoding::EightBit | Encoding::Binary) => {
            assert_eq!(&*bytes, &raw[part.body.clone()])
        }
        (Err(UnknownCte(name)), Encoding::Other(other)) => assert_eq!(&name, other),
        (other, encoding) => panic!("{path:?}: {other:?} for {encoding:?}"),
    }
}

/// Asserts that `out` is one parenthesized list: parentheses balance outside quoted
/// strings and literals, and nothing follows the closing one.
fn one_list(out: &[u8]) {
    let mut depth = 0usize;
    let mut i = 0;
    assert_eq!(out.first(), Some(&b'('));
    while i < out.len() {
        match out[i] {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1).expect("a ')' without its '('");
                if depth == 0 {
                    assert_eq!(i + 1, out.len(), "text after the list");
                }
            }
            b'"' => {
                i += 1;
                while out[i] != b'"' {
                    i += if out[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' => {
                let close = i + out[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .expect("a literal's '}'");
                let size: usize = std::str::from_utf8(&out[i + 1..close])
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(&out[close + 1..close + 3], b"\r\n");
                assert!(
                    !out[close + 3..close + 3 + size].contains(&0),
                    "NUL in a literal"
                );
                i = close + 2 + size;
            }
            b'\r' | b'\n' | 0 => panic!("a bare line break or NUL outside strings"),
            _ => {}
        }
        i += 1;
    }
    assert_eq!(depth, 0);
}
