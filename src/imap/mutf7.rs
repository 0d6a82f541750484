//! Modified UTF-7 for mailbox names (RFC 3501 5.1.3). IMAP4rev2 names are UTF-8,
//! but a client that has not enabled UTF8=ACCEPT still sends and expects this form.
//!
//! Printable US-ASCII stands for itself, except `&`, written `&-`. Everything else
//! is UTF-16 in a BASE64 variant (`,` for `/`, no padding) between `&` and `-`.
//! Every name has exactly one encoding, and [`decode`] accepts only that one: a
//! name a client sends in any other form would otherwise reach the store as a
//! second spelling of the same mailbox.

use std::fmt;

/// What is wrong with a name, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid modified UTF-7 mailbox name at octet {offset}: {problem} (RFC 3501 5.1.3)")]
pub struct Mutf7Error {
    /// 1-based octet of the name where the problem is.
    pub offset: usize,
    pub problem: Mutf7Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutf7Problem {
    /// A character outside printable US-ASCII written as itself.
    Raw(char),
    /// `&` starts an encoded run that the name ends inside of.
    Unterminated,
    /// A character in an encoded run that is not in the BASE64 alphabet.
    NotBase64(char),
    /// The run has characters left over after its last whole UTF-16 unit.
    Length,
    /// The bits after the last UTF-16 unit are not zero.
    PaddingBits,
    /// A UTF-16 surrogate without its other half.
    Surrogate(u16),
    /// A printable ASCII character encoded, which must be written as itself.
    Printable(char),
    /// An encoded run right after another: they must be one run.
    AdjacentRuns,
}

impl fmt::Display for Mutf7Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutf7Problem::Raw(c) if c.is_ascii() => write!(
                f,
                "control character 0x{:02x} must be encoded between '&' and '-'",
                *c as u32
            ),
            Mutf7Problem::Raw(c) => write!(
                f,
                "{c:?} (U+{:04X}) must be encoded between '&' and '-'",
                *c as u32
            ),
            Mutf7Problem::Unterminated => {
                write!(f, "'&' starts an encoded run with no '-' to end it")
            }
            Mutf7Problem::NotBase64(c) => write!(
                f,
                "{c:?} is not a modified BASE64 character (A-Z a-z 0-9 + ,) and an encoded run ends with '-'"
            ),
            Mutf7Problem::Length => write!(
                f,
                "the encoded run has characters left over after its last UTF-16 unit"
            ),
            Mutf7Problem::PaddingBits => {
                write!(f, "the encoded run ends with non-zero padding bits")
            }
            Mutf7Problem::Surrogate(u) => write!(f, "unpaired UTF-16 surrogate 0x{u:04X}"),
            Mutf7Problem::Printable('&') => write!(f, "'&' is encoded but must be written \"&-\""),
            Mutf7Problem::Printable(c) => {
                write!(f, "{c:?} is encoded but must be written as itself")
            }
            Mutf7Problem::AdjacentRuns => write!(
                f,
                "an encoded run follows another directly; the two must be one run"
            ),
        }
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn is_printable(c: char) -> bool {
    (' '..='~').contains(&c)
}

fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    };
    Some(v.into())
}

/// The modified UTF-7 form of a UTF-8 name.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut units: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_printable(c) {
            flush_run(&mut out, &mut units);
            match c {
                '&' => out.push_str("&-"),
                c => out.push(c),
            }
        } else {
            units.extend_from_slice(c.encode_utf16(&mut [0; 2]));
        }
    }
    flush_run(&mut out, &mut units);
    out
}

/// Writes the pending UTF-16 units as one run: one run per stretch of
/// non-printable characters is what makes the encoding unique.
fn flush_run(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let (mut acc, mut bits) = (0u32, 0u32);
    for unit in units.drain(..) {
        acc = (acc << 16) | u32::from(unit);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize].into());
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize].into());
    }
    out.push('-');
}

/// The UTF-8 form of a modified UTF-7 name, or why it is not the canonical
/// encoding of any name.
pub fn decode(name: &str) -> Result<String, Mutf7Error> {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    // Where the last non-empty encoded run ended, to catch one run split in two.
    let mut run_end = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'&' {
            if !(0x20..=0x7e).contains(&b) {
                let c = name[i..]
                    .chars()
                    .next()
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                return Err(error(i, Mutf7Problem::Raw(c)));
            }
            out.push(b.into());
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'-') {
            out.push('&');
            i += 2;
            continue;
        }
        if run_end == Some(i) {
            return Err(error(i, Mutf7Problem::AdjacentRuns));
        }
        i = decode_run(name, i, &mut out)?;
        run_end = Some(i);
    }
    Ok(out)
}

/// Decodes the run whose `&` is at `amp` into `out`; returns the index after its `-`.
/// The caller has handled `&-`, so the run is not empty.
fn decode_run(name: &str, amp: usize, out: &mut String) -> Result<usize, Mutf7Error> {
    let bytes = name.as_bytes();
    let first = amp + 1;
    // Each UTF-16 unit with the index of the character its first bit is in, so an
    // error about a unit points at the run's text for it.
    let mut units: Vec<(u16, usize)> = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut unit_start = first;
    let mut i = first;
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err(error(amp, Mutf7Problem::Unterminated));
        };
        if b == b'-' {
            break;
        }
        let Some(v) = sextet(b) else {
            let c = name[i..]
                .chars()
                .next()
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            return Err(error(i, Mutf7Problem::NotBase64(c)));
        };
        if bits == 0 {
            unit_start = i;
        }
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 16 {
            bits -= 16;
            units.push(((acc >> bits) as u16, unit_start));
            acc &= (1 << bits) - 1;
            unit_start = i;
        }
        i += 1;
    }
    let last = i - 1;
    // A whole character beyond the last unit carries nothing: some encoder's
    // mistake, and a second spelling of the name.
    if bits >= 6 {
        return Err(error(last, Mutf7Problem::Length));
    }
    if acc != 0 {
        return Err(error(last, Mutf7Problem::PaddingBits));
    }
    let mut k = 0;
    while k < units.len() {
        let (u, at) = units[k];
        let c = match u {
            0xd800..=0xdbff => match units.get(k + 1) {
                Some(&(low @ 0xdc00..=0xdfff, _)) => {
                    k += 1;
                    let c = 0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                    char::from_u32(c).expect("a surrogate pair is a scalar value")
                }
                _ => return Err(error(at, Mutf7Problem::Surrogate(u))),
            },
            0xdc00..=0xdfff => return Err(error(at, Mutf7Problem::Surrogate(u))),
            _ => char::from_u32(u.into()).expect("a non-surrogate unit is a scalar value"),
        };
        if is_printable(c) {
            return Err(error(at, Mutf7Problem::Printable(c)));
        }
        out.push(c);
        k += 1;
    }
    Ok(i + 1)
}

fn error(index: usize, problem: Mutf7Problem) -> Mutf7Error {
    Mutf7Error {
        offset: index + 1,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3501_example() {
        let encoded = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        let decoded = "~peter/mail/台北/日本語";
        assert_eq!(encode(decoded), encoded);
        assert_eq!(decode(encoded).as_deref(), Ok(decoded));
    }

    #[test]
    fn imaptest_mailbox() {
        // Dovecot imaptest's mutf7 script creates "p&AOQA5A-" and expects it back.
        assert_eq!(decode("p&AOQA5A-").as_deref(), Ok("pää"));
        assert_eq!(encode("pää"), "p&AOQA5A-");
    }

    #[test]
    fn ampersand_and_plain_ascii() {
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode("A&-B").as_deref(), Ok("A&B"));
        assert_eq!(decode("&-&-").as_deref(), Ok("&&"));
        assert_eq!(encode("INBOX.Sent Items"), "INBOX.Sent Items");
        assert_eq!(decode("").as_deref(), Ok(""));
        // `+` is just a character here, unlike in UTF-7 (RFC 2152).
        assert_eq!(decode("a+b-c").as_deref(), Ok("a+b-c"));
    }

    #[test]
    fn astral_characters_use_surrogate_pairs() {
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(decode("&2D3eAA-").as_deref(), Ok("😀"));
        // A run ended by "&-" is still one run.
        assert_eq!(encode("ä&"), "&AOQ-&-");
        assert_eq!(decode("&AOQ-&-").as_deref(), Ok("ä&"));
        // Control characters are encoded too.
        assert_eq!(encode("a\tb"), "a&AAk-b");
        assert_eq!(decode("a&AAk-b").as_deref(), Ok("a\tb"));
    }

    fn problem(name: &str) -> (usize, Mutf7Problem) {
        let e = decode(name).expect_err(name);
        (e.offset, e.problem)
    }

    #[test]
    fn rejects_non_canonical_and_broken_forms() {
        assert_eq!(problem("&AGE-"), (2, Mutf7Problem::Printable('a')));
        assert_eq!(problem("&ACY-"), (2, Mutf7Problem::Printable('&')));
        assert_eq!(problem("x&AOQ"), (2, Mutf7Problem::Unterminated));
        assert_eq!(problem("&"), (1, Mutf7Problem::Unterminated));
        assert_eq!(problem("&AOQ.-"), (5, Mutf7Problem::NotBase64('.')));
        assert_eq!(problem("&AO/-"), (4, Mutf7Problem::NotBase64('/')));
        assert_eq!(problem("&AOQ&-"), (5, Mutf7Problem::NotBase64('&')));
        // Standard UTF-7's padding '=' is not modified BASE64.
        assert_eq!(problem("&AOQ=-"), (5, Mutf7Problem::NotBase64('=')));
        // "AOR" leaves bits 01 after U+00E4.
        assert_eq!(problem("&AOR-"), (4, Mutf7Problem::PaddingBits));
        // One and two characters hold no whole unit; four hold one and a spare.
        assert_eq!(problem("&A-"), (2, Mutf7Problem::Length));
        assert_eq!(problem("&AO-"), (3, Mutf7Problem::Length));
        assert_eq!(problem("&AOQA-"), (5, Mutf7Problem::Length));
        assert_eq!(problem("&AOQ-&AOQ-"), (6, Mutf7Problem::AdjacentRuns));
        assert_eq!(problem("pä"), (2, Mutf7Problem::Raw('ä')));
        assert_eq!(problem("a\tb"), (2, Mutf7Problem::Raw('\t')));
        assert_eq!(problem("a\u{7f}"), (2, Mutf7Problem::Raw('\u{7f}')));
        // High surrogate alone, low surrogate alone, high followed by a non-low.
        assert_eq!(problem("&2D0-"), (2, Mutf7Problem::Surrogate(0xd83d)));
        assert_eq!(problem("&3gA-"), (2, Mutf7Problem::Surrogate(0xde00)));
        assert_eq!(problem("&2D0A5A-"), (2, Mutf7Problem::Surrogate(0xd83d)));
        let e = decode("&AGE-").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid modified UTF-7 mailbox name at octet 2: 'a' is encoded but must be written as itself (RFC 3501 5.1.3)"
        );
    }

    #[test]
    fn error_points_at_the_unit() {
        // The printable 'b' is the second unit, which starts in the third character.
        assert_eq!(problem("&AOQAYg-"), (4, Mutf7Problem::Printable('b')));
    }

    proptest! {
        #[test]
        fn round_trip(name in any::<String>()) {
            let encoded = encode(&name);
            prop_assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{encoded:?}");
            prop_assert_eq!(decode(&encoded), Ok(name));
        }

        #[test]
        fn decode_accepts_only_canonical_forms(name in "[&A-Za-z0-9+,\\-/=. ]{0,24}") {
            if let Ok(decoded) = decode(&name) {
                prop_assert_eq!(encode(&decoded), name);
            }
        }

        #[test]
        fn decode_accepts_only_canonical_runs(run in "[A-Za-z0-9+,]{0,12}", tail in "(-|&-|&AOQ-|x)?") {
            let name = format!("&{run}-{tail}");
            if let Ok(decoded) = decode(&name) {
                prop_assert_eq!(encode(&decoded), name);
            }
        }
    }
}
