//! Failures a test asks localserve for: by the local part of an address (always the
//! same answer for the same address), or at random per SMTP stage (chaos testing).
//!
//! A local part that ends in `temperror`, `permerror`, a reply code from 400 to 599,
//! `timeout` or `disconnect` fails the transaction at DATA; a sender's local part
//! that starts with `mailfrom` moves the failure to MAIL FROM, a recipient's that
//! starts with `rcptto` to RCPT TO: `rcptto451@localhost`.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::smtp::Enhanced;

/// The longest a `timeout` failure keeps a client waiting before the connection
/// is closed without a reply.
pub const MAX_SILENCE: Duration = Duration::from_secs(3600);

/// Where in the SMTP transaction a failure is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    MailFrom,
    RcptTo,
    // The reply to the message content (after DATA's final dot, or BDAT LAST).
    Data,
}

impl Stage {
    /// The name in the config.
    pub fn name(self) -> &'static str {
        match self {
            Stage::MailFrom => "mail-from",
            Stage::RcptTo => "rcpt-to",
            Stage::Data => "data",
        }
    }
}

/// What the server does instead of accepting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(with = "String")]
pub enum Failure {
    /// Replies with this code and enhanced status code.
    Reply(u16, Enhanced),
    /// Says nothing until the client gives up (at most [`MAX_SILENCE`]).
    Timeout,
    /// Closes the connection without a reply.
    Disconnect,
}

/// The failures by name, as they end a local part or appear in the config.
const NAMED: [(&str, Failure); 4] = [
    ("temperror", Failure::Reply(451, Enhanced(4, 3, 0))),
    ("permerror", Failure::Reply(550, Enhanced(5, 0, 0))),
    ("timeout", Failure::Timeout),
    ("disconnect", Failure::Disconnect),
];

impl Failure {
    /// A reply code from 400 to 599, with the enhanced code of its class.
    fn code(code: u16) -> Option<Failure> {
        let class = (code / 100) as u8;
        (400..=599)
            .contains(&code)
            .then_some(Failure::Reply(code, Enhanced(class, 0, 0)))
    }

    /// The failure a local part ends with, if any. A code counts only as the last
    /// three characters after a non-digit: `user550`, not `user1550`.
    pub fn ending(localpart: &str) -> Option<Failure> {
        let local = localpart.to_ascii_lowercase();
        if let Some((_, f)) = NAMED.iter().find(|(name, _)| local.ends_with(name)) {
            return Some(*f);
        }
        let digits = local.len().checked_sub(3)?;
        let (head, code) = local.split_at_checked(digits)?;
        let alone = !head.ends_with(|c: char| c.is_ascii_digit());
        let code = code.parse().ok().filter(|_| alone)?;
        Failure::code(code)
    }
}

impl FromStr for Failure {
    type Err = String;

    /// A name of [`NAMED`] or a reply code, as in the config.
    fn from_str(s: &str) -> Result<Failure, String> {
        if let Some((_, f)) = NAMED.iter().find(|(name, _)| *name == s) {
            return Ok(*f);
        }
        s.parse()
            .ok()
            .filter(|_| s.len() == 3)
            .and_then(Failure::code)
            .ok_or_else(|| {
                format!(
                    "{s:?} is not a failure: use temperror, permerror, timeout, disconnect or a reply code from 400 to 599"
                )
            })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMED.iter().find(|(_, named)| named == self) {
            Some((name, _)) => f.write_str(name),
            None => match self {
                Failure::Reply(code, _) => write!(f, "{code}"),
                _ => unreachable!("timeout and disconnect are named"),
            },
        }
    }
}

impl TryFrom<String> for Failure {
    type Error = String;

    fn try_from(s: String) -> Result<Failure, String> {
        s.parse()
    }
}

impl From<Failure> for String {
    fn from(f: Failure) -> String {
        f.to_string()
    }
}

/// Whose address asks for a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Sender,
    Recipient,
}

/// The failure an address's local part asks for, and at which stage.
pub fn by_localpart(localpart: &str, party: Party) -> Option<(Stage, Failure)> {
    let failure = Failure::ending(localpart)?;
    let prefixed = |prefix: &str| {
        localpart
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let stage = match party {
        Party::Sender if prefixed("mailfrom") => Stage::MailFrom,
        Party::Recipient if prefixed("rcptto") => Stage::RcptTo,
        _ => Stage::Data,
    };
    Some((stage, failure))
}

/// One `[[localserve.chaos]]` entry: a failure that happens at random.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChaosRule {
    /// Where the failure is answered: at MAIL FROM, RCPT TO, or the reply to the
    /// message content (after DATA's final dot, or BDAT LAST).
    #[schemars(example = Stage::RcptTo)]
    pub stage: Stage,
    /// How often, from 0.0 (never) to 1.0 (always), per command at that stage.
    #[schemars(example = 0.1)]
    pub probability: f64,
    /// What happens: "temperror", "permerror", "timeout", "disconnect" or a reply
    /// code from 400 to 599.
    #[schemars(example = "451")]
    pub failure: Failure,
}

/// The chaos rules with their random source.
#[derive(Debug)]
pub struct Chaos {
    rules: Vec<ChaosRule>,
    rng: Mutex<StdRng>,
}

impl Chaos {
    /// With a `seed`, the same sequence of commands fails the same way every run.
    pub fn new(rules: Vec<ChaosRule>, seed: Option<u64>) -> Chaos {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        Chaos {
            rules,
            rng: Mutex::new(rng),
        }
    }

    /// A failure for this command at `stage`, if a rule's dice say so. Each rule of
    /// the stage is tried in order; the first that hits wins.
    pub fn roll(&self, stage: Stage) -> Option<Failure> {
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.rules
            .iter()
            .filter(|r| r.stage == stage)
            .find(|r| rng.random_bool(r.probability.clamp(0.0, 1.0)))
            .map(|r| r.failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, e: (u8, u16, u16)) -> Option<Failure> {
        Some(Failure::Reply(code, Enhanced(e.0, e.1, e.2)))
    }

    #[test]
    fn local_parts_name_their_failure_by_their_ending() {
        assert_eq!(Failure::ending("temperror"), reply(451, (4, 3, 0)));
        assert_eq!(Failure::ending("Bob.PermError"), reply(550, (5, 0, 0)));
        assert_eq!(Failure::ending("user550"), reply(550, (5, 0, 0)));
        assert_eq!(Failure::ending("452"), reply(452, (4, 0, 0)));
        assert_eq!(Failure::ending("slow-timeout"), Some(Failure::Timeout));
        assert_eq!(Failure::ending("disconnect"), Some(Failure::Disconnect));
        for ordinary in ["bob", "user1550", "user399", "user600", "55", "x5a0"] {
            assert_eq!(Failure::ending(ordinary), None, "{ordinary}");
        }
    }

    #[test]
    fn prefixes_move_the_failure_to_their_command() {
        let f = reply(451, (4, 0, 0)).unwrap();
        assert_eq!(
            by_localpart("rcptto451", Party::Recipient),
            Some((Stage::RcptTo, f))
        );
        assert_eq!(
            by_localpart("MailFrom451", Party::Sender),
            Some((Stage::MailFrom, f))
        );
        assert_eq!(
            by_localpart("user451", Party::Sender),
            Some((Stage::Data, f))
        );
        assert_eq!(
            by_localpart("rcptto451", Party::Sender),
            Some((Stage::Data, f)),
            "rcptto is the recipient's prefix"
        );
        assert_eq!(by_localpart("rcptto", Party::Recipient), None);
    }

    #[test]
    fn config_names_round_trip_and_bad_ones_say_what_is_allowed() {
        for name in [
            "temperror",
            "permerror",
            "timeout",
            "disconnect",
            "421",
            "599",
        ] {
            let f: Failure = name.parse().unwrap();
            assert_eq!(f.to_string(), name);
        }
        assert_eq!(
            "600".parse::<Failure>().unwrap_err(),
            "\"600\" is not a failure: use temperror, permerror, timeout, disconnect or a reply code from 400 to 599"
        );
        assert!("0451".parse::<Failure>().is_err());
        assert!("user451".parse::<Failure>().is_err());
    }

    #[test]
    fn chaos_with_a_seed_repeats_and_follows_its_probabilities() {
        let rules = vec![
            ChaosRule {
                stage: Stage::RcptTo,
                probability: 0.5,
                failure: Failure::Disconnect,
            },
            ChaosRule {
                stage: Stage::Data,
                probability: 1.0,
                failure: Failure::Timeout,
            },
        ];
        let rolls = |seed| {
            let chaos = Chaos::new(rules.clone(), Some(seed));
            (0..200)
                .map(|_| chaos.roll(Stage::RcptTo))
                .collect::<Vec<_>>()
        };
        let first = rolls(7);
        assert_eq!(first, rolls(7), "same seed, same failures");
        let hits = first.iter().filter(|f| f.is_some()).count();
        assert!((60..140).contains(&hits), "about half of 200: {hits}");
        let chaos = Chaos::new(rules, None);
        assert_eq!(chaos.roll(Stage::Data), Some(Failure::Timeout));
        assert_eq!(chaos.roll(Stage::MailFrom), None);
    }
}
