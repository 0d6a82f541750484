//! Prints the conformance table; exits 1 when any case fails.
//!
//! `conformance imaptest ...` instead runs Dovecot's imaptest scripts against a
//! live IMAP server (see `conformance imaptest --help`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use conformance::imaptest::{self, Server, launch};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("imaptest") {
        return imaptest_main(&args[1..]);
    }
    let suites = conformance::run_all(&conformance::vectors_dir());
    print!("{}", conformance::report::table(&suites, 100));
    let passed: usize = suites.iter().map(|s| s.passed).sum();
    let failed: usize = suites.iter().map(|s| s.failed()).sum();
    println!("\nconformance: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

const IMAPTEST_USAGE: &str = "\
usage: conformance imaptest (--addr HOST:PORT --user U --password P | --gannet PATH)
                            [--user2 U2] [--scripts DIR] [SCRIPT...]

Runs Dovecot imaptest's scripted IMAP tests against a live server and prints a
table of script, command groups, passed, failed and skipped (with the missing
capability). Exits 1 when a script that ran failed, 2 on usage errors.

  --addr HOST:PORT   the server's IMAP (plain) address
  --user, --password the test account; its mailboxes named imaptest* are deleted
  --user2 U2         a second account with the same password, for scripts that
                     need one (skipped otherwise)
  --gannet PATH      start `PATH localserve` in a temporary directory on a free
                     port offset and test it as gannet@localhost; stopped after
  --scripts DIR      the scripts (default: rfc-vectors/imaptest/tests)
  SCRIPT...          run only these scripts, in this order
";

/// Why `conformance imaptest` could not run the scripts.
enum Problem {
    /// Bad arguments: exit 2 with the usage.
    Usage(String),
    /// The server could not be started: exit 1.
    Startup(String),
}

impl From<String> for Problem {
    fn from(s: String) -> Self {
        Problem::Usage(s)
    }
}

impl From<&str> for Problem {
    fn from(s: &str) -> Self {
        Problem::Usage(s.to_string())
    }
}

fn imaptest_main(args: &[String]) -> ExitCode {
    match imaptest_run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(Problem::Usage(why)) => {
            eprintln!("conformance imaptest: {why}\n\n{IMAPTEST_USAGE}");
            ExitCode::from(2)
        }
        Err(Problem::Startup(why)) => {
            eprintln!("conformance imaptest: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(every script passed or was skipped), or why none could run.
fn imaptest_run(args: &[String]) -> Result<bool, Problem> {
    let mut addr: Option<String> = None;
    let mut user: Option<String> = None;
    let mut password: Option<String> = None;
    let mut user2: Option<String> = None;
    let mut gannet: Option<PathBuf> = None;
    let mut dir = imaptest::scripts_dir();
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{IMAPTEST_USAGE}");
                return Ok(true);
            }
            "--addr" => addr = Some(value("--addr")?),
            "--user" => user = Some(value("--user")?),
            "--password" => password = Some(value("--password")?),
            "--user2" => user2 = Some(value("--user2")?),
            "--gannet" => gannet = Some(PathBuf::from(value("--gannet")?)),
            "--scripts" => dir = PathBuf::from(value("--scripts")?),
            a if a.starts_with('-') => return Err(Problem::Usage(format!("unknown option {a}"))),
            a => names.push(a.to_string()),
        }
    }

    // Keeps localserve running until the scripts are done.
    let mut _server_process = None;
    let server = match (gannet, addr) {
        (Some(_), Some(_)) => return Err("give either --addr or --gannet".into()),
        (None, None) => return Err("give --addr HOST:PORT or --gannet PATH".into()),
        (Some(path), None) => {
            let g =
                launch::Gannet::start(&path, Duration::from_secs(30)).map_err(Problem::Startup)?;
            let server = Server {
                addr: g.imap,
                user: user.unwrap_or_else(|| launch::GANNET_USER.into()),
                password: password.unwrap_or_else(|| launch::GANNET_PASSWORD.into()),
                user2,
            };
            _server_process = Some(g);
            server
        }
        (None, Some(addr)) => Server {
            addr: resolve(&addr)?,
            user: user.ok_or("--user is required with --addr")?,
            password: password.ok_or("--password is required with --addr")?,
            user2,
        },
    };

    let results = if names.is_empty() {
        imaptest::run_all(&dir, &server)
    } else {
        imaptest::run_named(&dir, &names, &server)
    };
    print!("{}", imaptest::table(&results));
    Ok(results.iter().all(imaptest::ScriptResult::ok))
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("--addr {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("--addr {addr}: no address"))
}
