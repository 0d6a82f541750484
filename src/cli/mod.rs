//! The command line: one subcommand per job. Exit status: 0 done, 1 failed (for
//! example a config with errors), 2 usage errors and commands not available yet.

mod admin_cmd;
mod auth_cmd;
mod config_cmd;
mod dkim_cmd;
mod dmarc_cmd;
mod queue_cmd;
mod serve_cmd;
mod spf_cmd;
mod store_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gannet::config::Config;
use gannet::dns::{Resolver, StaticZone, SystemResolver};
use gannet::logging;

/// Commands that later work adds, and what they arrive with. Named here so that
/// `gannet queue` says it is not available yet instead of "unrecognized subcommand".
const PLANNED: &[(&str, &str)] = &[("sendmail", "outgoing delivery")];

const AFTER_HELP: &str = "Planned, not available yet: sendmail.\n\n\
A first try: `gannet localserve` writes a local configuration and serves SMTP on port 1025 and \
submission on 1587 (STARTTLS) and 1465 (TLS), IMAP on 1143 (STARTTLS) and 1993 (TLS), login \
gannet@localhost (or any NAME@localhost), password gannetgannet; HTTP (1080) follows.";

#[derive(Parser)]
#[command(
    name = "gannet",
    version,
    about = "An all-in-one mail server: SMTP, IMAP4rev2, SPF/DKIM/DMARC, webmail, and a local server for testing mail clients.",
    after_help = AFTER_HELP
)]
struct Cli {
    /// Path of gannet.toml; domains.toml is read from the same directory.
    #[arg(
        short,
        long,
        global = true,
        env = "GANNET_CONFIG",
        default_value = "/etc/gannet/gannet.toml"
    )]
    config: PathBuf,
    /// Answer DNS lookups from this zone file (RFC 1035 master-file syntax:
    /// $ORIGIN, $TTL, relative names, A, AAAA, MX, TXT, PTR, CNAME, TLSA) instead of
    /// the network, to try records before publishing them. Names not in the file do
    /// not exist.
    #[arg(long, global = true, value_name = "FILE")]
    dns_zone: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the mail server with the configuration in --config.
    ///
    /// Loads and checks gannet.toml and domains.toml, sets up logging, and serves
    /// every listener's SMTP and IMAP services until Ctrl-C or SIGTERM: incoming mail
    /// for the configured domains (smtp, with STARTTLS when the listener has a
    /// certificate), delivered to the accounts' Inboxes, submission with AUTH
    /// (submission with STARTTLS, submissions with TLS from the first byte), and IMAP
    /// (imap with STARTTLS, imaps with TLS from the first byte). HTTP is listed as
    /// not available yet: it arrives with later work. Exits 1 when the
    /// configuration is invalid or a port cannot be had.
    ///
    /// Incoming mail (smtp, not from loopback) is checked with iprev, SPF, DKIM and
    /// DMARC; the results go on top of the message as Authentication-Results and
    /// Received-SPF. DMARC p=reject gets 550 5.7.1, quarantine goes to Junk, and a
    /// DNS failure that leaves the outcome open gets 451 4.4.3. DNS is the system's
    /// resolver, or the zone file of --dns-zone.
    ///
    /// Submitted mail for other domains goes into the outgoing queue (DATA_DIR/queue)
    /// and out to the recipient domains' MX hosts, with STARTTLS where offered.
    /// Temporary failures are retried after 7.5 minutes, then twice as long each
    /// time, 8 attempts in all ([queue] in gannet.toml); the sender gets a "delayed"
    /// DSN after the fifth failed attempt and a "failed" DSN when delivery fails.
    Serve,
    /// Run a local mail server for testing mail clients and applications.
    ///
    /// The first run writes a complete configuration to --dir: one listener on --ip
    /// with the standard ports plus --port-offset (SMTP 1025, submission 1587 and
    /// 1465, IMAP 1143 and 1993, HTTP 1080), a self-signed certificate for localhost
    /// (tls/localhost.crt, renewed before it expires), the domain localhost with a
    /// DKIM key (dkim/localhost.pem, selector gannet: submitted mail From an
    /// @localhost address is signed with it), and the account gannet. Later runs use that configuration as it is; delete
    /// gannet.toml there to regenerate it. With --initonly it only writes (or
    /// checks) the configuration. Stops on Ctrl-C or SIGTERM.
    ///
    /// Logins: gannet@localhost with password gannetgannet, with or without TLS.
    /// Any other NAME@localhost logs in with the same password into an account of
    /// its own (NAME), made at its first login: one mailbox set per test or user.
    ///
    /// Mail to any address, at localhost or any other domain, is accepted (on SMTP
    /// and on submission) and stored in the account its local part names if that
    /// account exists, otherwise in gannet. Submission accepts any MAIL FROM and
    /// From address. A submitted message to another domain goes through the
    /// outgoing queue, which delivers everything to this server's own SMTP port:
    /// failures its recipients ask for (below) happen there, and come back as
    /// retries (after 5, 10, 20, 40, 80 s) and DSNs ("delayed" after the fifth
    /// failed attempt, "failed" at the end) to the sender's account; failures for
    /// @localhost recipients and for senders happen in the submission session.
    ///
    /// Failures on request, by local part: an address ending in "temperror" gets
    /// 451 4.3.0, "permerror" 550 5.0.0, a code from 400 to 599 ("user550") that code
    /// with the enhanced code of its class, "timeout" no reply until the client gives
    /// up (at most an hour), "disconnect" a closed connection; 421 also closes. The
    /// failure comes at DATA (after the message), for a sender or a recipient
    /// address; a sender starting with "mailfrom" ("mailfrom451@example.org") moves
    /// it to MAIL FROM, a recipient starting with "rcptto" ("rcptto451@localhost")
    /// to RCPT TO. Random failures per stage, for chaos testing, go in gannet.toml:
    /// [[localserve.chaos]] with stage = "mail-from" | "rcpt-to" | "data",
    /// probability = 0.0 to 1.0 and failure = "temperror" | "permerror" | "timeout"
    /// | "disconnect" | a code; [localserve] chaos_seed = N repeats the same rolls.
    ///
    /// Pedantic, as in production: input the RFCs forbid is refused with a reply
    /// that says what to fix. --lenient lets through what a named leniency allows
    /// (all of them without a list; see `gannet config describe` for each).
    Localserve(serve_cmd::LocalserveArgs),
    /// Set up a new server for a first email address, with DNS records to add.
    ///
    /// Not available yet: exits with status 2.
    Quickstart {
        /// The first email address, for example you@example.org.
        address: Option<String>,
    },
    /// Check, describe and create configuration files.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Import messages from an mbox file or a maildir into an account.
    ///
    /// ACCOUNT is an account of domains.toml; its mail is in the data directory of
    /// gannet.toml. Bad messages are reported with their position (mbox: message
    /// number, line and byte offset; maildir: file); --on-error says whether the
    /// import stops or skips them. Messages are committed 100 at a time. Prints a
    /// summary; exits 1 if a message was bad or the import failed.
    #[command(subcommand)]
    Import(store_cmd::ImportCommand),
    /// Export every mailbox of an account as mbox files or a maildir tree.
    ///
    /// Messages are written byte for byte as stored, into a new or empty directory.
    /// Prints a summary; exits 1 if a message could not be read or the export failed.
    #[command(subcommand)]
    Export(store_cmd::ExportCommand),
    /// Check and repair account storage.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Set an account's password, read from the terminal (twice, without echo) or
    /// as one line from stdin.
    ///
    /// Stores what each login mechanism needs (an argon2id hash for PLAIN and
    /// LOGIN, SCRAM-SHA-1/256 salted keys, CRAM-MD5 state), never the password.
    /// Works while the server runs. Exits 1 if the account is unknown or the
    /// password is unusable (empty, or characters SASLprep refuses).
    #[command(name = "setaccountpassword")]
    SetAccountPassword(auth_cmd::PasswordArgs),
    /// Show the latest login attempts, of one account or all, newest first.
    ///
    /// Identical attempts (same protocol, mechanism, login name, remote IP, TLS,
    /// client and result) are one line with a count. Records are kept 30 days and
    /// at most 10,000 per account.
    #[command(name = "loginattempts")]
    LoginAttempts(auth_cmd::LoginAttemptsArgs),
    /// Operator tools that act on the data directory directly: `imapserve` serves
    /// one IMAP session on stdin and stdout, logged in as an account, for migrations.
    #[command(subcommand)]
    Admin(admin_cmd::AdminCommand),
    /// DKIM (RFC 6376, 8301, 8463): generate keys and their DNS records, sign and
    /// verify messages, look up key records.
    #[command(subcommand)]
    Dkim(dkim_cmd::DkimCommand),
    /// DMARC (RFC 7489, with RFC 9989's np=, psd= and t=): look up a domain's
    /// policy, parse a record, evaluate SPF, DKIM and DMARC for a message.
    #[command(subcommand)]
    Dmarc(dmarc_cmd::DmarcCommand),
    /// SPF (RFC 7208): check a host against a domain's policy, parse or look up a
    /// record.
    #[command(subcommand)]
    Spf(spf_cmd::SpfCommand),
    /// Manage the outgoing queue of the running server: list, hold, release,
    /// schedule, fail, drop and dump queued mail; hold rules; suppression lists.
    ///
    /// Works through the server's control socket, DATA_DIR/ctl (only the user the
    /// server runs as may open it), so `gannet serve` or `gannet localserve` must be
    /// running with this --config; for localserve that is
    /// DIR/gannet.toml. Commands that change the queue need a filter or --all. Exits 1
    /// when the server cannot be reached or refuses, 2 on usage errors.
    #[command(subcommand)]
    Queue(queue_cmd::QueueCommand),
    /// Print the version.
    Version,
    #[command(external_subcommand)]
    Other(Vec<String>),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve => serve_cmd::serve(&cli.config, &Dns::new(cli.dns_zone.clone())),
        Command::Localserve(args) => serve_cmd::localserve(&args),
        Command::Quickstart { .. } => not_available("quickstart", "a later issue"),
        Command::Config(cmd) => config_cmd::run(&cli.config, cmd),
        Command::Import(cmd) => store_cmd::import(&cli.config, cmd),
        Command::Export(cmd) => store_cmd::export(&cli.config, cmd),
        Command::Store(cmd) => store_cmd::run(&cli.config, cmd),
        Command::SetAccountPassword(args) => auth_cmd::set_password(&cli.config, &args),
        Command::LoginAttempts(args) => auth_cmd::login_attempts(&cli.config, &args),
        Command::Admin(cmd) => admin_cmd::run(&cli.config, cmd),
        Command::Dkim(cmd) => dkim_cmd::run(&Dns::new(cli.dns_zone), cmd),
        Command::Dmarc(cmd) => dmarc_cmd::run(&Dns::new(cli.dns_zone), cmd),
        Command::Spf(cmd) => spf_cmd::run(&Dns::new(cli.dns_zone), cmd),
        Command::Queue(cmd) => queue_cmd::run(&cli.config, cmd),
        Command::Version => {
            println!("gannet {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Other(args) => {
            let name = args.first().map(String::as_str).unwrap_or("");
            match PLANNED.iter().find(|(cmd, _)| *cmd == name) {
                Some((cmd, with)) => not_available(cmd, with),
                None => {
                    eprintln!(
                        "error: unrecognized subcommand '{name}'\n\nFor more information, try 'gannet --help'."
                    );
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// Exit status 0 when `success`, else 1.
fn exit_status(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Says plainly that a command does not work yet.
fn not_available(command: &str, arrives_with: &str) -> ExitCode {
    eprintln!("gannet {command}: not available yet (arrives with {arrives_with})");
    ExitCode::from(2)
}

/// Prints config errors, one per line (hints indented below), and a count.
fn print_config_errors(errors: &[gannet::config::ConfigError]) {
    for e in errors {
        eprintln!("{e}");
    }
    let n = errors.len();
    eprintln!(
        "{n} error{} in the configuration",
        if n == 1 { "" } else { "s" }
    );
}

/// Loads the config and starts logging, or prints the errors.
fn load_config(path: &Path) -> Result<Config, ExitCode> {
    let cfg = Config::load(path).map_err(|errors| {
        print_config_errors(&errors);
        ExitCode::FAILURE
    })?;
    if let Err(e) = logging::init(&cfg.static_config.log.settings()) {
        eprintln!("gannet: {e}");
        return Err(ExitCode::FAILURE);
    }
    Ok(cfg)
}

/// Where a command's DNS answers come from: the network, or `--dns-zone FILE`.
/// The message on stdin with CRLF line ends (a bare LF becomes CRLF), and whether
/// it had only CRLF line ends to begin with.
fn read_message() -> Result<(Vec<u8>, bool), String> {
    let mut input = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut input)
        .map_err(|e| format!("reading the message from stdin: {e}"))?;
    Ok(gannet::message::crlf_line_ends(&input))
}

pub struct Dns {
    zone: Option<PathBuf>,
}

impl Dns {
    fn new(zone: Option<PathBuf>) -> Self {
        Dns { zone }
    }

    /// Runs `f` on a runtime with the resolver. A zone file that does not load,
    /// or a system configuration that cannot be read, is reported and exits 1.
    fn run(&self, f: impl AsyncFnOnce(&dyn Resolver) -> ExitCode) -> ExitCode {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("gannet: starting the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        runtime.block_on(async {
            match self.resolver() {
                Ok(resolver) => f(resolver.as_ref()).await,
                Err(e) => {
                    eprintln!("gannet: {e}");
                    ExitCode::FAILURE
                }
            }
        })
    }

    fn resolver(&self) -> Result<Box<dyn Resolver>, String> {
        let Some(path) = &self.zone else {
            return Ok(Box::new(SystemResolver::from_system_conf()?));
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--dns-zone {}: {e}", path.display()))?;
        let zone = StaticZone::from_zone_file(&text)
            .map_err(|e| format!("--dns-zone {}: {e}", path.display()))?;
        Ok(Box::new(zone))
    }
}

/// Unix seconds as `2026-11-22 18:30:00`.
pub(crate) fn utc(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|_| seconds.to_string())
}

/// Writes a command's output. A reader that went away (`| head`) is no error:
/// the output was not wanted further.
pub(crate) fn write_stdout(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("gannet: writing the output: {e}");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}
