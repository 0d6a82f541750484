//! Canonicalization (RFC 6376 3.4): how header fields and the body are turned
//! into the bytes that are hashed, "simple" or "relaxed".

/// One of the two algorithms of RFC 6376 3.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canon {
    Simple,
    Relaxed,
}

impl Canon {
    pub fn name(self) -> &'static str {
        match self {
            Canon::Simple => "simple",
            Canon::Relaxed => "relaxed",
        }
    }

    pub fn from_name(name: &str) -> Option<Canon> {
        match name.to_ascii_lowercase().as_str() {
            "simple" => Some(Canon::Simple),
            "relaxed" => Some(Canon::Relaxed),
            _ => None,
        }
    }

    /// A whole header field (name to final CRLF, as in the message), canonicalized,
    /// CRLF included.
    pub fn header(self, raw: &[u8]) -> Vec<u8> {
        match self {
            Canon::Simple => raw.to_vec(),
            Canon::Relaxed => {
                let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
                let mut out: Vec<u8> = raw[..colon].trim_ascii_end().to_ascii_lowercase();
                out.push(b':');
                let value = raw.get(colon + 1..).unwrap_or(&[]);
                out.extend(
                    compress_wsp(value.iter().copied().filter(|&b| b != b'\r' && b != b'\n'))
                        .trim_ascii(),
                );
                out.extend_from_slice(b"\r\n");
                out
            }
        }
    }

    /// The body canonicalized (`body` has CRLF line ends).
    pub fn body(self, body: &[u8]) -> Vec<u8> {
        let mut out = match self {
            Canon::Simple => body.to_vec(),
            Canon::Relaxed => {
                let mut out = Vec::with_capacity(body.len());
                for line in body.split_inclusive(|&b| b == b'\n') {
                    let (text, end) = match line.strip_suffix(b"\r\n") {
                        Some(text) => (text, &b"\r\n"[..]),
                        None => (line, &b""[..]),
                    };
                    let compressed = compress_wsp(text.iter().copied());
                    out.extend_from_slice(compressed.trim_ascii_end());
                    out.extend_from_slice(end);
                }
                out
            }
        };
        // A last line without CRLF gets one (RFC 6376 errata 3993 for relaxed; simple
        // treats it the same way).
        if !out.is_empty() && !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        while out.ends_with(b"\r\n\r\n") {
            out.truncate(out.len() - 2);
        }
        if out.is_empty() && self == Canon::Simple {
            out.extend_from_slice(b"\r\n");
        }
        if out == b"\r\n" && self == Canon::Relaxed {
            out.clear();
        }
        out
    }
}

/// Runs of spaces and tabs become one space.
fn compress_wsp(bytes: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut in_wsp = false;
    for b in bytes {
        if b == b' ' || b == b'\t' {
            if !in_wsp {
                out.push(b' ');
            }
            in_wsp = true;
        } else {
            out.push(b);
            in_wsp = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6376 3.4.5's example.
    #[test]
    fn the_rfc_example_canonicalizes_as_printed() {
        let headers: [&[u8]; 2] = [b"A: X\r\n", b"B : Y\t\r\n\tZ  \r\n"];
        let body = b" C \r\nD \t E\r\n\r\n\r\n";
        let relaxed: Vec<u8> = headers
            .iter()
            .flat_map(|h| Canon::Relaxed.header(h))
            .collect();
        assert_eq!(relaxed, b"a:X\r\nb:Y Z\r\n");
        assert_eq!(Canon::Relaxed.body(body), b" C\r\nD E\r\n");
        let simple: Vec<u8> = headers
            .iter()
            .flat_map(|h| Canon::Simple.header(h))
            .collect();
        assert_eq!(simple, b"A: X\r\nB : Y\t\r\n\tZ  \r\n");
        assert_eq!(Canon::Simple.body(body), b" C \r\nD \t E\r\n");
    }

    #[test]
    fn empty_bodies_follow_rfc_6376_3_4_3_and_3_4_4() {
        assert_eq!(Canon::Simple.body(b""), b"\r\n");
        assert_eq!(Canon::Simple.body(b"\r\n\r\n"), b"\r\n");
        assert_eq!(Canon::Relaxed.body(b""), b"");
        assert_eq!(Canon::Relaxed.body(b" \r\n\t\r\n"), b"");
        assert_eq!(Canon::Relaxed.body(b"x"), b"x\r\n");
    }
}
