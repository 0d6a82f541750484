//! What a server announced in its EHLO reply (RFC 5321 4.1.1.1), as the client
//! reads it: each line after the first is a keyword and its parameters,
//! recognized by `grammars/smtp.pest`.

use super::command::{Rule, SmtpParser};
use super::reply::Reply;
use crate::grammar::parse_whole;

/// The service extensions the SMTP client uses, from one EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    pub pipelining: bool,
    /// SIZE (RFC 1870): announced, with the largest message taken (0: no limit
    /// given).
    pub size: Option<u64>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub chunking: bool,
    pub dsn: bool,
    pub starttls: bool,
    pub requiretls: bool,
    pub enhanced_status_codes: bool,
    /// The SASL mechanisms offered (AUTH), uppercased.
    pub auth: Vec<String>,
    /// LIMITS RCPTMAX (RFC 9422): recipients taken per transaction.
    pub rcpt_max: Option<usize>,
}

impl Extensions {
    /// Reads the lines after the greeting line of a positive EHLO reply. A line
    /// that is not a keyword is skipped: it announces nothing this client uses,
    /// and one odd line is no reason to give up on a server.
    pub fn from_ehlo(reply: &Reply) -> Extensions {
        let mut extensions = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            if let Some((keyword, params)) = keyword_line(line) {
                extensions.add(&keyword, &params);
            }
        }
        extensions
    }

    fn add(&mut self, keyword: &str, params: &[&str]) {
        match keyword {
            "PIPELINING" => self.pipelining = true,
            // "SIZE" alone or with an unreadable number: announced, no limit known.
            "SIZE" => self.size = Some(params.first().and_then(|p| p.parse().ok()).unwrap_or(0)),
            "8BITMIME" => self.eight_bit_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "CHUNKING" => self.chunking = true,
            "DSN" => self.dsn = true,
            "STARTTLS" => self.starttls = true,
            "REQUIRETLS" => self.requiretls = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            "AUTH" => {
                for mechanism in params {
                    let name = mechanism.to_ascii_uppercase();
                    if !self.auth.contains(&name) {
                        self.auth.push(name);
                    }
                }
            }
            "LIMITS" => self.rcpt_max = limit(params, "RCPTMAX"),
            _ => {}
        }
    }
}

/// The keyword (uppercased) and parameters of one EHLO line.
fn keyword_line(line: &str) -> Option<(String, Vec<&str>)> {
    let pair = parse_whole::<SmtpParser, _>(Rule::ehlo_line_only, line, |_| None, &[]).ok()?;
    let mut keyword = String::new();
    let mut params = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::ehlo_keyword => keyword = part.as_str().to_ascii_uppercase(),
            Rule::ehlo_param => params.push(part.as_str()),
            _ => {}
        }
    }
    Some((keyword, params))
}

/// A positive `NAME=number` among LIMITS parameters (RFC 9422 4).
fn limit(params: &[&str], name: &str) -> Option<usize> {
    params.iter().find_map(|p| {
        let (key, value) = p.split_once('=')?;
        let n: usize = value.parse().ok()?;
        (key.eq_ignore_ascii_case(name) && n > 0).then_some(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::ReplyLine;

    fn reply(lines: &[&str]) -> Reply {
        let lines: Vec<ReplyLine> = lines.iter().map(|l| ReplyLine::parse(l).unwrap()).collect();
        Reply::from_lines(&lines).unwrap()
    }

    #[test]
    fn keywords_and_parameters_are_read() {
        let r = reply(&[
            "250-mx.example.org greets you",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-8bitmime",
            "250-AUTH=LOGIN PLAIN",
            "250-AUTH SCRAM-SHA-256 PLAIN",
            "250-LIMITS MAILMAX=5 RCPTMAX=50",
            "250-X-UNKNOWN with params",
            "250-!!not a keyword",
            "250 CHUNKING",
        ]);
        let e = Extensions::from_ehlo(&r);
        assert!(e.pipelining && e.eight_bit_mime && e.chunking);
        assert!(!e.smtputf8 && !e.dsn && !e.starttls);
        assert_eq!(e.size, Some(10_240_000));
        assert_eq!(e.auth, ["LOGIN", "PLAIN", "SCRAM-SHA-256"]);
        assert_eq!(e.rcpt_max, Some(50));
    }

    #[test]
    fn size_without_a_number_means_no_known_limit() {
        let e = Extensions::from_ehlo(&reply(&["250-x", "250 SIZE"]));
        assert_eq!(e.size, Some(0));
        assert_eq!(
            Extensions::from_ehlo(&reply(&["250 x"])),
            Extensions::default()
        );
    }
}
