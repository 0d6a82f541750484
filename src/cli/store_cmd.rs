//! `gannet import`, `gannet export` and `gannet store verify`: the account store from
//! the command line. The formats' conventions live with the code in `store::import`
//! and `store::export`; this layer finds the account, shows progress and sums up.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use gannet::config::DOMAINS_FILE;
use gannet::store::{
    self, Account, ImportOptions, MailFormat, MessageError, OnError, Phase, Progress,
    TransferFailed, TransferSummary, account_dir,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A run shorter than this shows no progress bar, only its summary.
const BAR_AFTER: Duration = Duration::from_secs(1);

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import an mbox file (mboxrd or mboxo) into one mailbox.
    ///
    /// Every line starting with "From " starts a message. Lines matching ^>+From
    /// lose one '>' (mboxrd escaping; mboxo files are read the same way), and the
    /// blank line before the next "From " line is dropped as the separator. All
    /// other bytes are kept as they are, Status and X-Status fields included; those
    /// give the flags (Status R: \Seen; X-Status A: \Answered, F: \Flagged,
    /// T: \Draft, D: \Deleted). The internal date is the date of the "From " line,
    /// else the message's Date field, else now.
    ///
    /// A message that is empty or does not start with a header field is bad; its
    /// error gives its number and the line and byte offset of its "From " line.
    /// MAILBOX defaults to Inbox and is created if missing.
    Mbox(ImportArgs),
    /// Import a maildir, with its maildir++ folders, into mailboxes.
    ///
    /// The messages of cur/ and new/ are imported in (mtime, file name) order, with
    /// flags from the ":2," info of their file names (S \Seen, R \Answered,
    /// F \Flagged, T \Deleted, D \Draft; lowercase letters are Dovecot keywords,
    /// named in dovecot-keywords) and the file's mtime as internal date.
    ///
    /// MAILBOX defaults to the maildir's directory name, or Inbox when that is
    /// "Maildir"; it is created if missing. Maildir++ folders (".Sub.Folder"
    /// directories, names in modified UTF-7 as Dovecot and Courier write them)
    /// become mailboxes "Sub/Folder": at the top level when MAILBOX is Inbox,
    /// otherwise below MAILBOX. A bad message's error names its file.
    Maildir(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The account, as named in domains.toml.
    account: String,
    /// The mbox file or maildir directory to import.
    path: PathBuf,
    /// The mailbox to import into (see above for the default).
    mailbox: Option<String>,
    /// What to do about a bad message. With stop, the whole input is checked first
    /// and nothing is imported if a message is bad, so the import can be run again
    /// once the input is fixed. With continue, bad messages are reported and skipped.
    #[arg(long, value_enum, default_value_t = ErrorPolicy::Stop)]
    on_error: ErrorPolicy,
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export every mailbox as an mboxrd file.
    ///
    /// Mailbox "A/B" becomes DIR/A/B.mbox (a '%' in a name is written %25 and a
    /// leading '.' %2E). Each message is written as it is stored after a
    /// "From MAILER-DAEMON <internal date in asctime form, UTC>" line, with lines
    /// matching ^>*From given one more '>', a line feed added if the message does
    /// not end with one, and a blank line after it. Flags and keywords are not
    /// written: export maildir keeps them.
    Mbox(ExportArgs),
    /// Export every mailbox as a maildir, in one maildir++ tree.
    ///
    /// DIR itself is the Inbox; mailbox "A/B" is the folder DIR/.A.B (levels in
    /// modified UTF-7, a '.' inside a level as &AC4-). Messages are written to cur/
    /// as "<internal date>.<id>.gannet:2,<flags>" with the file's mtime set to the
    /// internal date; keywords get Dovecot's letters a-z, listed in
    /// dovecot-keywords (up to 26 per folder). `gannet import maildir ACCOUNT DIR
    /// Inbox` reads the tree back.
    Maildir(ExportArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    /// The account, as named in domains.toml.
    account: String,
    /// The directory to write to: created if missing, and it must be empty.
    dir: PathBuf,
    /// What to do about a message whose file cannot be read: stop, or report it and
    /// go on. (`gannet store verify --fix` repairs an account with missing files.)
    #[arg(long, value_enum, default_value_t = ErrorPolicy::Stop)]
    on_error: ErrorPolicy,
}

#[derive(Clone, Copy, ValueEnum)]
enum ErrorPolicy {
    Continue,
    Stop,
}

impl From<ErrorPolicy> for OnError {
    fn from(policy: ErrorPolicy) -> OnError {
        match policy {
            ErrorPolicy::Continue => OnError::Continue,
            ErrorPolicy::Stop => OnError::Stop,
        }
    }
}

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Check the consistency of one account or all accounts, and repair them.
    ///
    /// Checks each account in the data directory's accounts/ (or only ACCOUNT):
    /// mailbox counts, UIDs, modseqs, the mailbox tree, the search index, and that
    /// every message has its file, with the right size, and every file a message.
    /// Prints each problem after its account's name and exits 1 if there is one.
    ///
    /// With --fix, first repairs what it can and prints what it did: counts are
    /// recomputed, orphan files removed, and messages whose file is gone expunged
    /// (their content is lost; clients are told). Then checks again.
    Verify {
        /// Repair, then check again.
        #[arg(long)]
        fix: bool,
        /// Only this account [default: every account in the data directory].
        account: Option<String>,
    },
}

pub fn import(config: &Path, cmd: ImportCommand) -> ExitCode {
    let (format, args) = match cmd {
        ImportCommand::Mbox(args) => (MailFormat::Mbox, args),
        ImportCommand::Maildir(args) => (MailFormat::Maildir, args),
    };
    let mut account = match open_configured(config, "import", &args.account, Account::open) {
        Ok(account) => account,
        Err(code) => return code,
    };
    let options = ImportOptions {
        mailbox: args.mailbox,
        on_error: args.on_error.into(),
    };
    let started = Instant::now();
    let mut bar = Bar::new();
    let result = store::import(&mut account, format, &args.path, &options, &mut bar);
    bar.finish();
    summarize("import", "imported", "into", result, started)
}

pub fn export(config: &Path, cmd: ExportCommand) -> ExitCode {
    let (format, args) = match cmd {
        ExportCommand::Mbox(args) => (MailFormat::Mbox, args),
        ExportCommand::Maildir(args) => (MailFormat::Maildir, args),
    };
    let account = match open_configured(config, "export", &args.account, Account::open_read_only) {
        Ok(account) => account,
        Err(code) => return code,
    };
    let started = Instant::now();
    let mut bar = Bar::new();
    let result = store::export(&account, format, &args.dir, args.on_error.into(), &mut bar);
    bar.finish();
    summarize("export", "exported", "from", result, started)
}

pub fn run(config: &Path, cmd: StoreCommand) -> ExitCode {
    match cmd {
        StoreCommand::Verify { fix, account } => verify(config, fix, account),
    }
}

/// Opens an account with `open` (for writing, or read-only). It must be in
/// domains.toml, or already in the data directory (as the accounts localserve
/// makes at their first login are): a typo must not make a new account.
fn open_configured(
    config: &Path,
    command: &str,
    name: &str,
    open: fn(&Path, &str) -> Result<Account, gannet::store::StoreError>,
) -> Result<Account, ExitCode> {
    let cfg = super::load_config(config)?;
    let dir = account_dir(&cfg.data_dir(), name);
    if !cfg.domains.accounts.contains_key(name) && !dir.is_dir() {
        let known: Vec<&str> = cfg.domains.accounts.keys().map(String::as_str).collect();
        eprintln!(
            "gannet {command}: account {name:?} is not configured in {} (accounts: {}) and has no data in {}",
            cfg.dir.join(DOMAINS_FILE).display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
            dir.display()
        );
        return Err(ExitCode::FAILURE);
    }
    open(&dir, name).map_err(|e| {
        eprintln!("gannet {command}: account {name}: {e}");
        ExitCode::FAILURE
    })
}

/// Prints the summary line (and the error that ended the run, if one did); exits 1
/// when anything went wrong.
fn summarize(
    command: &str,
    verb: &str,
    preposition: &str,
    result: Result<TransferSummary, TransferFailed>,
    started: Instant,
) -> ExitCode {
    let (summary, failure) = match result {
        Ok(summary) => (summary, None),
        Err(failed) => (failed.done, Some(failed.error)),
    };
    if let Some(error) = &failure {
        eprintln!("gannet {command}: {error}");
    }
    if summary.stopped {
        eprintln!(
            "gannet {command}: stopped at the first bad message; --on-error continue skips bad messages"
        );
    }
    println!(
        "{verb} {} ({} bytes) {preposition} {}, {}, {:.2} seconds",
        count(summary.messages, "message"),
        summary.bytes,
        count(summary.mailboxes, "mailbox"),
        count(summary.errors, "error"),
        started.elapsed().as_secs_f64()
    );
    if failure.is_some() || summary.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn count(n: u64, what: &str) -> String {
    let plural = match (n, what.ends_with('x')) {
        (1, _) => "",
        (_, true) => "es",
        (_, false) => "s",
    };
    format!("{n} {what}{plural}")
}

fn verify(config: &Path, fix: bool, account: Option<String>) -> ExitCode {
    let cfg = match super::load_config(config) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    let data_dir = cfg.data_dir();
    // Where store::account_dir puts accounts.
    let accounts_dir = data_dir.join("accounts");
    let names = match account {
        Some(name) => vec![name],
        None => match account_names(&accounts_dir) {
            Ok(names) => names,
            Err(e) => {
                eprintln!("gannet store verify: {}: {e}", accounts_dir.display());
                return ExitCode::FAILURE;
            }
        },
    };
    if names.is_empty() {
        println!("no accounts in {}", accounts_dir.display());
    }
    let mut consistent = true;
    for name in &names {
        consistent &= verify_account(&data_dir, name, fix);
    }
    super::exit_status(consistent)
}

/// The accounts on disk: the directories in DATA_DIR/accounts, sorted; dotted names
/// are accounts being created (see `Account::open`).
fn account_names(accounts_dir: &Path) -> std::io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(accounts_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) if name.starts_with('.') => {}
            Ok(name) => names.push(name),
            Err(name) => eprintln!(
                "gannet store verify: skipping {}: not a UTF-8 account name",
                accounts_dir.join(name).display()
            ),
        }
    }
    names.sort();
    Ok(names)
}

/// Verifies one account, repairing it first with `fix`, and prints what it finds;
/// true when it is consistent.
fn verify_account(data_dir: &Path, name: &str, fix: bool) -> bool {
    let dir = account_dir(data_dir, name);
    // Opening would create a missing account: look first.
    if !dir.is_dir() {
        eprintln!(
            "gannet store verify: no account {name:?}: {} does not exist",
            dir.display()
        );
        return false;
    }
    let problems = Account::open(&dir, name).and_then(|mut account| {
        if account.recovered_at_open() > 0 {
            println!(
                "{name}: removed {} files left by an interrupted operation",
                account.recovered_at_open()
            );
        }
        if fix {
            for done in account.repair()? {
                println!("{name}: fixed: {done}");
            }
        }
        account.verify()
    });
    match problems {
        Ok(problems) if problems.is_empty() => {
            println!("{name}: no problems");
            true
        }
        Ok(problems) => {
            for problem in problems {
                println!("{name}: {problem}");
            }
            false
        }
        Err(e) => {
            eprintln!("gannet store verify: {name}: {e}");
            false
        }
    }
}

/// The progress bar, on stderr. It appears only when stderr is a terminal and the
/// run has taken a second, so short runs and scripts see just the summary.
struct Bar {
    bar: ProgressBar,
    started: Instant,
    terminal: bool,
}

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:9} [{bar:40}] {bytes}/{total_bytes} ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar {
            bar,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start(&mut self, phase: Phase, total: u64) {
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_message(match phase {
            Phase::Checking => "checking",
            Phase::Importing => "importing",
            Phase::Exporting => "exporting",
        });
    }

    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
        if self.terminal && self.bar.is_hidden() && self.started.elapsed() >= BAR_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn error(&mut self, error: &MessageError) {
        self.bar.suspend(|| eprintln!("{error}"));
    }
}
