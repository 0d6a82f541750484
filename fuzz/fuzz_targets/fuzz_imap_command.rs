//! IMAP command lines with their literals through `imap::parse_command`: no input may
//! panic, and a refusal is a message that fits in a `BAD` line (printable ASCII, not
//! ending like a literal's marker) and points inside the line.
//!
//! The input is the command text, then (after the first LF) the octets its literals
//! draw from: each marker `{n}`, `{n+}` or `~{n}` outside a quoted string takes the
//! next n of them (fewer at the end), so literal sizes usually agree with their markers
//! and the fuzzer reaches past them.

#![no_main]

use gannet::imap::{Literal, parse_command};
use libfuzzer_sys::fuzz_target;

/// The literal sizes the markers in `text` announce, in order. Only an approximation
/// of the grammar (quotes with their escapes, then braces with digits), which is all
/// the splitting needs.
fn marker_sizes(text: &str) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if quoted {
            match (escaped, b) {
                (false, b'\\') => escaped = true,
                (false, b'"') => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'{' => {
                let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                let after = &bytes[i + digits..];
                let closed = after.starts_with(b"}") || after.starts_with(b"+}");
                if digits > 0 && closed {
                    let size = text[i..i + digits].parse().unwrap_or(usize::MAX);
                    sizes.push(size);
                }
            }
            _ => {}
        }
    }
    sizes
}

fuzz_target!(|data: &[u8]| {
    let (text, mut rest) = match data.iter().position(|&b| b == b'\n') {
        Some(lf) => (&data[..lf], &data[lf + 1..]),
        None => (data, &[][..]),
    };
    // The framer hands over UTF-8 text without CR or LF.
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if text.contains('\r') {
        return;
    }
    let mut literals = Vec::new();
    for size in marker_sizes(text) {
        let take = size.min(rest.len());
        literals.push(Literal::Memory(rest[..take].to_vec()));
        rest = &rest[take..];
    }
    match parse_command(text, literals) {
        Ok(request) => {
            assert!(!request.tag.is_empty());
            assert!(text.starts_with(&request.tag));
        }
        Err(e) => {
            // It goes into a response line: printable ASCII, and not ending like a
            // literal's marker.
            assert!(!e.message.is_empty());
            assert!(
                e.message.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
                "{text:?}: {:?}",
                e.message
            );
            assert!(!e.message.ends_with('}'), "{text:?}: {:?}", e.message);
            assert!(
                e.column >= 1 && e.column <= text.chars().count() + 1,
                "{text:?}: column {} in {:?}",
                e.column,
                e.message
            );
            if let Some(tag) = &e.tag {
                let after = text.strip_prefix(tag.as_str()).map(|r| r.chars().next());
                assert!(
                    matches!(after, Some(None | Some(' '))),
                    "{text:?}: tag {tag:?}"
                );
            }
        }
    }
});
