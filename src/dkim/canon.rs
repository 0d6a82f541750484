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
                let mut out: Vec<u8> = trim_wsp(&raw[..colon]).to_ascii_lowercase();
                out.push(b':');
                let value = raw.get(colon + 1..).unwrap_or(&[]);
                let unfolded =
                    compress_wsp(value.iter().copied().filter(|&b| b != b'\r' && b != b'\n'));
                out.extend_from_slice(trim_wsp(&unfolded));
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
                    out.extend_from_slice(trim_wsp_end(&compressed));
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

/// `bytes` without spaces and tabs at either end (only those: RFC 6376 3.4.2's
/// WSP, not form feeds or other white space).
fn trim_wsp(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_wsp(b))
        .unwrap_or(bytes.len());
    trim_wsp_end(&bytes[start..])
}

fn trim_wsp_end(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| !is_wsp(b)).map_or(0, |i| i + 1);
    &bytes[..end]
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Runs of spaces and tabs become one space.
fn compress_wsp(bytes: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut in_wsp = false;
    for b in bytes {
        if is_wsp(b) {
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
    fn relaxed_trims_only_spaces_and_tabs() {
        assert_eq!(Canon::Relaxed.body(b" \x0c\r\n"), b" \x0c\r\n");
        assert_eq!(Canon::Relaxed.header(b"X: \x0c v \r\n"), b"x:\x0c v\r\n");
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
