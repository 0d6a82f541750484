//! Line ends as mail needs them: files and pipes often hold LF-only text, SMTP
//! and the DKIM hashes want CRLF.

/// `text` with every bare LF (one not after a CR) made CRLF, and whether it had
/// none to begin with.
pub fn crlf_line_ends(text: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(text.len() + text.len() / 30);
    let mut bare_lf = false;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' && (i == 0 || text[i - 1] != b'\r') {
            out.push(b'\r');
            bare_lf = true;
        }
        out.push(b);
    }
    (out, !bare_lf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lfs_become_crlf_and_crlf_stays() {
        assert_eq!(
            crlf_line_ends(b"a\nb\r\nc\n"),
            (b"a\r\nb\r\nc\r\n".to_vec(), false)
        );
        assert_eq!(crlf_line_ends(b"a\r\n"), (b"a\r\n".to_vec(), true));
        assert_eq!(crlf_line_ends(b"\n"), (b"\r\n".to_vec(), false));
    }
}
