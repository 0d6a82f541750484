//! `gannet admin ...`: operator tools that act on the data directory directly.
//! `imapserve` is one IMAP session on stdin and stdout, for migrations; the
//! session and the byte moving are `imapserver`'s, this layer only runs them.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use gannet::imapserver::StdioSession;

/// `gannet admin imapserve --help`: kept as written, so the examples stay on lines
/// of their own.
const IMAPSERVE_HELP: &str = "\
Serve one IMAP session on stdin and stdout, logged in as ADDRESS, for migrations.

For IMAP clients that can run a command instead of connecting, to copy mail into
or out of an account. The session greets with \"* PREAUTH\" (no password is asked,
and logins disabled in domains.toml do not stop it), speaks IMAP on stdin and
stdout, and writes its log lines to stderr. It ends with LOGOUT, at the end of
input, or after 30 minutes without a command (command_timeout before the first).

mutt or neomutt (the host in the URL is not contacted):
    mutt -e 'set tunnel=\"gannet admin imapserve user@example.org\"' -f imap://localhost/INBOX

mbsync (isync), in the IMAPAccount section instead of Host, User and Pass:
    Tunnel \"gannet admin imapserve user@example.org\"

The account's store is opened here directly, and one process at a time may have
an account open for writing (each would take the other's deliveries in progress
for crash leftovers). If `gannet serve` or another imapserve has the account
open, imapserve says so and exits 1: stop the server for the migration.

Exits 1, before any IMAP output, if ADDRESS is not an address or name of an
account in domains.toml or its store cannot be opened; 0 when the session ends.";

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Serve one IMAP session on stdin and stdout, logged in as ADDRESS, for
    /// migrations.
    #[command(long_about = IMAPSERVE_HELP)]
    Imapserve(ImapserveArgs),
}

#[derive(Args)]
pub struct ImapserveArgs {
    /// The login: an address of the account or its name in domains.toml, as IMAP
    /// LOGIN takes.
    address: String,
}

pub fn run(config: &Path, cmd: AdminCommand) -> ExitCode {
    match cmd {
        AdminCommand::Imapserve(args) => imapserve(config, &args),
    }
}

/// `gannet admin imapserve ADDRESS`.
fn imapserve(config: &Path, args: &ImapserveArgs) -> ExitCode {
    let cfg = match super::load_config(config) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    // Opened before anything is served, so that a wrong address is a message on
    // stderr and an exit status, not an IMAP session that fails.
    let session = match StdioSession::open(&cfg, &args.address) {
        Ok(session) => session,
        Err(e) => return fail(&e),
    };
    // One session: a thread for the loop; its store steps and the stdin and stdout
    // copies run on the blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let served = runtime.block_on(session.serve());
    // The thread reading stdin may wait for input that never comes: a client
    // keeps its end open until this process exits.
    runtime.shutdown_background();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("gannet admin imapserve: {e}");
    ExitCode::FAILURE
}
