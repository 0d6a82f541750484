//! A deliberately small IMAP client for setting tests up and checking the server's
//! side of what a client did. It is not under test: it sends plain commands and
//! collects the responses, with literals inlined.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::server::{LOGIN, PASSWORD};

pub struct Imap {
    stream: BufReader<TcpStream>,
    tag: u32,
}

/// The untagged responses of one command and its tagged completion ("OK ...").
#[derive(Debug)]
pub struct Response {
    pub untagged: Vec<String>,
    pub completion: String,
}

impl Imap {
    /// Connects to the plaintext IMAP port and logs in as the test account.
    pub fn login(port: u16) -> Imap {
        Imap::login_as(port, LOGIN)
    }

    /// Connects to the plaintext IMAP port and logs in as `login` (localserve's
    /// password logs any NAME@localhost in).
    pub fn login_as(port: u16, login: &str) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot connect to IMAP port {port}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a timeout");
        let mut imap = Imap {
            stream: BufReader::new(stream),
            tag: 0,
        };
        let greeting = imap.read_response_line();
        assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting:?}");
        imap.ok(&format!("LOGIN {login} {PASSWORD}"));
        imap
    }

    /// Sends one command (no literals) and returns its responses, whatever the
    /// completion.
    pub fn command(&mut self, command: &str) -> Response {
        let tag = self.next_tag();
        self.write(&format!("{tag} {command}\r\n"));
        self.responses(&tag)
    }

    /// Sends one command and panics unless it completes with OK.
    #[track_caller]
    pub fn ok(&mut self, command: &str) -> Vec<String> {
        let response = self.command(command);
        assert!(
            response.completion.starts_with("OK"),
            "IMAP {command:?} failed: {response:?}"
        );
        response.untagged
    }

    /// Appends `message` to `mailbox` with `flags` (like `\Seen`, or empty) and
    /// returns the UID the server gave it.
    pub fn append(&mut self, mailbox: &str, flags: &str, message: &str) -> u32 {
        let tag = self.next_tag();
        self.write(&format!(
            "{tag} APPEND {mailbox} ({flags}) {{{}}}\r\n",
            message.len()
        ));
        let go_ahead = self.read_response_line();
        assert!(
            go_ahead.starts_with('+'),
            "APPEND literal refused: {go_ahead:?}"
        );
        self.write(message);
        self.write("\r\n");
        let response = self.responses(&tag);
        assert!(
            response.completion.starts_with("OK"),
            "APPEND failed: {response:?}"
        );
        response
            .completion
            .split_once("[APPENDUID ")
            .and_then(|(_, rest)| rest.split([' ', ']']).nth(1))
            .and_then(|uid| uid.parse().ok())
            .unwrap_or_else(|| panic!("no APPENDUID in {:?}", response.completion))
    }

    /// The UIDs in `mailbox` with their flags, e.g. `(7, "\Flagged \Seen")`, read with
    /// EXAMINE so that nothing changes.
    pub fn uid_flags(&mut self, mailbox: &str) -> Vec<(u32, String)> {
        self.ok(&format!("EXAMINE {mailbox}"));
        let mut found: Vec<(u32, String)> = self
            .ok("UID FETCH 1:* (UID FLAGS)")
            .iter()
            .filter_map(|line| {
                let uid = line
                    .split_once("UID ")?
                    .1
                    .split([' ', ')'])
                    .next()?
                    .parse()
                    .ok()?;
                let flags = line.split_once("FLAGS (")?.1.split_once(')')?.0;
                let mut flags: Vec<&str> = flags
                    .split_whitespace()
                    .filter(|f| *f != "\\Recent")
                    .collect();
                flags.sort();
                Some((uid, flags.join(" ")))
            })
            .collect();
        found.sort();
        self.ok("UNSELECT");
        found
    }

    pub fn logout(mut self) {
        self.command("LOGOUT");
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("t{}", self.tag)
    }

    fn write(&mut self, text: &str) {
        self.stream
            .get_mut()
            .write_all(text.as_bytes())
            .expect("write to IMAP");
    }

    fn responses(&mut self, tag: &str) -> Response {
        let mut untagged = Vec::new();
        loop {
            let line = self.read_response_line();
            if let Some(completion) = line.strip_prefix(tag).and_then(|l| l.strip_prefix(' ')) {
                return Response {
                    untagged,
                    completion: completion.to_string(),
                };
            }
            untagged.push(line);
        }
    }

    /// One response line without its CRLF, with any literals it carries inlined.
    fn read_response_line(&mut self) -> String {
        let mut response = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self
                .stream
                .read_until(b'\n', &mut line)
                .expect("read an IMAP response");
            assert!(
                n > 0,
                "IMAP connection closed; so far: {:?}",
                String::from_utf8_lossy(&response)
            );
            let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
            response.extend_from_slice(line);
            let literal = line
                .strip_suffix(b"}")
                .and_then(|l| l.iter().rposition(|&b| b == b'{').map(|i| &l[i + 1..]))
                .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<usize>().ok());
            let Some(size) = literal else {
                return String::from_utf8_lossy(&response).into_owned();
            };
            let mut bytes = vec![0; size];
            self.stream
                .read_exact(&mut bytes)
                .expect("read an IMAP literal");
            response.extend_from_slice(b"\r\n");
            response.extend_from_slice(&bytes);
        }
    }
}
