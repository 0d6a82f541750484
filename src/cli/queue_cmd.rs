//! `gannet queue ...`: the outgoing queue of the running server, through its
//! control socket (DATA_DIR/ctl).

use std::path::Path;
use std::process::ExitCode;

use base64::Engine;
use clap::{Args, Subcommand};
use gannet::address::{Address, Domain};
use gannet::config::Config;
use gannet::ctl::{self, Answer, Request};
use gannet::leniency::Leniencies;
use gannet::store::outbox::{Filter, HoldRule, Queued, Retired, Suppressed};

use super::utc;

#[derive(Subcommand)]
pub enum QueueCommand {
    /// List queued recipients (with --retired: finished deliveries, newest first).
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Show deliveries that finished (delivered or failed) instead, kept for
        /// [queue] retired_days.
        #[arg(long)]
        retired: bool,
    },
    /// Put recipients on hold: they are not tried until released.
    Hold(Selection),
    /// Release recipients from hold; those due are tried at once.
    Release(Selection),
    /// Set when recipients are next tried: now, or after --in.
    Schedule {
        #[command(flatten)]
        selection: Selection,
        /// How long from now, e.g. 90s, 30m, 2h, 1d [default: now].
        #[arg(long = "in", value_name = "DURATION", value_parser = parse_duration)]
        delay: Option<u64>,
    },
    /// Fail recipients now, without another attempt; senders get a DSN.
    Fail(Selection),
    /// Remove recipients from the queue without telling the sender.
    Drop(Selection),
    /// Print a queued message as it will be sent.
    Dump {
        /// The message id, as `list` shows it.
        message: i64,
    },
    /// Rules that put new messages on hold, by account, sender domain or
    /// recipient domain (or all mail, with no field).
    #[command(subcommand)]
    Holdrules(HoldRulesCommand),
    /// The per-account lists of recipients mail is not sent to.
    ///
    /// A recipient goes on its account's list when delivery to it fails with
    /// 5.1.1 (no such mailbox), or when the last 3 deliveries to it all failed.
    /// Mail to a listed recipient fails at once, without an attempt, and the
    /// sender gets a DSN saying why.
    #[command(subcommand)]
    Suppress(SuppressCommand),
}

/// Which recipients a command is about. Every option given must match.
#[derive(Args)]
pub struct FilterArgs {
    /// A message id (as `list` shows it); may be given more than once.
    #[arg(long = "id", value_name = "ID")]
    ids: Vec<i64>,
    /// The submitting account; "" for the server's own mail (DSNs).
    #[arg(long)]
    account: Option<String>,
    /// The sender: an address, or a domain (example.org or @example.org).
    #[arg(long, value_name = "ADDRESS|DOMAIN")]
    from: Option<String>,
    /// The recipient: an address, or a domain.
    #[arg(long, value_name = "ADDRESS|DOMAIN")]
    to: Option<String>,
    /// Only recipients on hold.
    #[arg(long, conflicts_with = "not_held")]
    held: bool,
    /// Only recipients not on hold.
    #[arg(long)]
    not_held: bool,
}

/// A filter, or --all: a command that changes the queue needs one of them.
#[derive(Args)]
pub struct Selection {
    #[command(flatten)]
    filter: FilterArgs,
    /// Every queued recipient.
    #[arg(long)]
    all: bool,
}

#[derive(Subcommand)]
pub enum HoldRulesCommand {
    /// List the hold rules.
    List,
    /// Add a rule: new messages matching every given field are queued on hold.
    /// Without fields, all new mail is held.
    Add {
        #[arg(long)]
        account: Option<String>,
        /// The sender's domain.
        #[arg(long, value_name = "DOMAIN")]
        from_domain: Option<String>,
        /// The recipient's domain.
        #[arg(long, value_name = "DOMAIN")]
        to_domain: Option<String>,
    },
    /// Remove a rule by its id (messages it held stay held until released).
    Rm { id: i64 },
}

#[derive(Subcommand)]
pub enum SuppressCommand {
    /// List the suppressed recipients, of one account or all.
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Suppress ADDRESS for ACCOUNT's mail.
    Add { account: String, address: String },
    /// Take ADDRESS off ACCOUNT's list.
    Rm { account: String, address: String },
}

pub fn run(config: &Path, cmd: QueueCommand) -> ExitCode {
    let Ok(cfg) = super::load_config(config) else {
        return ExitCode::FAILURE;
    };
    let req = match request_for(&cfg, cmd) {
        Ok(req) => req,
        Err(e) => {
            eprintln!("gannet queue: {e}");
            return ExitCode::from(2);
        }
    };
    match ctl::request(&ctl::socket_path(&cfg.data_dir()), &req) {
        Ok(answer) => show(&req, answer),
        Err(e) => {
            eprintln!("gannet queue: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The request for `cmd`, after checking what the server cannot: that
/// accounts exist, that addresses and domains are well-formed.
fn request_for(cfg: &Config, cmd: QueueCommand) -> Result<Request, String> {
    Ok(match cmd {
        QueueCommand::List { filter, retired } => {
            let filter = filter.into_filter();
            match retired {
                true => Request::RetiredList { filter },
                false => Request::QueueList { filter },
            }
        }
        QueueCommand::Hold(s) => Request::QueueHold {
            filter: s.into_filter("hold")?,
        },
        QueueCommand::Release(s) => Request::QueueRelease {
            filter: s.into_filter("release")?,
        },
        QueueCommand::Schedule { selection, delay } => Request::QueueSchedule {
            filter: selection.into_filter("schedule")?,
            delay_seconds: delay.unwrap_or(0),
        },
        QueueCommand::Fail(s) => Request::QueueFail {
            filter: s.into_filter("fail")?,
        },
        QueueCommand::Drop(s) => Request::QueueDrop {
            filter: s.into_filter("drop")?,
        },
        QueueCommand::Dump { message } => Request::QueueDump { message },
        QueueCommand::Holdrules(HoldRulesCommand::List) => Request::HoldRules,
        QueueCommand::Holdrules(HoldRulesCommand::Add {
            account,
            from_domain,
            to_domain,
        }) => Request::HoldRuleAdd {
            rule: HoldRule {
                id: 0,
                account: known_account(cfg, account)?,
                sender_domain: domain(from_domain)?,
                recipient_domain: domain(to_domain)?,
            },
        },
        QueueCommand::Holdrules(HoldRulesCommand::Rm { id }) => Request::HoldRuleRemove { id },
        QueueCommand::Suppress(SuppressCommand::List { account }) => {
            Request::Suppressions { account }
        }
        QueueCommand::Suppress(SuppressCommand::Add { account, address }) => Request::SuppressAdd {
            account: known_account(cfg, Some(account))?,
            address: address_checked(&address)?,
        },
        QueueCommand::Suppress(SuppressCommand::Rm { account, address }) => {
            Request::SuppressRemove { account, address }
        }
    })
}

impl FilterArgs {
    fn into_filter(self) -> Filter {
        Filter {
            messages: self.ids,
            account: self.account,
            from: self.from,
            to: self.to,
            held: match (self.held, self.not_held) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
        }
    }
}

impl Selection {
    fn into_filter(self, command: &str) -> Result<Filter, String> {
        let filter = self.filter.into_filter();
        if filter.is_empty() && !self.all {
            return Err(format!(
                "{command} needs --all or a filter (--id, --account, --from, --to, --held, --not-held)"
            ));
        }
        Ok(filter)
    }
}

fn known_account(cfg: &Config, account: Option<String>) -> Result<String, String> {
    match account {
        None => Ok(String::new()),
        Some(a) if cfg.domains.accounts.contains_key(&a) => Ok(a),
        Some(a) => Err(format!("no account {a:?} in domains.toml")),
    }
}

fn domain(domain: Option<String>) -> Result<String, String> {
    let Some(d) = domain else {
        return Ok(String::new());
    };
    Domain::parse(d.trim_start_matches('@'), Leniencies::PEDANTIC)
        .map(|parsed| parsed.ascii().to_string())
        .map_err(|e| format!("{d:?} is not a domain name: {e}"))
}

fn address_checked(address: &str) -> Result<String, String> {
    Address::parse(address, Leniencies::PEDANTIC)
        .map(|a| a.to_string())
        .map_err(|e| format!("{address:?} is not an email address: {e}"))
}

/// `90`, `90s`, `30m`, `2h`, `1d` as seconds.
fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: expected a number and s, m, h or d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}; use s, m, h or d")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn show(req: &Request, answer: Answer) -> ExitCode {
    let text: String = match answer {
        Answer::Queued { recipients } => recipients.iter().map(show_queued).collect(),
        Answer::Retired { recipients } => recipients.iter().map(show_retired).collect(),
        Answer::Count { n } => format!("{} {n} recipient{}\n", done(req), plural(n)),
        Answer::Message { base64 } => return write_message(&base64),
        Answer::HoldRules { rules } => rules.iter().map(show_rule).collect(),
        Answer::HoldRule { rule } => show_rule(&rule),
        Answer::Suppressions { entries } => entries.iter().map(show_suppressed).collect(),
        Answer::Changed { changed: true } => format!("{}\n", done(req)),
        Answer::Changed { changed: false } => {
            eprintln!("gannet queue: {}", nothing_to_do(req));
            return ExitCode::FAILURE;
        }
    };
    super::write_stdout(text.as_bytes())
}

fn done(req: &Request) -> &'static str {
    match req {
        Request::QueueHold { .. } => "held",
        Request::QueueRelease { .. } => "released",
        Request::QueueSchedule { .. } => "rescheduled",
        Request::QueueFail { .. } => "failed",
        Request::QueueDrop { .. } => "dropped",
        Request::HoldRuleRemove { .. } => "hold rule removed",
        Request::SuppressAdd { .. } => "suppressed",
        Request::SuppressRemove { .. } => "no longer suppressed",
        _ => "done",
    }
}

fn nothing_to_do(req: &Request) -> String {
    match req {
        Request::HoldRuleRemove { id } => format!("no hold rule {id}"),
        Request::SuppressAdd { account, address } => {
            format!("{address} is already suppressed for {account}")
        }
        Request::SuppressRemove { account, address } => {
            format!("{address} is not suppressed for {account}")
        }
        _ => "nothing to do".into(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn account(name: &str) -> &str {
    if name.is_empty() { "(server)" } else { name }
}

fn show_queued(q: &Queued) -> String {
    let state = if q.hold { "  on hold" } else { "" };
    let mut text = format!(
        "{}  {}  from <{}>  account {}  {} bytes  queued {}  attempts {}  next {}{state}\n",
        q.message,
        q.address,
        q.sender,
        account(&q.account),
        q.size,
        utc(q.queued),
        q.attempts,
        utc(q.next_attempt),
    );
    if !q.last_error.is_empty() {
        text += &format!("    last: {}\n", q.last_error);
    }
    text + &extra(&q.extra)
}

/// The X-Gannet-Extra data line, where there is any.
fn extra(json: &str) -> String {
    match json {
        "" | "{}" => String::new(),
        json => format!("    extra: {json}\n"),
    }
}

fn show_retired(r: &Retired) -> String {
    let result = if r.delivered { "delivered" } else { "failed" };
    let later = match r.later_dsn.as_str() {
        "" => String::new(),
        dsn => format!("    later DSN: {dsn}\n"),
    };
    format!(
        "{}  {}  from <{}>  account {}  {result} {}  after {} attempt{}\n    {}\n{later}{}",
        r.message,
        r.address,
        r.sender,
        account(&r.account),
        utc(r.finished),
        r.attempts,
        plural(r.attempts as usize),
        r.last_result,
        extra(&r.extra),
    )
}

fn show_rule(rule: &HoldRule) -> String {
    let field = |name: &str, value: &str| match value {
        "" => String::new(),
        v => format!("  {name} {v}"),
    };
    let fields = [
        field("account", &rule.account),
        field("from-domain", &rule.sender_domain),
        field("to-domain", &rule.recipient_domain),
    ]
    .concat();
    let fields = if fields.is_empty() {
        "  all mail".to_string()
    } else {
        fields
    };
    format!("{}{fields}\n", rule.id)
}

fn show_suppressed(s: &Suppressed) -> String {
    let how = if s.manual { "manual" } else { "automatic" };
    format!(
        "{}  {}  {how}, since {}: {}\n",
        s.account,
        s.address,
        utc(s.created),
        s.reason
    )
}

fn write_message(base64: &str) -> ExitCode {
    let bytes = match base64::engine::general_purpose::STANDARD.decode(base64) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("gannet queue dump: the server sent an unreadable message: {e}");
            return ExitCode::FAILURE;
        }
    };
    super::write_stdout(&bytes)
}
