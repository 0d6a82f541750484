//! SMTP commands as typed values, parsed from one command line (without CRLF) by
//! `grammars/smtp.pest`, with the addresses checked by the address grammar.

use std::fmt;

use pest::iterators::Pair;
use pest_derive::Parser;

use super::params::{MailParams, ParamError, RcptParams};
use super::reply::{Enhanced, Reply};
use crate::address::{AddressError, Domain, ForwardPath, Host, ReversePath};
use crate::grammar::{SyntaxError, parse_entry};
use crate::leniency::Leniencies;

#[derive(Parser)]
#[grammar = "../grammars/smtp.pest"]
pub(super) struct SmtpParser;

/// One SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(Host),
    Helo(Domain),
    Mail {
        from: ReversePath,
        params: MailParams,
    },
    Rcpt {
        to: ForwardPath,
        params: RcptParams,
    },
    Data,
    /// BDAT with the chunk size, and whether it is the LAST chunk.
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    Noop(Option<String>),
    Quit,
    StartTls,
    /// AUTH with the mechanism (uppercased) and the initial response as sent
    /// (base64, or "=" for an empty one).
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
}

/// Why a command line was refused, with the reply it gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command not recognized: {0}")]
    Unknown(String),
    #[error("syntax error in {command}: {error}")]
    Syntax {
        command: &'static str,
        error: SyntaxError,
    },
    #[error("bad address in {command}: {error}")]
    Address {
        command: &'static str,
        error: AddressError,
    },
    #[error("{command}: {error}")]
    Parameter {
        command: &'static str,
        error: ParamError,
    },
}

impl CommandError {
    /// The reply for this error (RFC 5321 4.2.2, RFC 3463, RFC 1869 for 555).
    pub fn reply(&self) -> Reply {
        let text = self.to_string();
        match self {
            CommandError::Unknown(_) => Reply::new(500, Enhanced(5, 5, 2), text),
            CommandError::Syntax { .. } => Reply::new(501, Enhanced(5, 5, 4), text),
            CommandError::Address {
                command: "MAIL FROM",
                ..
            } => Reply::new(501, Enhanced(5, 1, 7), text),
            CommandError::Address {
                command: "RCPT TO", ..
            } => Reply::new(501, Enhanced(5, 1, 3), text),
            CommandError::Address { .. } => Reply::new(501, Enhanced(5, 5, 4), text),
            CommandError::Parameter { .. } => Reply::new(555, Enhanced(5, 5, 4), text),
        }
    }
}

/// The verbs and the names errors use for them.
const VERBS: &[(&str, &str)] = &[
    ("EHLO", "EHLO"),
    ("HELO", "HELO"),
    ("MAIL", "MAIL FROM"),
    ("RCPT", "RCPT TO"),
    ("DATA", "DATA"),
    ("BDAT", "BDAT"),
    ("RSET", "RSET"),
    ("VRFY", "VRFY"),
    ("EXPN", "EXPN"),
    ("HELP", "HELP"),
    ("NOOP", "NOOP"),
    ("QUIT", "QUIT"),
    ("STARTTLS", "STARTTLS"),
    ("AUTH", "AUTH"),
];

/// Literal tokens worth naming when the grammar expects them.
const PUNCTUATION: &[&str] = &[" ", "<", ">", "=", "FROM:", "TO:", "LAST"];

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::path_token => "'<'",
        Rule::host_token => "a domain or address literal",
        Rule::esmtp_param | Rule::esmtp_keyword => "a parameter",
        Rule::esmtp_value => "a parameter value",
        Rule::chunk_size => "a chunk size",
        Rule::sasl_mech => "a SASL mechanism name",
        Rule::initial_response => "a base64 initial response or '='",
        Rule::string => "an argument",
        Rule::EOI => "end of line",
        _ => return None,
    })
}

impl Command {
    /// Parses one command line (without its CRLF). Pedantic unless `lenient` names
    /// address leniencies.
    pub fn parse(line: &str, lenient: Leniencies) -> Result<Command, CommandError> {
        let verb = line.split(' ').next().unwrap_or("");
        let Some((_, name)) = VERBS.iter().find(|(v, _)| v.eq_ignore_ascii_case(verb)) else {
            return Err(CommandError::Unknown(verb.chars().take(20).collect()));
        };
        let pair = parse_entry::<SmtpParser, _>(Rule::command_only, line, describe, PUNCTUATION)
            .map_err(|error| CommandError::Syntax {
                command: name,
                error,
            })?;
        convert(pair, line, name, lenient)
    }
}

fn convert(
    pair: Pair<'_, Rule>,
    line: &str,
    name: &'static str,
    lenient: Leniencies,
) -> Result<Command, CommandError> {
    let rule = pair.as_rule();
    if matches!(rule, Rule::mail | Rule::rcpt) {
        return path_command(rule, pair.into_inner().collect(), line, name, lenient);
    }
    let mut inner = pair.into_inner();
    let mut next_str = || inner.next().map(|p| p.as_str().to_string());
    Ok(match rule {
        Rule::ehlo | Rule::helo => {
            let token = next_str().expect("a host");
            let host = host(&token, line, name, lenient)?;
            match (rule, host) {
                (Rule::ehlo, host) => Command::Ehlo(host),
                (_, Host::Domain(d)) => Command::Helo(d),
                (_, Host::Literal(_)) => {
                    let error = SyntaxError::at_byte(
                        line,
                        "HELO ".len(),
                        vec!["a domain (HELO takes no address literal)".into()],
                    );
                    return Err(CommandError::Syntax {
                        command: name,
                        error,
                    });
                }
            }
        }
        Rule::data => Command::Data,
        Rule::bdat => {
            let size = next_str().expect("a size");
            let size = size.parse().map_err(|_| CommandError::Syntax {
                command: name,
                error: SyntaxError::at_byte(
                    line,
                    "BDAT ".len(),
                    vec!["a chunk size below 2^64".into()],
                ),
            })?;
            Command::Bdat {
                size,
                last: next_str().is_some(),
            }
        }
        Rule::rset => Command::Rset,
        Rule::vrfy => Command::Vrfy(next_str().expect("an argument")),
        Rule::expn => Command::Expn(next_str().expect("an argument")),
        Rule::help => Command::Help(next_str()),
        Rule::noop => Command::Noop(next_str()),
        Rule::quit => Command::Quit,
        Rule::starttls => Command::StartTls,
        Rule::auth => Command::Auth {
            mechanism: next_str().expect("a mechanism").to_ascii_uppercase(),
            initial: next_str(),
        },
        r => unreachable!("command rule {r:?}"),
    })
}

/// The host of EHLO or HELO, with error columns counted in the whole line.
fn host(
    token: &str,
    line: &str,
    name: &'static str,
    lenient: Leniencies,
) -> Result<Host, CommandError> {
    let offset = line[..line.len() - token.len()].chars().count();
    Host::parse(token, lenient).map_err(|e| CommandError::Address {
        command: name,
        error: e.shifted(offset),
    })
}

fn path_command(
    rule: Rule,
    pairs: Vec<Pair<'_, Rule>>,
    line: &str,
    name: &'static str,
    lenient: Leniencies,
) -> Result<Command, CommandError> {
    let mut pairs = pairs.into_iter();
    let path = pairs.next().expect("a path");
    let offset = line[..path.as_span().start()].chars().count();
    let address = |e: AddressError| CommandError::Address {
        command: name,
        error: e.shifted(offset),
    };
    let params = pairs.map(|p| {
        let mut kv = p.into_inner();
        let keyword = kv.next().expect("a keyword").as_str();
        (keyword, kv.next().map(|v| v.as_str()))
    });
    let param_error = |error| CommandError::Parameter {
        command: name,
        error,
    };
    if rule == Rule::mail {
        let from = ReversePath::parse(path.as_str(), lenient).map_err(address)?;
        let mut mail = MailParams::default();
        for (k, v) in params {
            mail.add(k, v).map_err(param_error)?;
        }
        Ok(Command::Mail { from, params: mail })
    } else {
        let to = ForwardPath::parse(path.as_str(), lenient).map_err(address)?;
        let mut rcpt = RcptParams::default();
        for (k, v) in params {
            rcpt.add(k, v).map_err(param_error)?;
        }
        Ok(Command::Rcpt { to, params: rcpt })
    }
}

impl fmt::Display for Command {
    /// The canonical command line, without CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Ehlo(h) => write!(f, "EHLO {h}"),
            Command::Helo(d) => write!(f, "HELO {d}"),
            Command::Mail { from, params } => write!(f, "MAIL FROM:{from}{params}"),
            Command::Rcpt { to, params } => write!(f, "RCPT TO:{to}{params}"),
            Command::Data => f.write_str("DATA"),
            Command::Bdat { size, last: true } => write!(f, "BDAT {size} LAST"),
            Command::Bdat { size, last: false } => write!(f, "BDAT {size}"),
            Command::Rset => f.write_str("RSET"),
            Command::Vrfy(s) => write!(f, "VRFY {s}"),
            Command::Expn(s) => write!(f, "EXPN {s}"),
            Command::Help(None) => f.write_str("HELP"),
            Command::Help(Some(s)) => write!(f, "HELP {s}"),
            Command::Noop(None) => f.write_str("NOOP"),
            Command::Noop(Some(s)) => write!(f, "NOOP {s}"),
            Command::Quit => f.write_str("QUIT"),
            Command::StartTls => f.write_str("STARTTLS"),
            Command::Auth {
                mechanism,
                initial: None,
            } => write!(f, "AUTH {mechanism}"),
            Command::Auth {
                mechanism,
                initial: Some(i),
            } => write!(f, "AUTH {mechanism} {i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, CommandError> {
        Command::parse(line, Leniencies::PEDANTIC)
    }

    fn reply(line: &str) -> String {
        parse(line).unwrap_err().reply().to_string()
    }

    #[test]
    fn commands_parse_case_insensitively_and_print_canonically() {
        for (line, canonical) in [
            ("ehlo Mail.Example.ORG", "EHLO mail.example.org"),
            ("EHLO [192.0.2.1]", "EHLO [192.0.2.1]"),
            ("helo example.org", "HELO example.org"),
            (
                "mail from:<a@example.org> size=1000 body=8bitmime",
                "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME",
            ),
            (
                "MAIL FROM:<> RET=HDRS ENVID=QQ+2B1 SMTPUTF8",
                "MAIL FROM:<> SMTPUTF8 RET=HDRS ENVID=QQ+2B1",
            ),
            ("RCPT TO:<Postmaster>", "RCPT TO:<Postmaster>"),
            (
                "RCPT TO:<b@example.org> NOTIFY=failure,delay ORCPT=rfc822;b+40example.org",
                "RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.org",
            ),
            ("bdat 1000 last", "BDAT 1000 LAST"),
            (
                "AUTH plain AGFsaWNlAHNlY3JldA==",
                "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
            ),
            ("AUTH LOGIN =", "AUTH LOGIN ="),
            ("noop", "NOOP"),
            ("VRFY alice", "VRFY alice"),
            ("StartTLS", "STARTTLS"),
        ] {
            assert_eq!(
                parse(line).map(|c| c.to_string()),
                Ok(canonical.to_string()),
                "{line}"
            );
        }
    }

    #[test]
    fn errors_name_the_command_the_column_and_the_reply() {
        assert_eq!(
            reply("MAIL FROM: <a@example.org>"),
            "501 5.5.4 syntax error in MAIL FROM: unexpected \\u{20} at 11, expected '<'\r\n"
        );
        assert_eq!(
            reply("MAIL FROM:<a@@example.org>"),
            "501 5.1.7 bad address in MAIL FROM: unexpected '@' at 14, expected a domain name or an address literal ([192.0.2.1] or [IPv6:...])\r\n"
        );
        assert_eq!(
            reply("RCPT TO:<john..doe@example.org>"),
            "501 5.1.3 bad address in RCPT TO: consecutive dots in local part at 15 (allowed only with leniency \"dot-localpart\")\r\n"
        );
        assert_eq!(
            reply("MAIL FROM:<a@example.org> FOO=1"),
            "555 5.5.4 MAIL FROM: unknown parameter FOO\r\n"
        );
        assert_eq!(
            reply("MAIL FROM:<a@example.org> SIZE=1 SIZE=2"),
            "555 5.5.4 MAIL FROM: parameter SIZE given twice\r\n"
        );
        assert_eq!(
            reply("MAIL FROM:<a@example.org> BODY=9BIT"),
            "555 5.5.4 MAIL FROM: invalid value for BODY: expected 7BIT, 8BITMIME or BINARYMIME\r\n"
        );
        assert_eq!(
            reply("RCPT TO:<a@example.org> NOTIFY=NEVER,DELAY"),
            "555 5.5.4 RCPT TO: invalid value for NOTIFY: NEVER cannot be combined with other values\r\n"
        );
        assert_eq!(
            reply("XYZZY plugh"),
            "500 5.5.2 command not recognized: XYZZY\r\n"
        );
        assert_eq!(
            reply("DATA now"),
            "501 5.5.4 syntax error in DATA: unexpected \\u{20} at 5, expected end of line\r\n"
        );
        assert!(
            reply("HELO [192.0.2.1]")
                .starts_with("501 5.5.4 syntax error in HELO: unexpected '[' at 6")
        );
        assert!(
            reply("EHLO exa_mple.org")
                .starts_with("501 5.5.4 bad address in EHLO: underscore in domain label at 9")
        );
    }
}
