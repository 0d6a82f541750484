//! `gannet admin imapserve`: one IMAP session on stdin and stdout, logged in from the
//! start, as mutt's `tunnel` and mbsync's `Tunnel` run it. A client writes commands
//! one at a time and checks each response as it comes (so stdout must be flushed
//! per response), the store is checked afterwards, and an unknown address fails
//! before any IMAP output.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use common::{gannet, text};
use gannet::store::{Account, Flags};

/// A response that does not come within this long fails the test.
const PATIENCE: Duration = Duration::from_secs(30);

const MESSAGE: &str = "From: Sender <sender@example.org>\r\n\
                       To: gannet@localhost\r\n\
                       Subject: migrated\r\n\
                       \r\n\
                       moved over a tunnel\r\n";

/// Writes a localserve configuration (account gannet, address gannet@localhost)
/// to `dir`/ls, without serving anything.
fn configure(dir: &Path) {
    let out = gannet(dir, &["localserve", "--dir", "ls", "--initonly"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A running `gannet admin imapserve`, read line by line.
struct Tunnel {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Lines of stdout with their CRLF, from a thread, so that a response that
    /// never comes fails the test instead of hanging it.
    lines: Receiver<String>,
}

impl Tunnel {
    fn start(dir: &Path, login: &str) -> Tunnel {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gannet"))
            .args(["-c", "ls/gannet.toml", "admin", "imapserve", login])
            .current_dir(dir)
            .env_remove("GANNET_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gannet runs");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            loop {
                let mut line = Vec::new();
                match stdout.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.send(text(&line)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Tunnel {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    fn send(&mut self, bytes: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("a response line within 30 seconds")
    }

    /// The lines up to and including the tagged response of `tag`.
    fn until_tagged(&self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    fn command(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.send(&format!("{tag} {command}\r\n"));
        self.until_tagged(tag)
    }

    /// Closes stdin and waits for the exit: the status, what else came on stdout,
    /// and stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        let mut rest = String::new();
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => rest.push_str(&line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("stdout still open after 30 seconds"),
            }
        }
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "gannet still runs after 30 seconds"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        (status, rest, stderr)
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_preauthenticated_session_selects_appends_fetches_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path());
    let mut tunnel = Tunnel::start(dir.path(), "gannet@localhost");

    let greeting = tunnel.line();
    assert!(
        greeting.starts_with("* PREAUTH [CAPABILITY IMAP4rev1 IMAP4rev2 "),
        "{greeting}"
    );
    assert!(
        greeting.ends_with("] localhost ready, logged in as gannet@localhost\r\n"),
        "{greeting}"
    );

    let select = tunnel.command("s", "SELECT INBOX");
    assert!(select.contains(&"* 0 EXISTS\r\n".to_string()), "{select:?}");
    assert_eq!(select.last().unwrap(), "s OK [READ-WRITE] SELECT done\r\n");

    // A synchronizing literal: the message goes only after the continuation came
    // through stdout.
    tunnel.send(&format!(
        "a APPEND INBOX (\\Flagged) {{{}}}\r\n",
        MESSAGE.len()
    ));
    assert!(tunnel.line().starts_with("+ "));
    tunnel.send(&format!("{MESSAGE}\r\n"));
    let append = tunnel.until_tagged("a");
    assert!(append.contains(&"* 1 EXISTS\r\n".to_string()), "{append:?}");
    assert!(
        append.last().unwrap().starts_with("a OK [APPENDUID 1 1] "),
        "{append:?}"
    );

    let fetch = tunnel.command("f", "FETCH 1 (FLAGS BODY.PEEK[])").concat();
    let expected = format!(
        "* 1 FETCH (FLAGS (\\Flagged \\Recent) BODY[] {{{}}}\r\n{MESSAGE})\r\nf OK ",
        MESSAGE.len()
    );
    assert!(fetch.starts_with(&expected), "{fetch}");

    let logout = tunnel.command("l", "LOGOUT");
    assert_eq!(logout, ["* BYE logging out\r\n", "l OK LOGOUT done\r\n"]);
    let (status, rest, stderr) = tunnel.finish();
    assert!(status.success(), "{status}\n{stderr}");
    assert_eq!(rest, "", "nothing after LOGOUT");
    // The log goes to stderr, never into the protocol stream.
    assert!(
        stderr.contains("m=\"logged in\"") && stderr.contains("login=gannet@localhost"),
        "{stderr}"
    );

    let account = Account::open(&dir.path().join("ls/data/accounts/gannet"), "gannet").unwrap();
    assert_eq!(account.verify().unwrap(), Vec::<String>::new());
    let inbox = account.mailbox("Inbox").unwrap().id;
    let messages = account.messages(inbox).unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].flags, Flags::FLAGGED);
    assert_eq!(account.read(messages[0].id).unwrap(), MESSAGE.as_bytes());
}

#[test]
fn the_end_of_input_ends_the_session_and_an_account_name_logs_in_too() {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path());
    let tunnel = Tunnel::start(dir.path(), "gannet");
    let greeting = tunnel.line();
    assert!(
        greeting.starts_with("* PREAUTH ") && greeting.ends_with(" logged in as gannet\r\n"),
        "{greeting}"
    );
    let (status, rest, stderr) = tunnel.finish();
    assert!(status.success(), "{status}\n{stderr}");
    assert_eq!(rest, "");
}

#[test]
fn an_unknown_address_fails_before_any_imap_output() {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path());
    let out = gannet(
        dir.path(),
        &[
            "-c",
            "ls/gannet.toml",
            "admin",
            "imapserve",
            "nobody@example.org",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains(
            "gannet admin imapserve: \"nobody@example.org\" is neither an address nor the name \
             of an account in domains.toml"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_help_gives_the_client_settings() {
    let out = gannet(Path::new("."), &["admin", "imapserve", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for part in [
        "set tunnel=\"gannet admin imapserve user@example.org\"",
        "Tunnel \"gannet admin imapserve user@example.org\"",
        "one process at a time may have\nan account open for writing",
    ] {
        assert!(help.contains(part), "{help}");
    }
}

#[test]
fn a_second_process_on_the_same_account_is_refused_before_any_imap() {
    let dir = tempfile::tempdir().unwrap();
    configure(dir.path());
    let first = Tunnel::start(dir.path(), "gannet@localhost");
    assert!(first.line().starts_with("* PREAUTH "));
    let second = Tunnel::start(dir.path(), "gannet@localhost");
    let (status, stdout, stderr) = second.finish();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "", "no IMAP output");
    assert!(
        stderr.contains("account \"gannet\" is in use by another gannet process"),
        "{stderr}"
    );
    let (status, _, stderr) = first.finish();
    assert!(status.success(), "{stderr}");
}
