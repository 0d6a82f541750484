//! SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 3463, RFC 2034).

use std::fmt;

use super::command::{Rule, SmtpParser};
use crate::grammar::{SyntaxError, parse_whole};

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

impl Enhanced {
    /// Parses `class.subject.detail` as the grammar recognized it.
    fn from_recognized(text: &str) -> Option<Enhanced> {
        let mut parts = text.split('.');
        let class = parts.next()?.parse().ok()?;
        let subject = parts.next()?.parse().ok()?;
        let detail = parts.next()?.parse().ok()?;
        Some(Enhanced(class, subject, detail))
    }
}

/// One line of a reply as received, without its CRLF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    pub code: u16,
    /// Whether more lines of the same reply follow ("250-...").
    pub more: bool,
    /// The enhanced status code at the start of the text (RFC 2034), when its class
    /// agrees with the reply code's first digit.
    pub enhanced: Option<Enhanced>,
    pub text: String,
}

fn describe_reply(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::reply_code => "a reply code (200 to 559)",
        Rule::more => "'-'",
        Rule::EOI => "end of line",
        _ => return None,
    })
}

impl ReplyLine {
    /// Parses one reply line with `grammars/smtp.pest`.
    pub fn parse(line: &str) -> Result<ReplyLine, SyntaxError> {
        let pair =
            parse_whole::<SmtpParser, _>(Rule::reply_line_only, line, describe_reply, &[" "])?;
        let mut parsed = ReplyLine {
            code: 0,
            more: false,
            enhanced: None,
            text: String::new(),
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::reply_code => parsed.code = part.as_str().parse().unwrap_or_default(),
                Rule::more => parsed.more = true,
                Rule::status_code => parsed.enhanced = Enhanced::from_recognized(part.as_str()),
                Rule::text => parsed.text = part.as_str().to_string(),
                _ => {}
            }
        }
        // "250 5.0.0 ..." is text that happens to look like a code, not a code.
        if let Some(e) = parsed.enhanced
            && u16::from(e.0) != parsed.code / 100
        {
            parsed.text = match parsed.text.is_empty() {
                true => e.to_string(),
                false => format!("{e} {}", parsed.text),
            };
            parsed.enhanced = None;
        }
        Ok(parsed)
    }
}

/// Why received reply lines do not make a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("malformed reply line {line:?}: {error}")]
    Syntax { line: String, error: SyntaxError },
    #[error("reply code changed from {first} to {then} within one reply")]
    MixedCodes { first: u16, then: u16 },
}

impl Reply {
    /// The reply made of `lines`, the last of which has no `more` mark. The enhanced
    /// code is the first line's; later lines repeating it have it taken off, so
    /// the text reads as the server wrote it and `Display` gives it back.
    pub fn from_lines(lines: &[ReplyLine]) -> Result<Reply, ReplyError> {
        let first = lines.first().map_or(0, |l| l.code);
        let enhanced = lines.first().and_then(|l| l.enhanced);
        let mut reply = Reply {
            code: first,
            enhanced,
            lines: Vec::with_capacity(lines.len()),
        };
        for line in lines {
            if line.code != first {
                return Err(ReplyError::MixedCodes {
                    first,
                    then: line.code,
                });
            }
            reply.lines.push(match (line.enhanced, enhanced) {
                (Some(own), Some(e)) if own == e => line.text.clone(),
                (Some(own), _) => format!("{own} {}", line.text).trim_end().to_string(),
                (None, _) => line.text.clone(),
            });
        }
        Ok(reply)
    }

    /// 2xx.
    pub fn is_positive(&self) -> bool {
        self.code / 100 == 2
    }

    /// 5xx: the command will fail the same way if tried again.
    pub fn is_permanent(&self) -> bool {
        self.code / 100 == 5
    }

    /// All lines joined with spaces, without codes: for logs and one-line reports.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// The whole reply on one line, codes first: `550 5.1.1 no such user`.
    pub fn one_line(&self) -> String {
        match self.enhanced {
            Some(e) => format!("{} {e} {}", self.code, self.text()),
            None => format!("{} {}", self.code, self.text()),
        }
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

    #[test]
    fn reply_lines_parse_with_and_without_enhanced_codes() {
        let l = ReplyLine::parse("250-2.1.0 sender ok").unwrap();
        assert_eq!(
            (l.code, l.more, l.enhanced),
            (250, true, Some(Enhanced(2, 1, 0)))
        );
        assert_eq!(l.text, "sender ok");
        let l = ReplyLine::parse("220 mx.example.org ESMTP").unwrap();
        assert_eq!((l.code, l.more, l.enhanced), (220, false, None));
        assert_eq!(l.text, "mx.example.org ESMTP");
        assert_eq!(ReplyLine::parse("354").unwrap().text, "");
        assert!(ReplyLine::parse("250-").unwrap().more);
        // A class that disagrees with the code is text.
        let l = ReplyLine::parse("550 2.0.0 odd").unwrap();
        assert_eq!((l.enhanced, l.text.as_str()), (None, "2.0.0 odd"));
        for bad in ["", "25", "2500 x", "650 x", "250x", "abc def"] {
            assert!(ReplyLine::parse(bad).is_err(), "{bad:?}");
        }
        let e = ReplyLine::parse("25 ok").unwrap_err();
        assert_eq!(e.column, 3);
    }

    #[test]
    fn multiline_replies_assemble_and_refuse_mixed_codes() {
        let lines: Vec<ReplyLine> = [
            "550-5.1.1 no such user",
            "550-5.1.1",
            "550 5.1.1 see https://x",
        ]
        .iter()
        .map(|l| ReplyLine::parse(l).unwrap())
        .collect();
        let r = Reply::from_lines(&lines).unwrap();
        assert_eq!(r.enhanced, Some(Enhanced(5, 1, 1)));
        assert_eq!(r.lines, ["no such user", "", "see https://x"]);
        assert!(r.is_permanent());
        let mixed = [
            ReplyLine::parse("250-a").unwrap(),
            ReplyLine::parse("251 b").unwrap(),
        ];
        assert_eq!(
            Reply::from_lines(&mixed),
            Err(ReplyError::MixedCodes {
                first: 250,
                then: 251
            })
        );
    }
}
