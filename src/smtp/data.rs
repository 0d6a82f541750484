//! The DATA stream (RFC 5321 4.1.1.4, 4.5.2): dot-unstuffing, the end of data, and the
//! checks that keep a message honest on its way in.
//!
//! Only CRLF "." CRLF ends the data. A bare LF or bare CR anywhere is a violation
//! (SMTP smuggling hides a second message behind "\n.\n" for servers that end data
//! there), as are over-long lines, 8-bit bytes without BODY=8BITMIME, non-ASCII
//! headers without SMTPUTF8, and NUL bytes. The decoder cannot answer in the middle
//! of the data, so it records the first violation, stops collecting the message, and
//! goes on reading to the real end; the session then rejects the message with it.

use super::params::Body;

/// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF.
pub const MAX_LINE: usize = 998;

/// What the transaction allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataRules {
    pub max_size: u64,
    /// BODY= of MAIL FROM; `None` is 7BIT.
    pub body: Option<Body>,
    pub smtputf8: bool,
    /// The listener's "bare-lf" leniency: a bare LF in a line ending counts as CRLF.
    /// A "." line ended by a bare LF is refused even then: that is how smuggling
    /// attempts end their first message.
    pub bare_lf: bool,
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("message larger than the {0} bytes allowed")]
    TooLarge(u64),
    #[error("bare LF in line {0}; lines must end with CRLF (RFC 5321 2.3.8)")]
    BareLf(u64),
    #[error("bare CR in line {0}; CR may only appear in CRLF (RFC 5321 2.3.8)")]
    BareCr(u64),
    #[error(
        "line {0} is \".\" next to a bare LF; data ends only with CRLF.CRLF (RFC 5321 4.1.1.4)"
    )]
    DotBareLf(u64),
    #[error("line {0} is longer than 1000 octets with its CRLF (RFC 5321 4.5.3.1.6)")]
    LineTooLong(u64),
    #[error("8-bit byte in line {0} without BODY=8BITMIME (RFC 6152)")]
    EightBit(u64),
    #[error("non-ASCII header in line {0} without SMTPUTF8 (RFC 6531 3.2)")]
    Utf8Header(u64),
    #[error("NUL byte in line {0}; not allowed in text (RFC 6152 3)")]
    Nul(u64),
}

impl DataError {
    /// The reply code and enhanced code (RFC 3463).
    pub fn codes(self) -> (u16, super::Enhanced) {
        use super::Enhanced;
        match self {
            DataError::TooLarge(_) => (552, Enhanced(5, 3, 4)),
            DataError::EightBit(_) | DataError::Utf8Header(_) => (554, Enhanced(5, 6, 7)),
            _ => (550, Enhanced(5, 6, 0)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    LineStart,
    /// A "." at the start of a line: stuffing, or the end if CRLF follows.
    Dot,
    DotCr,
    Mid,
    Cr,
    Done,
}

/// Decodes the DATA stream as it arrives.
#[derive(Debug)]
pub struct DataDecoder {
    rules: DataRules,
    state: State,
    size: u64,
    line: u64,
    line_len: usize,
    in_headers: bool,
    /// Whether the previous line ended with a bare LF: then a "." line cannot end
    /// the data, however it ends ("\n.\r\n" is a smuggling pattern too).
    after_bare_lf: bool,
    /// BDAT chunks (RFC 3030): no dot-stuffing and no end marker; the session says
    /// where the message ends.
    chunked: bool,
    error: Option<DataError>,
}

/// How far [`DataDecoder::feed`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Bytes of the input taken; the rest belongs to what follows the data
    /// (pipelined commands).
    pub consumed: usize,
    /// Whether CRLF.CRLF was reached.
    pub done: bool,
}

impl DataDecoder {
    pub fn new(rules: DataRules) -> Self {
        DataDecoder {
            rules,
            state: State::LineStart,
            size: 0,
            line: 1,
            line_len: 0,
            in_headers: true,
            after_bare_lf: false,
            chunked: false,
            error: None,
        }
    }

    /// A decoder for BDAT chunks: the same checks as DATA for 7BIT and 8BITMIME, no
    /// dot-stuffing, no end marker. With BODY=BINARYMIME the bytes pass as they are
    /// (only the size is limited): binary content has no lines (RFC 3030 3).
    pub fn chunked(rules: DataRules) -> Self {
        DataDecoder {
            chunked: true,
            ..DataDecoder::new(rules)
        }
    }

    /// Takes bytes of the stream, appending the message bytes to `out` (unstuffed,
    /// with CRLF line endings) until the end of data or the first violation.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Fed {
        for (i, &b) in input.iter().enumerate() {
            self.step(b, out);
            if self.state == State::Done {
                return Fed {
                    consumed: i + 1,
                    done: true,
                };
            }
        }
        Fed {
            consumed: input.len(),
            done: false,
        }
    }

    /// After the end of data: the message size, or why it was refused.
    pub fn finish(mut self) -> Result<u64, DataError> {
        // A chunked message may end after a CR, which then was a bare CR.
        if self.chunked && self.state == State::Cr && !self.binary() {
            self.fail(DataError::BareCr(self.line));
        }
        self.error.map_or(Ok(self.size), Err)
    }

    /// The first violation so far, so a BDAT chunk can be refused as soon as it ends.
    pub fn error(&self) -> Option<DataError> {
        self.error
    }

    fn binary(&self) -> bool {
        self.chunked && self.rules.body == Some(Body::BinaryMime)
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.binary() {
            self.emit(&[b], out);
            return;
        }
        self.state = match (self.state, b) {
            (State::LineStart, b'.') if !self.chunked => State::Dot,
            (State::Dot, b'\r') => State::DotCr,
            (State::DotCr, b'\n') if !self.after_bare_lf => State::Done,
            (State::Dot | State::DotCr, b'\n') => {
                self.fail(DataError::DotBareLf(self.line));
                self.end_line(out, true)
            }
            (State::DotCr, _) => {
                // The stuffing dot was real: the line is "." followed by a bare CR.
                self.fail(DataError::BareCr(self.line));
                State::Mid
            }
            // A stuffing dot is dropped (4.5.2); the byte after it is content.
            (State::LineStart | State::Mid, b'\r') => State::Cr,
            (State::Cr, b'\n') => self.end_line(out, false),
            (State::Cr, _) => {
                self.fail(DataError::BareCr(self.line));
                self.content(b, out)
            }
            (State::LineStart | State::Mid, b'\n') => {
                if !self.rules.bare_lf {
                    self.fail(DataError::BareLf(self.line));
                }
                self.end_line(out, true)
            }
            (State::Dot | State::LineStart | State::Mid, _) => self.content(b, out),
            (State::Done, _) => State::Done,
        };
    }

    fn content(&mut self, b: u8, out: &mut Vec<u8>) -> State {
        self.line_len += 1;
        if self.line_len == MAX_LINE + 1 {
            self.fail(DataError::LineTooLong(self.line));
        }
        if b == 0 && self.rules.body != Some(Body::BinaryMime) {
            self.fail(DataError::Nul(self.line));
        }
        if b >= 0x80 {
            if self.in_headers && !self.rules.smtputf8 {
                self.fail(DataError::Utf8Header(self.line));
            }
            if !self.in_headers && self.rules.body.is_none_or(|body| body == Body::SevenBit) {
                self.fail(DataError::EightBit(self.line));
            }
        }
        self.emit(&[b], out);
        State::Mid
    }

    fn end_line(&mut self, out: &mut Vec<u8>, bare_lf: bool) -> State {
        self.after_bare_lf = bare_lf;
        if self.line_len == 0 {
            self.in_headers = false;
        }
        self.emit(b"\r\n", out);
        self.line += 1;
        self.line_len = 0;
        State::LineStart
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.error.is_some() {
            return;
        }
        self.size += bytes.len() as u64;
        if self.size > self.rules.max_size {
            self.fail(DataError::TooLarge(self.rules.max_size));
            return;
        }
        out.extend_from_slice(bytes);
    }

    fn fail(&mut self, e: DataError) {
        self.error.get_or_insert(e);
    }
}

/// The message as DATA sends it: lines starting with "." get another, and CRLF.CRLF
/// ends it. `message` must use CRLF line endings; a missing final CRLF is added.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !message.is_empty() && !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const RULES: DataRules = DataRules {
        max_size: 1 << 20,
        body: None,
        smtputf8: false,
        bare_lf: false,
    };

    /// Feeds `input` in one piece; returns the message, what follows the data, and
    /// the outcome.
    fn decode(
        rules: DataRules,
        input: &[u8],
    ) -> (Vec<u8>, Vec<u8>, Option<Result<u64, DataError>>) {
        let mut d = DataDecoder::new(rules);
        let mut out = Vec::new();
        let fed = d.feed(input, &mut out);
        let rest = input[fed.consumed..].to_vec();
        (out, rest, fed.done.then(|| d.finish()))
    }

    #[test]
    fn unstuffs_and_stops_at_crlf_dot_crlf_leaving_pipelined_commands() {
        let (msg, rest, end) = decode(RULES, b"Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n");
        assert_eq!(msg, b"Subject: x\r\n\r\n.leading dot\r\n");
        assert_eq!(rest, b"QUIT\r\n");
        assert_eq!(end, Some(Ok(msg.len() as u64)));
    }

    #[test]
    fn smuggling_variants_never_end_the_data_and_are_refused() {
        // Each hides "MAIL FROM" after a fake end; only the final CRLF.CRLF ends it.
        for fake in [
            &b"\n.\n"[..],
            b"\n.\r\n",
            b"\r.\r",
            b"\r\n.\r",
            b"\r\n.\n",
            b"\0\r\n.\r\n",
        ] {
            let mut input = b"Subject: a\r\n\r\nbody".to_vec();
            input.extend_from_slice(fake);
            input.extend_from_slice(b"MAIL FROM:<evil@example.org>\r\n.\r\n");
            let (_, rest, end) = decode(RULES, &input);
            if fake == b"\0\r\n.\r\n" {
                // A NUL before a real end: the data ends there, and is refused.
                assert_eq!(end, Some(Err(DataError::Nul(3))));
                continue;
            }
            assert!(rest.is_empty(), "{fake:?} ended the data early");
            assert!(
                matches!(end, Some(Err(_))),
                "{fake:?} was accepted: {end:?}"
            );
        }
    }

    #[test]
    fn bare_lf_leniency_converts_but_a_dot_line_with_bare_lf_is_still_refused() {
        let lenient = DataRules {
            bare_lf: true,
            ..RULES
        };
        let (msg, _, end) = decode(lenient, b"a\nb\r\n.\r\n");
        assert_eq!((msg.as_slice(), end), (&b"a\r\nb\r\n"[..], Some(Ok(6))));
        let (_, _, end) = decode(lenient, b"a\r\n.\nb\r\n.\r\n");
        assert_eq!(end, Some(Err(DataError::DotBareLf(2))));
        let (_, rest, end) = decode(lenient, b"a\n.\r\nQUIT\r\n.\r\n");
        assert_eq!(
            (rest.len(), end),
            (0, Some(Err(DataError::DotBareLf(2)))),
            "no early end after a bare LF"
        );
    }

    #[test]
    fn eight_bit_needs_8bitmime_and_utf8_headers_need_smtputf8() {
        let body8 = "Subject: x\r\n\r\nGrüße\r\n.\r\n".as_bytes();
        assert_eq!(decode(RULES, body8).2, Some(Err(DataError::EightBit(3))));
        let eight = DataRules {
            body: Some(Body::EightBitMime),
            ..RULES
        };
        assert!(matches!(decode(eight, body8).2, Some(Ok(_))));
        let header8 = "Subject: Grüße\r\n\r\nx\r\n.\r\n".as_bytes();
        assert_eq!(
            decode(eight, header8).2,
            Some(Err(DataError::Utf8Header(1)))
        );
        let utf8 = DataRules {
            smtputf8: true,
            ..eight
        };
        assert!(matches!(decode(utf8, header8).2, Some(Ok(_))));
    }

    #[test]
    fn size_and_line_limits() {
        let small = DataRules {
            max_size: 10,
            ..RULES
        };
        assert_eq!(
            decode(small, b"0123456789abc\r\n.\r\n").2,
            Some(Err(DataError::TooLarge(10)))
        );
        let mut long = vec![b'a'; MAX_LINE];
        long.extend_from_slice(b"\r\n.\r\n");
        assert!(
            matches!(decode(RULES, &long).2, Some(Ok(_))),
            "998 octets plus CRLF is fine"
        );
        long.insert(0, b'a');
        assert_eq!(decode(RULES, &long).2, Some(Err(DataError::LineTooLong(1))));
    }

    #[test]
    fn bdat_chunks_get_the_text_checks_unless_binarymime() {
        let chunked = |rules: DataRules, chunks: &[&[u8]]| {
            let mut d = DataDecoder::chunked(rules);
            let mut out = Vec::new();
            for c in chunks {
                assert!(!d.feed(c, &mut out).done, "chunks have no end marker");
            }
            (out, d.finish())
        };
        let eight = DataRules {
            body: Some(Body::EightBitMime),
            ..RULES
        };
        let (out, end) = chunked(eight, &[b"Subject: x\r\n\r\n.not stuffed\r", b"\n.\r\n"]);
        assert_eq!(
            (out.as_slice(), end),
            (&b"Subject: x\r\n\r\n.not stuffed\r\n.\r\n"[..], Ok(31))
        );
        assert_eq!(chunked(eight, &[b"a\nb\r\n"]).1, Err(DataError::BareLf(1)));
        assert_eq!(
            chunked(eight, &[b"a\r\nb\r"]).1,
            Err(DataError::BareCr(2)),
            "a final lone CR"
        );
        assert_eq!(
            chunked(RULES, &[b"a\r\n\r\n\xff\r\n"]).1,
            Err(DataError::EightBit(3))
        );
        let binary = DataRules {
            body: Some(Body::BinaryMime),
            max_size: 6,
            ..RULES
        };
        assert_eq!(
            chunked(binary, &[b"a\nb\0", b"\r"]),
            (b"a\nb\0\r".to_vec(), Ok(5))
        );
        assert_eq!(
            chunked(binary, &[b"1234567"]).1,
            Err(DataError::TooLarge(6))
        );
    }

    #[test]
    fn an_empty_message_and_split_input() {
        assert_eq!(decode(RULES, b".\r\n").2, Some(Ok(0)));
        let input = b"a\r\n..b\r\n.\r\n";
        let mut d = DataDecoder::new(RULES);
        let mut out = Vec::new();
        for byte in input.chunks(1) {
            d.feed(byte, &mut out);
        }
        assert_eq!(out, b"a\r\n.b\r\n");
    }

    fn text_line() -> impl Strategy<Value = Vec<u8>> {
        // Printable ASCII lines, often starting with dots, never with CR or LF.
        ("[.]{0,3}[ -~]{0,40}").prop_map(String::into_bytes)
    }

    proptest! {
        /// decode(dot_stuff(m)) == m for every CRLF message, fed in any split.
        #[test]
        fn stuffing_then_decoding_gives_the_message_back(
            lines in proptest::collection::vec(text_line(), 0..20),
            split in 1usize..64,
        ) {
            let message: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain(*b"\r\n")).collect();
            let wire = dot_stuff(&message);
            let mut d = DataDecoder::new(DataRules { body: Some(Body::EightBitMime), ..RULES });
            let mut out = Vec::new();
            let mut done = false;
            for chunk in wire.chunks(split) {
                let fed = d.feed(chunk, &mut out);
                done = fed.done;
            }
            prop_assert!(done);
            prop_assert_eq!(d.finish(), Ok(message.len() as u64));
            prop_assert_eq!(out, message);
        }
    }
}
