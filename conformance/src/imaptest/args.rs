//! IMAP arguments as imaptest sees them: one tokenizer for the expected replies
//! in scripts and for what the server sends, so both sides compare alike.
//!
//! The rules follow the permissive reading imaptest uses (Dovecot's parser with
//! "atoms may hold any character"): an atom runs to a space or line end, and to
//! `)` only inside a list, so `BODY[HEADER.FIELDS (FROM)]` becomes the atom
//! `BODY[HEADER.FIELDS`, the list `(FROM)` and the atom `]`, and `[UNSEEN 1]`
//! becomes `[UNSEEN` and `1]`. Matching works on these pieces.

use std::fmt::Write;

/// One IMAP argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// The atom `NIL`, in any case.
    Nil,
    Atom(Vec<u8>),
    /// A quoted string, unescaped.
    Str(Vec<u8>),
    /// A literal's bytes; `binary` for the `~{n}` form.
    Literal {
        data: Vec<u8>,
        binary: bool,
    },
    List(Vec<Arg>),
}

impl Arg {
    /// The bytes of an atom, string or literal (not NIL, not a list).
    pub fn as_astring(&self) -> Option<&[u8]> {
        match self {
            Arg::Atom(s) | Arg::Str(s) => Some(s),
            Arg::Literal { data, .. } => Some(data),
            Arg::Nil | Arg::List(_) => None,
        }
    }

    /// The text of an atom; NIL counts as the atom "NIL", as in imaptest.
    pub fn as_atom(&self) -> Option<&[u8]> {
        match self {
            Arg::Atom(s) => Some(s),
            Arg::Nil => Some(b"NIL"),
            _ => None,
        }
    }

    /// Whether this is an atom equal to `word`, ignoring ASCII case.
    pub fn is_atom(&self, word: &str) -> bool {
        self.as_atom()
            .is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    }
}

/// Parses `input` into arguments. `multiline` lets quoted strings hold CR and LF
/// (scripts may); server input never needs that. A literal is `{n}`, `{n+}` or
/// `~{n}` followed by CRLF (or LF) and n bytes.
pub fn parse(input: &[u8], multiline: bool) -> Result<Vec<Arg>, String> {
    let mut stack: Vec<Vec<Arg>> = vec![Vec::new()];
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        if c == b' ' {
            i += 1;
            continue;
        }
        if c == b'\r' || c == b'\n' {
            // The end of the line; only line breaks may follow.
            if input[i..].iter().all(|&b| b == b'\r' || b == b'\n') {
                break;
            }
            return Err(format!("line break inside the arguments at offset {i}"));
        }
        let depth = stack.len();
        let arg = match c {
            b'"' => {
                let (s, next) = quoted(input, i, multiline)?;
                i = next;
                Arg::Str(s)
            }
            b'{' => {
                let (data, next) = literal(input, i + 1)?;
                i = next;
                Arg::Literal {
                    data,
                    binary: false,
                }
            }
            b'~' if input.get(i + 1) == Some(&b'{') => {
                let (data, next) = literal(input, i + 2)?;
                i = next;
                Arg::Literal { data, binary: true }
            }
            b'(' => {
                stack.push(Vec::new());
                i += 1;
                continue;
            }
            b')' => {
                if depth == 1 {
                    return Err(format!("unexpected ')' at offset {i}"));
                }
                let list = stack.pop().unwrap_or_default();
                i += 1;
                Arg::List(list)
            }
            _ => {
                let start = i;
                while i < input.len()
                    && !matches!(input[i], b' ' | b'\r' | b'\n')
                    && !(input[i] == b')' && depth > 1)
                {
                    i += 1;
                }
                let atom = &input[start..i];
                if atom.eq_ignore_ascii_case(b"NIL") {
                    Arg::Nil
                } else {
                    Arg::Atom(atom.to_vec())
                }
            }
        };
        if let Some(top) = stack.last_mut() {
            top.push(arg);
        }
    }
    if stack.len() > 1 {
        return Err("missing ')'".to_string());
    }
    Ok(stack.pop().unwrap_or_default())
}

/// A quoted string starting at `input[start] == '"'`: its unescaped bytes and the
/// offset after the closing quote.
fn quoted(input: &[u8], start: usize, multiline: bool) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < input.len() {
        match input[i] {
            b'\\' if i + 1 < input.len() => {
                out.push(input[i + 1]);
                i += 2;
            }
            b'"' => return Ok((out, i + 1)),
            b'\r' | b'\n' if !multiline => {
                return Err(format!("line break in quoted string at offset {i}"));
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err(format!("unterminated quoted string at offset {start}"))
}

/// A literal whose size starts at `input[start]` (after `{`): its bytes and the
/// offset after them.
fn literal(input: &[u8], start: usize) -> Result<(Vec<u8>, usize), String> {
    let mut i = start;
    let mut size: usize = 0;
    while i < input.len() && input[i].is_ascii_digit() {
        size = size
            .checked_mul(10)
            .and_then(|s| s.checked_add(usize::from(input[i] - b'0')))
            .ok_or_else(|| format!("literal size too large at offset {start}"))?;
        i += 1;
    }
    if i == start {
        return Err(format!("literal without a size at offset {start}"));
    }
    if input.get(i) == Some(&b'+') {
        i += 1;
    }
    if input.get(i) != Some(&b'}') {
        return Err(format!("literal size not closed with '}}' at offset {i}"));
    }
    i += 1;
    if input.get(i) == Some(&b'\r') {
        i += 1;
    }
    if input.get(i) != Some(&b'\n') {
        return Err(format!("no line break after literal size at offset {i}"));
    }
    i += 1;
    let end = i
        .checked_add(size)
        .filter(|&e| e <= input.len())
        .ok_or_else(|| format!("literal of {size} bytes is cut short"))?;
    Ok((input[i..end].to_vec(), end))
}

/// The arguments as text, for messages: strings quoted, literals as `{n}` and
/// their bytes quoted, bytes outside printable ASCII escaped.
pub fn to_text(args: &[Arg]) -> String {
    let mut out = String::new();
    write_args(&mut out, args);
    out
}

fn write_args(out: &mut String, args: &[Arg]) {
    for (n, arg) in args.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        match arg {
            Arg::Nil => out.push_str("NIL"),
            Arg::Atom(a) => push_escaped(out, a),
            Arg::Str(s) => {
                out.push('"');
                push_escaped(out, s);
                out.push('"');
            }
            Arg::Literal { data, binary } => {
                let _ = write!(
                    out,
                    "{}{{{}}}\"",
                    if *binary { "~" } else { "" },
                    data.len()
                );
                push_escaped(out, data);
                out.push('"');
            }
            Arg::List(items) => {
                out.push('(');
                write_args(out, items);
                out.push(')');
            }
        }
    }
}

/// Printable ASCII as is; CR, LF, tab and other bytes as escapes.
pub fn push_escaped(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// Bytes as readable text: printable ASCII as is, CR, LF, tab and other bytes
/// escaped (quotes left alone, unlike [`push_escaped`]).
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b == b'"' {
            out.push('"');
        } else {
            push_escaped(&mut out, &[b]);
        }
    }
    out
}

/// `bytes` as an IMAP string for a command: quoted when it can be, otherwise a
/// literal (returned as the `{n}` form the command splitter understands).
pub fn quote(bytes: &[u8]) -> Vec<u8> {
    if bytes
        .iter()
        .any(|&b| matches!(b, b'\r' | b'\n' | 0) || b >= 0x80)
    {
        let mut out = format!("{{{}}}\r\n", bytes.len()).into_bytes();
        out.extend_from_slice(bytes);
        return out;
    }
    let mut out = vec![b'"'];
    for &b in bytes {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(s: &str) -> Arg {
        Arg::Atom(s.as_bytes().to_vec())
    }

    #[test]
    fn brackets_split_as_imaptest_does() {
        let args = parse(b"1 FETCH (BODY[HEADER.FIELDS (FROM)] {3}\r\nabc)", false).unwrap();
        assert_eq!(
            args,
            vec![
                atom("1"),
                atom("FETCH"),
                Arg::List(vec![
                    atom("BODY[HEADER.FIELDS"),
                    Arg::List(vec![atom("FROM")]),
                    atom("]"),
                    Arg::Literal {
                        data: b"abc".to_vec(),
                        binary: false
                    },
                ]),
            ]
        );
    }

    #[test]
    fn nil_strings_and_top_level_parenthesis() {
        let args = parse(br#"ok [x) "a\"b" nil ~{2}"#.as_slice(), false);
        assert!(args.is_err(), "cut-short literal must fail");
        let args = parse(br#"ok x) "a\"b" nil"#.as_slice(), false).unwrap();
        assert_eq!(
            args,
            vec![atom("ok"), atom("x)"), Arg::Str(b"a\"b".to_vec()), Arg::Nil]
        );
        assert_eq!(to_text(&args), r#"ok x) "a\"b" NIL"#);
    }

    #[test]
    fn unbalanced_lists_are_errors() {
        assert!(parse(b"(a (b)", false).is_err());
        assert!(parse(b"a)", false).is_ok());
        assert!(parse(b"(a))", false).is_err());
    }
}
