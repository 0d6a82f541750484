//! Encoding of IMAP response values (RFC 9051 section 4 and 9): atoms, quoted
//! strings, literals and NIL. Every response writer goes through these, so
//! the quoting rules live in one place.

/// Whether `s` can be sent as an atom (`ATOM-CHAR`s only, not empty, not `NIL`).
pub fn is_atom(s: &str) -> bool {
    !s.is_empty()
        && !s.eq_ignore_ascii_case("NIL")
        && s.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

/// Whether `bytes` may go in a quoted string: 7-bit or UTF-8 text without CR, LF or
/// NUL, and short enough that a literal is not the friendlier form.
fn quotable(bytes: &[u8]) -> bool {
    bytes.len() <= 1024
        && std::str::from_utf8(bytes).is_ok()
        && !bytes.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}

/// A string: quoted when it can be, else a literal.
pub fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    if quotable(bytes) {
        quoted(out, bytes);
    } else {
        literal(out, bytes);
    }
}

/// `"..."` with `"` and `\` escaped. The caller has checked [`quotable`].
fn quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        if matches!(b, b'"' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// `{n}` CRLF and the bytes.
pub fn literal(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// `~{n}` CRLF and the bytes: a literal8 (RFC 3516) that may hold NUL.
pub fn literal8(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("~{{{}}}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// A string or NIL.
pub fn nstring(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => string(out, v),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// An astring: an atom where possible (shorter, and what clients expect for names
/// like `INBOX`), else a string.
pub fn astring(out: &mut Vec<u8>, s: &str) {
    if is_atom(s) {
        out.extend_from_slice(s.as_bytes());
    } else {
        string(out, s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_quoted_or_literal() {
        assert_eq!(enc(|o| string(o, b"hello world")), "\"hello world\"");
        assert_eq!(enc(|o| string(o, b"a\"b\\c")), "\"a\\\"b\\\\c\"");
        assert_eq!(enc(|o| string(o, b"two\r\nlines")), "{10}\r\ntwo\r\nlines");
        assert_eq!(enc(|o| string(o, "Grüße".as_bytes())), "\"Grüße\"");
        let mut out = Vec::new();
        string(&mut out, b"\xff");
        assert_eq!(out, b"{1}\r\n\xff");
    }

    #[test]
    fn astrings_prefer_atoms() {
        assert_eq!(enc(|o| astring(o, "INBOX")), "INBOX");
        assert_eq!(enc(|o| astring(o, "nil")), "\"nil\"");
        assert_eq!(enc(|o| astring(o, "a b")), "\"a b\"");
        assert_eq!(enc(|o| astring(o, "")), "\"\"");
        assert_eq!(enc(|o| astring(o, "x]")), "\"x]\"");
    }

    #[test]
    fn nil() {
        assert_eq!(enc(|o| nstring(o, None)), "NIL");
    }

    /// Reads back one string value as RFC 9051 defines it: a quoted string or a
    /// literal; the rest of the input must be empty.
    fn read_string(input: &[u8]) -> Option<Vec<u8>> {
        match input.first()? {
            b'"' => {
                let mut out = Vec::new();
                let mut i = 1;
                while i < input.len() {
                    match input[i] {
                        b'\\' => {
                            out.push(*input.get(i + 1).filter(|c| matches!(c, b'"' | b'\\'))?);
                            i += 2;
                        }
                        b'"' => return (i + 1 == input.len()).then_some(out),
                        b'\r' | b'\n' | 0 => return None,
                        c => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                None
            }
            b'{' | b'~' => {
                let start = input.iter().position(|&c| c == b'{')? + 1;
                let end = input.iter().position(|&c| c == b'}')?;
                let len: usize = std::str::from_utf8(&input[start..end]).ok()?.parse().ok()?;
                let data = input.get(end + 3..)?;
                (input.get(end + 1..end + 3)? == b"\r\n" && data.len() == len)
                    .then(|| data.to_vec())
            }
            _ => None,
        }
    }

    proptest::proptest! {
        #[test]
        fn strings_read_back(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let mut out = Vec::new();
            string(&mut out, &bytes);
            proptest::prop_assert_eq!(read_string(&out), Some(bytes));
        }

        #[test]
        fn astrings_are_atoms_or_read_back(s in "\\PC{0,40}") {
            let mut out = Vec::new();
            astring(&mut out, &s);
            match read_string(&out) {
                Some(back) => proptest::prop_assert_eq!(back, s.into_bytes()),
                None => {
                    proptest::prop_assert!(is_atom(&s));
                    proptest::prop_assert_eq!(out, s.into_bytes());
                }
            }
        }
    }
}
