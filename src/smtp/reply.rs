//! SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 3463, RFC 2034).

use std::fmt;

/// An enhanced status code: class.subject.detail, e.g. 5.1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enhanced(pub u8, pub u16, pub u16);

impl fmt::Display for Enhanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// A reply: a three-digit code, an enhanced code (every reply of gannet has one,
/// except the greeting and EHLO's first line), and one or more lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: Option<Enhanced>,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, enhanced: Enhanced, text: impl Into<String>) -> Self {
        Reply {
            code,
            enhanced: Some(enhanced),
            lines: vec![text.into()],
        }
    }
}

impl fmt::Display for Reply {
    /// The wire form: `250-first\r\n250 last\r\n`, the enhanced code on every line
    /// (RFC 2034 4).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i == last { ' ' } else { '-' };
            match self.enhanced {
                Some(e) => write!(f, "{}{sep}{e} {line}\r\n", self.code)?,
                None => write!(f, "{}{sep}{line}\r\n", self.code)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_replies_mark_continuation_lines() {
        let r = Reply {
            code: 550,
            enhanced: Some(Enhanced(5, 1, 1)),
            lines: vec!["no such user".into(), "check the address".into()],
        };
        assert_eq!(
            r.to_string(),
            "550-5.1.1 no such user\r\n550 5.1.1 check the address\r\n"
        );
    }
}
