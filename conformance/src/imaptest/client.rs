//! A small blocking IMAP client for the runner: sends commands with literals
//! (waiting for `+` unless the server announces LITERAL+), reads whole
//! responses including literals, and keeps what the runner needs to know about
//! each connection (capabilities, message count, BYE, queued responses).
//!
//! Blocking is enough: imaptest reads only from the connection whose command
//! group runs, and leaves the others' input waiting until their turn, which is
//! exactly what unread sockets do. Every read has a timeout, so a silent server
//! fails a script instead of hanging it.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::args::{self, Arg};

/// The largest response accepted, literals included.
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// One response from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `* ...`: the arguments after the `*`.
    Untagged(Vec<Arg>),
    /// `TAG ...`: the tag and the arguments after it, status first.
    Tagged { tag: String, args: Vec<Arg> },
    /// `+ ...`: the text after the `+`.
    Continuation(Vec<u8>),
}

/// A piece of a command: text, or a literal whose size header the client
/// writes (synchronizing or LITERAL+, as the server allows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(Vec<u8>),
    Literal { data: Vec<u8>, binary: bool },
}

/// Why talking to the server failed.
#[derive(Debug)]
pub enum ClientError {
    /// No data within the read timeout (or the script's time ran out).
    Timeout(Duration),
    /// The server closed the connection in the middle of a response.
    Closed,
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Timeout(d) => {
                write!(f, "no data from the server within {} s", d.as_secs_f32())
            }
            ClientError::Closed => write!(
                f,
                "the server closed the connection in the middle of a response"
            ),
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

/// One connection to the server.
pub struct Connection {
    /// 1-based; tags are `ID.N`, as imaptest writes them.
    pub id: usize,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_tag: u32,
    /// The capabilities last announced.
    pub capabilities: Vec<String>,
    /// Capabilities were announced after login began.
    pub postlogin_capabilities: bool,
    /// LOGIN was sent (so capabilities from now on are post-login ones).
    pub login_sent: bool,
    /// The selected mailbox's message count, as EXISTS and EXPUNGE tell it.
    pub exists: u32,
    pub logout_sent: bool,
    pub seen_bye: bool,
    /// The server closed the connection.
    pub closed: bool,
    /// Responses read while waiting for a continuation, for the next read().
    queued: VecDeque<Response>,
    read_timeout: Duration,
    deadline: Instant,
}

impl Connection {
    /// Connects and reads the greeting. Reads wait at most `read_timeout`, and
    /// none goes past `deadline`.
    pub fn connect(
        addr: SocketAddr,
        id: usize,
        read_timeout: Duration,
        deadline: Instant,
    ) -> Result<(Connection, Response), ClientError> {
        let stream = TcpStream::connect_timeout(&addr, read_timeout)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(read_timeout))?;
        let writer = stream.try_clone()?;
        let mut conn = Connection {
            id,
            reader: BufReader::new(stream),
            writer,
            next_tag: 1,
            capabilities: Vec::new(),
            postlogin_capabilities: false,
            login_sent: false,
            exists: 0,
            logout_sent: false,
            seen_bye: false,
            closed: false,
            queued: VecDeque::new(),
            read_timeout,
            deadline,
        };
        let greeting = conn.read()?.ok_or(ClientError::Closed)?;
        Ok((conn, greeting))
    }

    /// A fresh tag.
    pub fn new_tag(&mut self) -> String {
        let tag = format!("{}.{}", self.id, self.next_tag);
        self.next_tag += 1;
        tag
    }

    pub fn has_capability(&self, cap: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cap))
    }

    /// Sends `tag` and the pieces, then CRLF. Before a literal's bytes it waits
    /// for `+` unless the server has LITERAL+; responses read meanwhile are
    /// queued for [`Connection::read`]. Returns false when the server answered
    /// the command instead of inviting the literal (the answer is queued).
    pub fn send(&mut self, tag: &str, pieces: &[Piece]) -> Result<bool, ClientError> {
        let nonsync = self.has_capability("LITERAL+");
        let mut out = format!("{tag} ").into_bytes();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.extend_from_slice(t),
                Piece::Literal { data, binary } => {
                    let head = format!(
                        "{}{{{}{}}}\r\n",
                        if *binary { "~" } else { "" },
                        data.len(),
                        if nonsync { "+" } else { "" }
                    );
                    out.extend_from_slice(head.as_bytes());
                    if !nonsync {
                        self.writer.write_all(&out)?;
                        out.clear();
                        if !self.wait_continuation(tag)? {
                            return Ok(false);
                        }
                    }
                    out.extend_from_slice(data);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        self.writer.write_all(&out)?;
        self.writer.flush()?;
        Ok(true)
    }

    /// Reads until a continuation (true) or the tagged reply for `tag` (false).
    fn wait_continuation(&mut self, tag: &str) -> Result<bool, ClientError> {
        loop {
            match self.read_response()? {
                None => return Err(ClientError::Closed),
                Some(Response::Continuation(_)) => return Ok(true),
                Some(r) => {
                    let done = matches!(&r, Response::Tagged { tag: t, .. } if t == tag);
                    self.queued.push_back(r);
                    if done {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// The next response (queued ones first); None once the server closed the
    /// connection.
    pub fn read(&mut self) -> Result<Option<Response>, ClientError> {
        if let Some(r) = self.queued.pop_front() {
            return Ok(Some(r));
        }
        self.read_response()
    }

    fn read_response(&mut self) -> Result<Option<Response>, ClientError> {
        let Some(raw) = self.read_raw()? else {
            self.closed = true;
            return Ok(None);
        };
        let response = parse_response(&raw);
        self.observe(&response);
        Ok(Some(response))
    }

    /// Sends one command and reads to its tagged reply: the untagged replies on
    /// the way and the tagged reply's arguments. For setup steps.
    pub fn command(&mut self, pieces: &[Piece]) -> Result<(Vec<Vec<Arg>>, Vec<Arg>), ClientError> {
        let tag = self.new_tag();
        self.send(&tag, pieces)?;
        let mut untagged = Vec::new();
        loop {
            match self.read()? {
                None => return Err(ClientError::Closed),
                Some(Response::Untagged(a)) => untagged.push(a),
                Some(Response::Tagged { tag: t, args }) if t == tag => return Ok((untagged, args)),
                Some(_) => {}
            }
        }
    }

    /// Keeps track of capabilities, the message count and BYE.
    fn observe(&mut self, response: &Response) {
        let args = match response {
            Response::Untagged(a) => a,
            Response::Tagged { args, .. } => {
                self.capability_code(args);
                return;
            }
            Response::Continuation(_) => return,
        };
        let first = args.first().and_then(Arg::as_atom).unwrap_or_default();
        if let Ok(n) = std::str::from_utf8(first).unwrap_or("x").parse::<u32>() {
            match args.get(1) {
                Some(a) if a.is_atom("EXISTS") => self.exists = n,
                Some(a) if a.is_atom("EXPUNGE") => self.exists = self.exists.saturating_sub(1),
                _ => {}
            }
            return;
        }
        match args.first() {
            Some(a) if a.is_atom("CAPABILITY") => {
                self.set_capabilities(args[1..].iter().filter_map(Arg::as_astring));
            }
            Some(a) if a.is_atom("BYE") => self.seen_bye = true,
            Some(a) if a.is_atom("VANISHED") => {
                // Without (EARLIER) these are expunges of selected messages.
                if let Some(set) = args.get(1).and_then(Arg::as_atom) {
                    self.exists = self.exists.saturating_sub(set_size(set));
                }
            }
            _ => self.capability_code(args),
        }
    }

    /// A `[CAPABILITY ...]` response code after OK, NO, BAD, PREAUTH or BYE.
    fn capability_code(&mut self, args: &[Arg]) {
        if !args.get(1).is_some_and(|a| a.is_atom("[CAPABILITY")) {
            return;
        }
        let mut caps = Vec::new();
        for a in &args[2..] {
            let Some(atom) = a.as_atom() else { break };
            if let Some(last) = atom.strip_suffix(b"]") {
                caps.push(last);
                break;
            }
            caps.push(atom);
        }
        self.set_capabilities(caps.into_iter());
    }

    fn set_capabilities<'a>(&mut self, caps: impl Iterator<Item = &'a [u8]>) {
        self.capabilities = caps
            .filter(|c| !c.is_empty())
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        if self.login_sent {
            self.postlogin_capabilities = true;
        }
    }

    /// One response's bytes: lines joined with the literals they announce,
    /// without the final CRLF.
    fn read_raw(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        let mut buf = Vec::new();
        loop {
            self.arm_timeout()?;
            let mut line = Vec::new();
            let limit = MAX_RESPONSE.saturating_sub(buf.len() as u64);
            let read = (&mut self.reader).take(limit).read_until(b'\n', &mut line);
            let n = read.map_err(|e| read_error(e, self.read_timeout))?;
            if n == 0 && buf.is_empty() {
                return Ok(None);
            }
            if !line.ends_with(b"\n") {
                return Err(ClientError::Closed);
            }
            buf.extend_from_slice(&line);
            let Some(size) = trailing_literal(&line) else {
                break;
            };
            if size as u64 > limit {
                return Err(ClientError::Io(io::Error::other("response too large")));
            }
            let start = buf.len();
            buf.resize(start + size, 0);
            self.arm_timeout()?;
            let read = self.reader.read_exact(&mut buf[start..]);
            read.map_err(|e| read_error(e, self.read_timeout))?;
        }
        // Only the final line break: a literal just before it keeps its own.
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        Ok(Some(buf))
    }

    fn arm_timeout(&mut self) -> Result<(), ClientError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ClientError::Timeout(self.read_timeout));
        }
        self.reader
            .get_ref()
            .set_read_timeout(Some(left.min(self.read_timeout)))?;
        Ok(())
    }
}

fn read_error(e: io::Error, timeout: Duration) -> ClientError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout(timeout),
        io::ErrorKind::UnexpectedEof => ClientError::Closed,
        _ => ClientError::Io(e),
    }
}

/// How many numbers a sequence set like `3,5:7` names.
fn set_size(set: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(set);
    text.split(',')
        .map(|r| match r.split_once(':') {
            Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) => a.abs_diff(b) + 1,
                _ => 1,
            },
            None => 1,
        })
        .sum()
}

/// The literal size a line ends with (`{n}`, `{n+}` or `~{n}` before the line
/// break), if any.
fn trailing_literal(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = line.strip_suffix(b"}")?;
    let body = body.strip_suffix(b"+").unwrap_or(body);
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || body[..body.len() - digits].last() != Some(&b'{') {
        return None;
    }
    std::str::from_utf8(&body[body.len() - digits..])
        .ok()?
        .parse()
        .ok()
}

/// Splits a response into its kind and arguments. Text the argument parser
/// cannot read (say, an unbalanced parenthesis in human-readable text) is kept
/// as atoms split at spaces, so matching can still report it.
pub fn parse_response(raw: &[u8]) -> Response {
    let (tag, rest) = match raw.iter().position(|&b| b == b' ') {
        Some(sp) => (&raw[..sp], &raw[sp + 1..]),
        None => (raw, &b""[..]),
    };
    let parse = |text: &[u8]| {
        args::parse(text, false).unwrap_or_else(|_| {
            text.split(|&b| b == b' ')
                .filter(|w| !w.is_empty())
                .map(|w| Arg::Atom(w.to_vec()))
                .collect()
        })
    };
    match tag {
        b"+" => Response::Continuation(rest.to_vec()),
        b"*" => Response::Untagged(parse(rest)),
        _ => Response::Tagged {
            tag: String::from_utf8_lossy(tag).into_owned(),
            args: parse(rest),
        },
    }
}

/// Splits a script command into text and literals: a line ending in ` {n}`,
/// ` {n+}` or ` ~{n}` is followed by n bytes of literal data. Other line breaks
/// stay in the text, as imaptest lets them.
pub fn split_literals(cmd: &[u8]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = Vec::new();
    let mut i = 0;
    while let Some(nl) = cmd[i..].iter().position(|&b| b == b'\n') {
        let line = &cmd[i..i + nl + 1];
        match literal_header(line) {
            Some((head_len, size, binary)) => {
                text.extend_from_slice(&line[..head_len]);
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                let start = i + nl + 1;
                let end = (start + size).min(cmd.len());
                pieces.push(Piece::Literal {
                    data: cmd[start..end].to_vec(),
                    binary,
                });
                i = end;
            }
            None => {
                text.extend_from_slice(line);
                i += nl + 1;
            }
        }
    }
    text.extend_from_slice(&cmd[i..]);
    pieces.push(Piece::Text(text));
    pieces
}

/// For a line ending in a literal header after a space: the length of the text
/// before the header, the literal's size and whether it is `~{n}`.
fn literal_header(line: &[u8]) -> Option<(usize, usize, bool)> {
    let size = trailing_literal(line)?;
    let open = line.iter().rposition(|&b| b == b'{')?;
    let binary = open > 0 && line[open - 1] == b'~';
    let head = if binary { open - 1 } else { open };
    if head == 0 || line[head - 1] != b' ' {
        return None;
    }
    Some((head, size, binary))
}

/// The pieces as the bytes a script would have written, for messages.
pub fn join_pieces(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.extend_from_slice(t),
            Piece::Literal { data, binary } => {
                out.extend_from_slice(
                    format!("{}{{{}}}\r\n", if *binary { "~" } else { "" }, data.len()).as_bytes(),
                );
                out.extend_from_slice(data);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_at_literals() {
        let pieces =
            split_literals(b"append x (\\seen) {3}\r\nabc ~{2}\r\n\0\n catenate (text {1+}\r\nz)");
        assert_eq!(
            pieces,
            vec![
                Piece::Text(b"append x (\\seen) ".to_vec()),
                Piece::Literal {
                    data: b"abc".to_vec(),
                    binary: false
                },
                Piece::Text(b" ".to_vec()),
                Piece::Literal {
                    data: b"\0\n".to_vec(),
                    binary: true
                },
                Piece::Text(b" catenate (text ".to_vec()),
                Piece::Literal {
                    data: b"z".to_vec(),
                    binary: false
                },
                Piece::Text(b")".to_vec()),
            ]
        );
        assert_eq!(split_literals(b"noop"), vec![Piece::Text(b"noop".to_vec())]);
        // No space before the brace: not a literal, as in imaptest.
        assert_eq!(split_literals(b"x{1}\r\ny").len(), 1);
    }

    #[test]
    fn responses_parse() {
        assert_eq!(
            parse_response(b"1.2 OK [READ-WRITE] done"),
            Response::Tagged {
                tag: "1.2".into(),
                args: vec![
                    Arg::Atom(b"OK".to_vec()),
                    Arg::Atom(b"[READ-WRITE]".to_vec()),
                    Arg::Atom(b"done".to_vec())
                ]
            }
        );
        assert_eq!(
            parse_response(b"+ go"),
            Response::Continuation(b"go".to_vec())
        );
        // Unbalanced text still yields atoms.
        let Response::Untagged(a) = parse_response(b"* OK (oops") else {
            panic!()
        };
        assert_eq!(a.len(), 2);
        assert_eq!(trailing_literal(b"* 1 FETCH (BODY[] {12}\r\n"), Some(12));
        assert_eq!(trailing_literal(b"* OK {x}\r\n"), None);
        assert_eq!(set_size(b"3,5:7"), 4);
    }
}
