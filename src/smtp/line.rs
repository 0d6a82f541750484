//! The command-line framer: finds one CRLF-terminated command line in the bytes
//! received, enforcing the line limit and CRLF, and checking UTF-8 before the
//! grammar sees the line.

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub const MAX_COMMAND_LINE: usize = 512;

/// Why a command line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line too long: at most {0} octets with CRLF (RFC 5321 4.5.3.1.4)")]
    TooLong(usize),
    #[error("bare LF in command; command lines end with CRLF (RFC 5321 2.3.8)")]
    BareLf,
    #[error("bare CR in command; CR may only appear in CRLF (RFC 5321 2.3.8)")]
    BareCr,
    #[error("invalid UTF-8 at octet {0} of the command")]
    NotUtf8(usize),
}

/// A line found at the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Length of the line without its line ending.
    pub len: usize,
    /// Bytes to remove from the buffer, line ending included.
    pub consumed: usize,
}

/// Looks for a complete line at the start of `buf`. `Ok(None)`: need more bytes.
/// On `Err`, the caller drops `consumed` bytes: the line through its LF, or for
/// [`LineError::TooLong`] without an LF yet, everything so far (and keeps dropping
/// until the next LF). With `bare_lf`, a lone LF ends a line as CRLF would.
pub fn next_line(
    buf: &[u8],
    max: usize,
    bare_lf: bool,
) -> Result<Option<Found>, (LineError, usize)> {
    let Some(lf) = buf.iter().take(max).position(|&b| b == b'\n') else {
        return if buf.len() >= max {
            Err((LineError::TooLong(max), buf.len()))
        } else {
            Ok(None)
        };
    };
    let consumed = lf + 1;
    let (len, crlf) = if lf > 0 && buf[lf - 1] == b'\r' {
        (lf - 1, true)
    } else {
        (lf, false)
    };
    if !crlf && !bare_lf {
        return Err((LineError::BareLf, consumed));
    }
    if buf[..len].contains(&b'\r') {
        return Err((LineError::BareCr, consumed));
    }
    Ok(Some(Found { len, consumed }))
}

/// The line as text, or where its UTF-8 goes wrong.
pub fn line_text(line: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(line).map_err(|e| LineError::NotUtf8(e.valid_up_to() + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_with_crlf_within_the_limit() {
        assert_eq!(
            next_line(b"NOOP\r\nQUIT\r\n", 512, false),
            Ok(Some(Found {
                len: 4,
                consumed: 6
            }))
        );
        assert_eq!(next_line(b"NOO", 512, false), Ok(None));
        assert_eq!(
            next_line(b"NOOP\nQUIT\r\n", 512, false),
            Err((LineError::BareLf, 5))
        );
        assert_eq!(
            next_line(b"NOOP\nQUIT\r\n", 512, true),
            Ok(Some(Found {
                len: 4,
                consumed: 5
            }))
        );
        assert_eq!(
            next_line(b"NO\rOP\r\n", 512, false),
            Err((LineError::BareCr, 7))
        );
        // 510 octets of command and CRLF fit; one more does not.
        let mut line = vec![b'a'; 510];
        line.extend_from_slice(b"\r\n");
        assert_eq!(
            next_line(&line, 512, false),
            Ok(Some(Found {
                len: 510,
                consumed: 512
            }))
        );
        line.insert(0, b'a');
        assert_eq!(
            next_line(&line, 512, false),
            Err((LineError::TooLong(512), 513))
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        assert_eq!(line_text(b"EHLO \xff"), Err(LineError::NotUtf8(6)));
        assert_eq!(
            line_text("EHLO bücher.example".as_bytes()),
            Ok("EHLO bücher.example")
        );
    }
}
