//! The server's IMAP command framer, without I/O: the connection pushes the bytes
//! it reads and pulls frames out. A frame is a whole command (its text with each
//! literal's bytes left out but its `{n}` marker kept, and the literals in order),
//! a request to send a `+` continuation, or an error to answer.
//!
//! Literals are what make IMAP commands not context-free: a line that ends with
//! `{n}`, `{n+}` (LITERAL+, RFC 7888), `~{n}` or `~{n+}` (literal8, RFC 3516) is
//! followed by exactly n bytes and then the rest of the command. A synchronizing
//! literal is sent only after the server's `+`, so refusing one (no `+`) ends the
//! command; a non-synchronizing one arrives anyway, so refusing it means reading
//! and dropping its bytes. Every error mid-command skips the rest of that command
//! by these rules, so the next command is framed where the client meant it to be.
//!
//! Pedantic, as the grammar is: lines end with CRLF, no bare CR or LF, no NUL, the
//! text is UTF-8, and a literal (but not a literal8) holds no NUL. Memory stays
//! bounded whatever the client sends: once [`Framer::next_frame`] has returned
//! `None` at most a partial line (under `max_line` plus CRLF) is held unconsumed,
//! a command's text is at most `max_text`, literals kept in memory at most
//! `memory_literal` per command, and larger literals are written to unlinked
//! files as they arrive.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use super::command::Literal;

/// The largest non-synchronizing literal LITERAL- allows (RFC 7888 section 5),
/// which IMAP4rev2 servers apply (RFC 9051 section 4.3).
pub const LITERAL_MINUS_MAX: u64 = 4096;

/// What a framer accepts. All are counts of octets except `max_literals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// One line, without its CRLF; also the limit for [`Framer::next_line`].
    pub max_line: usize,
    /// A command's text over all its lines (literal bytes not counted, markers
    /// counted): lines separated by literals must not add up to unbounded text.
    pub max_text: usize,
    /// One literal (an APPEND message is the largest).
    pub max_literal: u64,
    /// All literal bytes of one command.
    pub max_command: u64,
    /// Literals in one command. Each spooled literal holds an open file, so the
    /// count is bounded as well as the bytes.
    pub max_literals: usize,
    /// `Some(n)`: LITERAL-, non-synchronizing literals up to n octets.
    /// `None`: LITERAL+, any size up to `max_literal`.
    pub max_non_sync_literal: Option<u64>,
    /// A literal is kept in memory if it is at most this long and the command's
    /// literals in memory stay within this too; the others are spooled.
    pub memory_literal: usize,
    /// Where spooled literals are written. It should be on disk, not tmpfs, or
    /// spooling saves no memory.
    pub spool_dir: PathBuf,
}

impl Limits {
    /// Safe defaults for literals of up to `max_literal` octets (the largest
    /// message APPEND takes), spooled to `spool_dir`.
    pub fn new(spool_dir: PathBuf, max_literal: u64) -> Limits {
        Limits {
            // RFC 9051 asks servers to take at least 8000 octets; an ID command with
            // RFC 2971's 30 pairs of 1024-octet strings needs about 62 KiB on one line.
            max_line: 64 * 1024,
            // What Dovecot allows a whole command (imap_max_line_length).
            max_text: 64 * 1024,
            max_literal,
            // Room for the other strings of an APPEND beside the message.
            max_command: max_literal.saturating_add(1024 * 1024),
            // SEARCH and ID take the most strings of any command gannet implements.
            max_literals: 100,
            max_non_sync_literal: Some(LITERAL_MINUS_MAX),
            memory_literal: 64 * 1024,
            spool_dir,
        }
    }
}

/// What the server does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole command, for the grammar: the text with each literal's marker kept
    /// and its bytes left out, and the literals in the order of their markers.
    Command {
        text: String,
        literals: Vec<Literal>,
    },
    /// A synchronizing literal was announced and accepted: send `+ <text>` so the
    /// client sends its bytes.
    Continue,
    /// A command that is refused: reply `<tag> BAD <message>`, or `* BAD` without
    /// a tag, unless `kind` says otherwise. The framer has already dropped what it
    /// had to and goes on skipping the rest of the command as it arrives,
    /// including the bytes of a refused non-synchronizing literal.
    Error {
        /// The command's tag, if its first word is a valid one.
        tag: Option<String>,
        kind: FrameErrorKind,
        message: String,
    },
}

/// A refused line, from [`Framer::next_line`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    pub kind: FrameErrorKind,
    /// For the client: what was wrong, where, and what the limit is.
    pub message: String,
}

/// Why a command or line is refused, for choosing the reply. All are `BAD`
/// except as noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameErrorKind {
    LineTooLong,
    /// The command's lines together are over `max_text`.
    TextTooLong,
    BareLf,
    BareCr,
    Nul,
    NotUtf8,
    /// A NUL in a literal, which only a literal8 may hold.
    NulInLiteral,
    /// A literal over `max_literal`, or the command's literals together over
    /// `max_command`: `NO [TOOBIG]` (RFC 9051 7.1, RFC 7889).
    TooBig,
    /// A non-synchronizing literal over LITERAL-'s limit: `BAD [TOOBIG]` (RFC 7888
    /// section 5).
    ///
    /// The bytes of a refused non-synchronizing literal are skipped, however many
    /// the client announced; for an absurd number, closing the connection is the
    /// better answer.
    NonSyncTooBig,
    TooManyLiterals,
    /// The literal could not be written to the spool: the server's fault, not the
    /// client's (`NO [SERVERBUG]`).
    Spool,
}

impl FrameErrorKind {
    /// Whether the reply carries the TOOBIG response code.
    pub fn too_big(self) -> bool {
        matches!(self, FrameErrorKind::TooBig | FrameErrorKind::NonSyncTooBig)
    }
}

/// A problem with what its message needs. Columns are 1-based octets of the
/// line, or of the literal for `NulInLiteral`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    LineTooLong,
    TextTooLong,
    BareLf { column: usize },
    BareCr { column: usize },
    Nul { column: usize },
    NotUtf8 { column: usize },
    NulInLiteral { column: u64 },
    LiteralTooBig { len: u64, limit: u64 },
    CommandTooBig { len: u64, limit: u64 },
    NonSyncTooBig { len: u64, limit: u64 },
    TooManyLiterals { limit: usize },
    Spool(io::ErrorKind),
}

impl Problem {
    fn kind(self) -> FrameErrorKind {
        match self {
            Problem::LineTooLong => FrameErrorKind::LineTooLong,
            Problem::TextTooLong => FrameErrorKind::TextTooLong,
            Problem::BareLf { .. } => FrameErrorKind::BareLf,
            Problem::BareCr { .. } => FrameErrorKind::BareCr,
            Problem::Nul { .. } => FrameErrorKind::Nul,
            Problem::NotUtf8 { .. } => FrameErrorKind::NotUtf8,
            Problem::NulInLiteral { .. } => FrameErrorKind::NulInLiteral,
            Problem::LiteralTooBig { .. } | Problem::CommandTooBig { .. } => FrameErrorKind::TooBig,
            Problem::NonSyncTooBig { .. } => FrameErrorKind::NonSyncTooBig,
            Problem::TooManyLiterals { .. } => FrameErrorKind::TooManyLiterals,
            Problem::Spool(_) => FrameErrorKind::Spool,
        }
    }
}

/// The sans-IO framer of one connection.
#[derive(Debug)]
pub struct Framer {
    limits: Limits,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
    /// Bytes of the pending line already searched for LF, so input that arrives a
    /// byte at a time is not searched again and again.
    scanned: usize,
    state: State,
    /// The command being assembled, once a line of it has ended with a literal.
    command: Option<Partial>,
}

#[derive(Debug)]
enum State {
    /// Reading a line: a command's first, or its next after a literal.
    Line,
    /// Reading a literal's bytes.
    Literal(Incoming),
    /// Dropping a refused command to the end of its current line; a
    /// non-synchronizing literal marker there means more to drop, unless the line
    /// is a raw one (`literals` false).
    SkipLine { marker: MarkerScan, literals: bool },
    /// Dropping the bytes of a refused command's literal.
    SkipLiteral { remaining: u64 },
}

#[derive(Debug)]
struct Partial {
    tag: Option<String>,
    text: String,
    literals: Vec<Literal>,
    /// Literal bytes announced so far, for `max_command`.
    literal_bytes: u64,
    /// Of those, kept in memory, for `memory_literal`.
    memory_bytes: usize,
}

#[derive(Debug)]
struct Incoming {
    remaining: u64,
    literal8: bool,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Memory(Vec<u8>),
    File { file: File, len: u64 },
}

impl Sink {
    fn len(&self) -> u64 {
        match self {
            Sink::Memory(v) => v.len() as u64,
            Sink::File { len, .. } => *len,
        }
    }
}

enum Step {
    NeedMore,
    Progress,
    Frame(Frame),
}

enum Scan {
    NeedMore,
    /// No LF within the limit plus CRLF, which is this many bytes.
    TooLong(usize),
    /// The line's LF is at this index of the unconsumed bytes.
    Line(usize),
}

impl Framer {
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            state: State::Line,
            command: None,
        }
    }

    /// New limits from the next frame on (the session raises them after login).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Adds received bytes. Pull frames with [`Framer::next_frame`] until it returns
    /// `None` before pushing more: that is what keeps the buffer small.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received and not yet consumed, e.g. to refuse STARTTLS when the client
    /// has pipelined data after it (RFC 9051 6.2.1).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the bytes received and not yet consumed. After COMPRESS (RFC 4978) they
    /// are compressed and must go through the inflater first. Call it between
    /// commands: a command still being read would lose its rest.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        self.scanned = 0;
        rest
    }

    /// Whether a command is partly read: a literal or a line after one is due, or
    /// a refused command is still being skipped.
    pub fn in_command(&self) -> bool {
        self.command.is_some() || !matches!(self.state, State::Line)
    }

    /// The next frame, or `None` when more input is needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let step = match self.state {
                State::Line => self.command_line(),
                State::Literal(_) => self.literal_data(),
                State::SkipLine { .. } | State::SkipLiteral { .. } => self.skip(),
            };
            match step {
                Step::NeedMore => {
                    self.compact();
                    return None;
                }
                Step::Progress => {}
                Step::Frame(frame) => return Some(frame),
            }
        }
    }

    /// A raw line instead of a command: an AUTHENTICATE response, IDLE's DONE. The
    /// same CRLF, NUL and `max_line` rules apply; the bytes need not be UTF-8 and
    /// braces mean nothing. Call it between commands; a command still being read
    /// is abandoned (the rest of it skipped, as for an error).
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            match &mut self.state {
                State::Line if self.command.is_some() => {
                    self.command = None;
                    self.state = skip_line();
                }
                State::Line => break,
                State::Literal(incoming) => {
                    self.command = None;
                    self.state = State::SkipLiteral {
                        remaining: incoming.remaining,
                    };
                }
                State::SkipLine { .. } | State::SkipLiteral { .. } => match self.skip() {
                    Step::NeedMore => {
                        self.compact();
                        return None;
                    }
                    Step::Progress | Step::Frame(_) => {}
                },
            }
        }
        let limit = self.limits.max_line;
        let lf = match self.find_line(limit) {
            Scan::NeedMore => {
                self.compact();
                return None;
            }
            Scan::TooLong(window) => {
                self.pos += window;
                self.state = State::SkipLine {
                    marker: MarkerScan::default(),
                    literals: false,
                };
                return Some(Err(self.error(Problem::LineTooLong)));
            }
            Scan::Line(lf) => lf,
        };
        let line = &self.buf[self.pos..self.pos + lf];
        let (content, crlf) = match line.strip_suffix(b"\r") {
            Some(content) => (content, true),
            None => (line, false),
        };
        let result = match check_line(content, crlf, limit, false) {
            None => Ok(content.to_vec()),
            Some(kind) => Err(kind),
        };
        self.pos += lf + 1;
        Some(result.map_err(|problem| self.error(problem)))
    }

    /// Drops consumed bytes, and the capacity a burst of input left behind.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let keep = (self.limits.max_line + 2).max(64 * 1024);
        if self.buf.capacity() > 2 * keep && self.buf.len() <= keep {
            self.buf.shrink_to(keep);
        }
    }

    /// Looks for the LF of the pending line within `limit` octets plus CRLF.
    fn find_line(&mut self, limit: usize) -> Scan {
        let avail = &self.buf[self.pos..];
        let max = limit.saturating_add(2);
        let window = avail.len().min(max);
        let from = self.scanned.min(window);
        if let Some(i) = avail[from..window].iter().position(|&b| b == b'\n') {
            self.scanned = 0;
            return Scan::Line(from + i);
        }
        if window == max {
            self.scanned = 0;
            Scan::TooLong(max)
        } else {
            self.scanned = window;
            Scan::NeedMore
        }
    }

    fn command_line(&mut self) -> Step {
        let text_len = self.command.as_ref().map_or(0, |c| c.text.len());
        let limit = self
            .limits
            .max_line
            .min(self.limits.max_text.saturating_sub(text_len));
        let too_long = if limit < self.limits.max_line {
            Problem::TextTooLong
        } else {
            Problem::LineTooLong
        };
        let lf = match self.find_line(limit) {
            Scan::NeedMore => return Step::NeedMore,
            Scan::TooLong(window) => {
                // Reported now, not at the LF that may be far away: the client hears
                // early, and nothing of the line needs to be kept meanwhile. Only the
                // window is consumed: an LF after it ends the line for the skip.
                let seen = &self.buf[self.pos..self.pos + window];
                let tag = self.tag(seen, false);
                let mut marker = MarkerScan::default();
                marker.feed(seen);
                self.pos += window;
                self.state = State::SkipLine {
                    marker,
                    literals: true,
                };
                return self.fail(tag, too_long);
            }
            Scan::Line(lf) => lf,
        };
        let start = self.pos;
        self.pos += lf + 1;
        let line = &self.buf[start..start + lf];
        let (content, crlf) = match line.strip_suffix(b"\r") {
            Some(content) => (content, true),
            None => (line, false),
        };
        // With the CR, as a skipped line is scanned: "{5}" CR CR LF is no marker.
        let marker = MarkerScan::of(line);
        if let Some(problem) = check_line(content, crlf, limit, true) {
            // A word alone on a line is a tag only if the line is not too long,
            // as it would not be found if the LF came a little later.
            let (problem, whole) = match problem {
                Problem::LineTooLong => (too_long, false),
                problem => (problem, true),
            };
            let tag = self.tag(content, whole);
            self.after_refusal(marker);
            return self.fail(tag, problem);
        }
        let tag = self.tag(content, true);
        let text = std::str::from_utf8(content).expect("check_line checked UTF-8");
        let Some(marker) = marker else {
            let (text, literals) = match self.command.take() {
                Some(mut command) => {
                    command.text.push_str(text);
                    (command.text, command.literals)
                }
                None => (text.to_owned(), Vec::new()),
            };
            return Step::Frame(Frame::Command { text, literals });
        };
        let limits = &self.limits;
        let command = self.command.get_or_insert_with(|| Partial {
            tag,
            text: String::new(),
            literals: Vec::new(),
            literal_bytes: 0,
            memory_bytes: 0,
        });
        command.text.push_str(text);
        let len = marker.len;
        // The size before the form: a client told to resend {n} synchronizing
        // should not then hear that n is too large anyway.
        let refusal = if command.literals.len() >= limits.max_literals {
            Some(Problem::TooManyLiterals {
                limit: limits.max_literals,
            })
        } else if len > limits.max_literal {
            Some(Problem::LiteralTooBig {
                len,
                limit: limits.max_literal,
            })
        } else if command.literal_bytes.saturating_add(len) > limits.max_command {
            Some(Problem::CommandTooBig {
                len: command.literal_bytes.saturating_add(len),
                limit: limits.max_command,
            })
        } else {
            limits
                .max_non_sync_literal
                .filter(|&limit| marker.non_sync && len > limit)
                .map(|limit| Problem::NonSyncTooBig { len, limit })
        };
        let sink = match refusal {
            Some(kind) => Err(kind),
            None if len == 0 => Ok(Sink::Memory(Vec::new())),
            None if len <= limits.memory_literal as u64
                && command.memory_bytes + len as usize <= limits.memory_literal =>
            {
                command.memory_bytes += len as usize;
                Ok(Sink::Memory(Vec::with_capacity(len as usize)))
            }
            None => spool_file(&limits.spool_dir)
                .map(|file| Sink::File { file, len: 0 })
                .map_err(|e| Problem::Spool(e.kind())),
        };
        match sink {
            Err(kind) => {
                let tag = command.tag.clone();
                self.after_refusal(Some(marker));
                self.fail(tag, kind)
            }
            Ok(sink) => {
                command.literal_bytes += len;
                self.state = State::Literal(Incoming {
                    remaining: len,
                    literal8: marker.literal8,
                    sink,
                });
                if marker.non_sync {
                    Step::Progress
                } else {
                    Step::Frame(Frame::Continue)
                }
            }
        }
    }

    fn literal_data(&mut self) -> Step {
        self.scanned = 0;
        let State::Literal(incoming) = &mut self.state else {
            unreachable!("literal_data is called in the literal state");
        };
        if incoming.remaining > 0 {
            let avail = &self.buf[self.pos..];
            if avail.is_empty() {
                return Step::NeedMore;
            }
            let n = avail
                .len()
                .min(usize::try_from(incoming.remaining).unwrap_or(usize::MAX));
            let chunk = &avail[..n];
            let written = incoming.sink.len();
            let nul = if incoming.literal8 {
                None
            } else {
                chunk.iter().position(|&b| b == 0)
            };
            let result = match nul {
                Some(i) => Err(Problem::NulInLiteral {
                    column: written + i as u64 + 1,
                }),
                None => match &mut incoming.sink {
                    Sink::Memory(v) => {
                        v.extend_from_slice(chunk);
                        Ok(())
                    }
                    Sink::File { file, len } => {
                        *len += n as u64;
                        file.write_all(chunk).map_err(|e| Problem::Spool(e.kind()))
                    }
                },
            };
            self.pos += n;
            incoming.remaining -= n as u64;
            if let Err(kind) = result {
                let remaining = incoming.remaining;
                let tag = self.command.take().and_then(|c| c.tag);
                self.state = State::SkipLiteral { remaining };
                return self.fail(tag, kind);
            }
            if incoming.remaining > 0 {
                return Step::NeedMore;
            }
        }
        let State::Literal(incoming) = std::mem::replace(&mut self.state, State::Line) else {
            unreachable!("still in the literal state");
        };
        let literal = match incoming.sink {
            Sink::Memory(v) => Literal::Memory(v),
            Sink::File { mut file, len } => match file.rewind() {
                Ok(()) => Literal::File { file, len },
                Err(e) => {
                    let tag = self.command.take().and_then(|c| c.tag);
                    self.state = skip_line();
                    return self.fail(tag, Problem::Spool(e.kind()));
                }
            },
        };
        self.command
            .as_mut()
            .expect("a literal belongs to a command")
            .literals
            .push(literal);
        Step::Progress
    }

    fn skip(&mut self) -> Step {
        self.scanned = 0;
        let avail = &self.buf[self.pos..];
        match &mut self.state {
            State::SkipLiteral { remaining } => {
                let n = avail
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                self.pos += n;
                *remaining -= n as u64;
                if *remaining > 0 {
                    return Step::NeedMore;
                }
                self.state = skip_line();
                Step::Progress
            }
            State::SkipLine { marker, literals } => {
                let Some(lf) = avail.iter().position(|&b| b == b'\n') else {
                    marker.feed(avail);
                    self.pos = self.buf.len();
                    return Step::NeedMore;
                };
                marker.feed(&avail[..lf]);
                self.pos += lf + 1;
                self.state = match marker.marker() {
                    Some(m) if *literals && m.non_sync => State::SkipLiteral { remaining: m.len },
                    _ => State::Line,
                };
                Step::Progress
            }
            State::Line | State::Literal(_) => unreachable!("skip is called in a skip state"),
        }
    }

    /// After a line whose command is refused: the client sends a
    /// non-synchronizing literal's bytes anyway, but waits in vain for a `+` for
    /// a synchronizing one, so that ends the command.
    fn after_refusal(&mut self, marker: Option<Marker>) {
        self.command = None;
        self.state = match marker {
            Some(m) if m.non_sync => State::SkipLiteral { remaining: m.len },
            _ => State::Line,
        };
    }

    /// The tag for an error: the command's, or the first word of its first line.
    fn tag(&self, line: &[u8], whole: bool) -> Option<String> {
        match &self.command {
            Some(command) => command.tag.clone(),
            None => tag_of(line, whole),
        }
    }

    fn fail(&mut self, tag: Option<String>, problem: Problem) -> Step {
        self.command = None;
        let FrameError { kind, message } = self.error(problem);
        Step::Frame(Frame::Error { tag, kind, message })
    }

    fn error(&self, problem: Problem) -> FrameError {
        let l = &self.limits;
        let message = match problem {
            Problem::LineTooLong => format!("line too long: the limit is {} octets", l.max_line),
            Problem::TextTooLong => format!(
                "command too long: its lines add up to more than {} octets (literals not counted)",
                l.max_text
            ),
            Problem::BareLf { column } => {
                format!("bare LF at octet {column} of the line: lines end with CRLF")
            }
            Problem::BareCr { column } => {
                format!("bare CR at octet {column} of the line: CR may only appear in CRLF")
            }
            Problem::Nul { column } => format!("NUL at octet {column} of the line"),
            Problem::NotUtf8 { column } => {
                format!("invalid UTF-8 at octet {column} of the line")
            }
            Problem::NulInLiteral { column } => format!(
                "NUL at octet {column} of a literal: only a literal8 (~{{n}}, RFC 3516) may hold NUL"
            ),
            Problem::LiteralTooBig { len, limit } => {
                format!("literal too large: {len} bytes, the limit is {limit}")
            }
            Problem::CommandTooBig { len, limit } => {
                format!("literals too large: {len} bytes in one command, the limit is {limit}")
            }
            Problem::NonSyncTooBig { len, limit } => format!(
                "non-synchronizing literal too large: {len} bytes, the limit is {limit} (LITERAL-); send it as {{{len}}}"
            ),
            Problem::TooManyLiterals { limit } => {
                format!("too many literals in one command, the limit is {limit}")
            }
            Problem::Spool(e) => {
                format!("cannot store the literal: {}", io::Error::from(e))
            }
        };
        FrameError {
            kind: problem.kind(),
            message,
        }
    }
}

fn skip_line() -> State {
    State::SkipLine {
        marker: MarkerScan::default(),
        literals: true,
    }
}

/// The first problem of a line, by position: `content` is the line without its
/// line ending, `crlf` whether that was CRLF (else a bare LF).
fn check_line(content: &[u8], crlf: bool, limit: usize, utf8: bool) -> Option<Problem> {
    if content.len() > limit {
        return Some(Problem::LineTooLong);
    }
    let control = content.iter().position(|&b| b == b'\r' || b == 0);
    let invalid = if utf8 {
        std::str::from_utf8(content).err().map(|e| e.valid_up_to())
    } else {
        None
    };
    // CR and NUL are valid UTF-8, so the two positions never coincide.
    match (control, invalid) {
        (Some(c), i) if i.is_none_or(|i| c < i) => Some(if content[c] == 0 {
            Problem::Nul { column: c + 1 }
        } else {
            Problem::BareCr { column: c + 1 }
        }),
        (_, Some(i)) => Some(Problem::NotUtf8 { column: i + 1 }),
        _ if !crlf => Some(Problem::BareLf {
            column: content.len() + 1,
        }),
        _ => None,
    }
}

/// The first word of a command line if it is a valid tag (RFC 9051: 1*<any
/// ASTRING-CHAR except "+">). `whole`: the line is complete, so a line of one
/// word is that word; otherwise the word must end with a space already received.
fn tag_of(line: &[u8], whole: bool) -> Option<String> {
    let word = match line.iter().position(|&b| b == b' ') {
        Some(end) => &line[..end],
        None if whole => line,
        None => return None,
    };
    let tag_char = |b: &u8| {
        b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
    };
    if word.is_empty() || !word.iter().all(tag_char) {
        return None;
    }
    Some(String::from_utf8_lossy(word).into_owned())
}

/// A new spool file, unlinked at once: it lives only as long as its handle, so
/// neither a crash nor a forgotten literal leaves it behind, and no other process
/// can open it by name.
fn spool_file(dir: &Path) -> io::Result<File> {
    let mut options = File::options();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut attempts = 0;
    loop {
        let path = dir.join(format!("gannet-literal-{:016x}", rand::random::<u64>()));
        match options.open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            // Only a name clash, which a new random name resolves.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// A literal marker ending a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Marker {
    /// The announced length; saturated, as anything that large is refused anyway.
    len: u64,
    non_sync: bool,
    literal8: bool,
}

/// Follows the bytes of a line as they go by to tell whether it ends with a
/// literal marker (`{n}`, `{n+}`, `~{n}`, `~{n+}`, n = 1*DIGIT), without keeping
/// the line. The same scan serves kept lines and skipped ones, so the two can
/// never disagree about where a command ends.
#[derive(Debug, Clone, Copy, Default)]
struct MarkerScan {
    phase: Phase,
    prev: u8,
    len: u64,
    literal8: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    /// Not in a marker.
    #[default]
    Outside,
    /// After `{`.
    Open,
    Digits,
    /// After the digits and `+`.
    Plus,
    /// After `}`; the line must end here.
    Closed {
        non_sync: bool,
    },
    /// After `}` and CR, which a skipped line still has.
    ClosedCr {
        non_sync: bool,
    },
}

impl MarkerScan {
    fn of(line: &[u8]) -> Option<Marker> {
        let mut scan = MarkerScan::default();
        scan.feed(line);
        scan.marker()
    }

    fn feed(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else {
            return;
        };
        // Only a `{` starts a marker: what precedes the last one cannot matter, and
        // once a byte has ruled the marker out only a later `{` could start another.
        // So a long line costs one backward search rather than a step per byte.
        let mut rest = bytes;
        if let Some(open) = bytes.iter().rposition(|&b| b == b'{') {
            let before = if open == 0 {
                self.prev
            } else {
                bytes[open - 1]
            };
            self.literal8 = before == b'~';
            self.phase = Phase::Open;
            self.len = 0;
            rest = &bytes[open + 1..];
        }
        for &b in rest {
            if self.phase == Phase::Outside {
                break;
            }
            self.phase = match (self.phase, b) {
                (Phase::Open | Phase::Digits, b'0'..=b'9') => {
                    self.len = self
                        .len
                        .saturating_mul(10)
                        .saturating_add(u64::from(b - b'0'));
                    Phase::Digits
                }
                (Phase::Digits, b'+') => Phase::Plus,
                (Phase::Digits, b'}') => Phase::Closed { non_sync: false },
                (Phase::Plus, b'}') => Phase::Closed { non_sync: true },
                (Phase::Closed { non_sync }, b'\r') => Phase::ClosedCr { non_sync },
                _ => Phase::Outside,
            };
        }
        self.prev = last;
    }

    fn marker(&self) -> Option<Marker> {
        match self.phase {
            Phase::Closed { non_sync } | Phase::ClosedCr { non_sync } => Some(Marker {
                len: self.len,
                non_sync,
                literal8: self.literal8,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits(dir: &Path) -> Limits {
        Limits {
            max_line: 64,
            max_text: 256,
            max_literal: 10_000,
            max_command: 20_000,
            max_literals: 8,
            max_non_sync_literal: None,
            memory_literal: 32,
            spool_dir: dir.to_path_buf(),
        }
    }

    /// A frame with the literals' bytes and without the error message, to compare.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum F {
        C(String, Vec<Vec<u8>>),
        Plus,
        E(Option<String>, FrameErrorKind),
    }

    fn c(text: &str, literals: &[&[u8]]) -> F {
        F::C(text.into(), literals.iter().map(|l| l.to_vec()).collect())
    }

    fn e(tag: &str, kind: FrameErrorKind) -> F {
        F::E(Some(tag.into()).filter(|t: &String| !t.is_empty()), kind)
    }

    fn simple(frame: Frame) -> F {
        match frame {
            Frame::Command { text, literals } => F::C(
                text,
                literals
                    .iter()
                    .map(|l| l.bytes().unwrap().into_owned())
                    .collect(),
            ),
            Frame::Continue => F::Plus,
            Frame::Error { tag, kind, .. } => F::E(tag, kind),
        }
    }

    fn drain(framer: &mut Framer, out: &mut Vec<Frame>) {
        while let Some(frame) = framer.next_frame() {
            out.push(frame);
        }
    }

    /// Pushes the chunks one after another, pulling frames after each.
    fn run(limits: &Limits, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut framer = Framer::new(limits.clone());
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            drain(&mut framer, &mut out);
            assert!(
                framer.buffered() <= limits.max_line + 1,
                "{}",
                framer.buffered()
            );
        }
        out
    }

    fn frames(limits: &Limits, input: &[u8]) -> Vec<F> {
        run(limits, &[input]).into_iter().map(simple).collect()
    }

    fn messages(limits: &Limits, input: &[u8]) -> Vec<String> {
        run(limits, &[input])
            .into_iter()
            .filter_map(|f| match f {
                Frame::Error { message, .. } => Some(message),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn literals_are_left_out_and_markers_kept() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        assert_eq!(
            frames(&l, b"A1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n"),
            [F::Plus, c("A1 LOGIN {5} {6+}", &[b"alice", b"secret"])]
        );
        assert_eq!(frames(&l, b"A1 NOOP\r\n"), [c("A1 NOOP", &[])]);
        // A marker must end the line to be one.
        assert_eq!(frames(&l, b"A1 X {5} Y\r\n"), [c("A1 X {5} Y", &[])]);
        assert_eq!(frames(&l, b"A1 X {5a}\r\n"), [c("A1 X {5a}", &[])]);
        assert_eq!(frames(&l, b"A1 X {}\r\n"), [c("A1 X {}", &[])]);
        assert_eq!(frames(&l, b"A1 X {+}\r\n"), [c("A1 X {+}", &[])]);
        // The grammar, not the framer, says what an empty line is.
        assert_eq!(frames(&l, b"\r\n"), [c("", &[])]);
        // An empty synchronizing literal still waits for the continuation.
        assert_eq!(
            frames(&l, b"A1 LOGIN {0}\r\n {0+}\r\n\r\n"),
            [F::Plus, c("A1 LOGIN {0} {0+}", &[b"", b""])]
        );
        // Leading zeros are digits too (number = 1*DIGIT).
        assert_eq!(
            frames(&l, b"A1 X {0003+}\r\nabc\r\n"),
            [c("A1 X {0003+}", &[b"abc"])]
        );
        // The literal's bytes are anything, CRLF and braces included.
        assert_eq!(
            frames(&l, b"A1 X {9+}\r\n{3}\r\nA2 Y\r\n"),
            [c("A1 X {9+}", &[b"{3}\r\nA2 Y"])]
        );
    }

    #[test]
    fn literal8_may_hold_nul_and_a_literal_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        assert_eq!(
            frames(&l, b"A1 APPEND INBOX ~{5+}\r\na\0b\r\n\r\n"),
            [c("A1 APPEND INBOX ~{5+}", &[b"a\0b\r\n"])]
        );
        assert_eq!(
            frames(&l, b"A1 APPEND INBOX ~{3}\r\n\0\0\0\r\n"),
            [F::Plus, c("A1 APPEND INBOX ~{3}", &[b"\0\0\0"])]
        );
        // The rest of the literal and of the command go; the next command is intact.
        assert_eq!(
            frames(&l, b"A1 APPEND INBOX {5+}\r\na\0bcd more\r\nA2 NOOP\r\n"),
            [e("A1", FrameErrorKind::NulInLiteral), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, b"A1 APPEND INBOX {5+}\r\na\0bcd\r\n"),
            ["NUL at octet 2 of a literal: only a literal8 (~{n}, RFC 3516) may hold NUL"]
        );
    }

    #[test]
    fn lines_end_with_crlf_only() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        assert_eq!(
            frames(&l, b"A1 NOOP\nA2 NOOP\r\n"),
            [e("A1", FrameErrorKind::BareLf), c("A2 NOOP", &[])]
        );
        assert_eq!(
            frames(&l, b"A1 NO\rOP\r\nA2 NOOP\r\n"),
            [e("A1", FrameErrorKind::BareCr), c("A2 NOOP", &[])]
        );
        assert_eq!(
            frames(&l, b"A1 NOOP\r\r\n"),
            [e("A1", FrameErrorKind::BareCr)]
        );
        assert_eq!(
            messages(&l, b"A1 NOOP\n"),
            ["bare LF at octet 8 of the line: lines end with CRLF"]
        );
        assert_eq!(
            messages(&l, b"A1 NO\rOP\r\n"),
            ["bare CR at octet 6 of the line: CR may only appear in CRLF"]
        );
    }

    #[test]
    fn nul_and_invalid_utf8_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        assert_eq!(
            frames(&l, b"A1 NO\0OP\r\nA2 NOOP\r\n"),
            [e("A1", FrameErrorKind::Nul), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, b"A1 NO\0OP\r\n"),
            ["NUL at octet 6 of the line"]
        );
        assert_eq!(
            frames(&l, b"A1 LOGIN \xff x\r\n"),
            [e("A1", FrameErrorKind::NotUtf8)]
        );
        assert_eq!(
            messages(&l, b"A1 LOGIN \xc3\xa9\xff\r\n"),
            ["invalid UTF-8 at octet 12 of the line"]
        );
        // UTF-8 is fine, on the first line and after a literal.
        assert_eq!(
            frames(&l, "A1 CREATE \"Bücher\" {1+}\r\nx \"台北\"\r\n".as_bytes()),
            [c("A1 CREATE \"Bücher\" {1+} \"台北\"", &[b"x"])]
        );
        // On a line after a literal the column counts from that line's start.
        assert_eq!(
            messages(&l, b"A1 X {1+}\r\nx a\xff\r\n"),
            ["invalid UTF-8 at octet 3 of the line"]
        );
    }

    #[test]
    fn tags_are_reported_when_valid() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        let tag = |input: &[u8]| match frames(&l, input).remove(0) {
            F::E(tag, _) => tag,
            f => panic!("{f:?}"),
        };
        assert_eq!(tag(b"a.b]c NO\0OP\r\n").as_deref(), Some("a.b]c"));
        assert_eq!(tag(b"a+b NO\0OP\r\n"), None);
        assert_eq!(tag(b"* NO\0OP\r\n"), None);
        assert_eq!(tag(b"{5} NO\0OP\r\n"), None);
        assert_eq!(tag(b"A\xff NOOP\r\n"), None);
        assert_eq!(tag(b" NO\0OP\r\n"), None);
        assert_eq!(tag(b"A1\0\r\n"), None);
        assert_eq!(tag(b"A1\n").as_deref(), Some("A1"));
        // The first line's tag, for an error on a later line.
        assert_eq!(tag(b"A7 X {1+}\r\nx \0\r\n").as_deref(), Some("A7"));
    }

    #[test]
    fn too_long_lines_are_skipped_without_being_kept() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        let long = format!("A1 {}", "x".repeat(100));
        assert_eq!(
            frames(&l, format!("{long}\r\nA2 NOOP\r\n").as_bytes()),
            [e("A1", FrameErrorKind::LineTooLong), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, format!("{long}\r\n").as_bytes()),
            ["line too long: the limit is 64 octets"]
        );
        // The client sends a non-synchronizing literal at its end regardless.
        assert_eq!(
            frames(
                &l,
                format!("{long} {{12+}}\r\nA3 NOOP\r\nxyz more text\r\nA2 NOOP\r\n").as_bytes()
            ),
            [e("A1", FrameErrorKind::LineTooLong), c("A2 NOOP", &[])]
        );
        // It waits in vain for a `+` for a synchronizing one.
        assert_eq!(
            frames(&l, format!("{long} {{12}}\r\nA2 NOOP\r\n").as_bytes()),
            [e("A1", FrameErrorKind::LineTooLong), c("A2 NOOP", &[])]
        );
        // 64 octets and CRLF fit; 65 do not, with CRLF or a bare LF.
        let fits = "x".repeat(64);
        assert_eq!(
            frames(&l, format!("{fits}\r\n").as_bytes()),
            [c(&fits, &[])]
        );
        assert_eq!(
            frames(&l, format!("{fits}x\r\nA2 NOOP\r\n").as_bytes()),
            [e("", FrameErrorKind::LineTooLong), c("A2 NOOP", &[])]
        );
        assert_eq!(
            frames(&l, format!("{fits}x\nA2 NOOP\r\n").as_bytes()),
            [e("", FrameErrorKind::LineTooLong), c("A2 NOOP", &[])]
        );
        // A marker with many leading zeros at the end of a skipped line.
        let zeros = "0".repeat(40);
        assert_eq!(
            frames(
                &l,
                format!("{long} {{{zeros}3+}}\r\nabc\r\nA2 NOOP\r\n").as_bytes()
            ),
            [e("A1", FrameErrorKind::LineTooLong), c("A2 NOOP", &[])]
        );
    }

    #[test]
    fn a_commands_text_is_bounded_over_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        let line = format!("{} {{0+}}\r\n", "y".repeat(50));
        let input = format!("A1 {}{}\r\nA2 NOOP\r\n", line.repeat(6), "y".repeat(10));
        assert_eq!(
            frames(&l, input.as_bytes()),
            [e("A1", FrameErrorKind::TextTooLong), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, input.as_bytes()),
            ["command too long: its lines add up to more than 256 octets (literals not counted)"]
        );
    }

    #[test]
    fn literal_sizes_are_limited() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = limits(dir.path());
        // No `+`, so the client sends no bytes: the next line is a command.
        assert_eq!(
            frames(&l, b"A1 APPEND INBOX {10001}\r\nA2 NOOP\r\n"),
            [e("A1", FrameErrorKind::TooBig), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, b"A1 APPEND INBOX {10001}\r\n"),
            ["literal too large: 10001 bytes, the limit is 10000"]
        );
        // A non-synchronizing one arrives anyway and is dropped, counted.
        let big = format!(
            "A1 APPEND INBOX {{10001+}}\r\n{}\r\nA2 NOOP\r\n",
            "z".repeat(10001)
        );
        assert_eq!(
            frames(&l, big.as_bytes()),
            [e("A1", FrameErrorKind::TooBig), c("A2 NOOP", &[])]
        );
        // Beyond u64: the length saturates, and is refused all the same.
        assert_eq!(
            frames(
                &l,
                b"A1 APPEND INBOX {99999999999999999999999}\r\nA2 NOOP\r\n"
            ),
            [e("A1", FrameErrorKind::TooBig), c("A2 NOOP", &[])]
        );
        // The command's literals together.
        let three = format!(
            "A1 X {{8000+}}\r\n{0} {{8000+}}\r\n{0} {{8000+}}\r\n{0}\r\nA2 NOOP\r\n",
            "w".repeat(8000)
        );
        assert_eq!(
            frames(&l, three.as_bytes()),
            [e("A1", FrameErrorKind::TooBig), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, three.as_bytes()),
            ["literals too large: 24000 bytes in one command, the limit is 20000"]
        );
        // How many.
        let many = format!("A1 X{}\r\nA2 NOOP\r\n", " {1+}\r\nv".repeat(9));
        assert_eq!(
            frames(&l, many.as_bytes()),
            [e("A1", FrameErrorKind::TooManyLiterals), c("A2 NOOP", &[])]
        );
        // LITERAL-: non-synchronizing literals up to the limit only.
        l.max_non_sync_literal = Some(100);
        let ok = format!("A1 APPEND INBOX {{100+}}\r\n{}\r\n", "z".repeat(100));
        assert_eq!(frames(&l, ok.as_bytes()).len(), 1);
        let over = format!(
            "A1 APPEND INBOX {{101+}}\r\n{}\r\nA2 NOOP\r\n",
            "z".repeat(101)
        );
        assert_eq!(
            frames(&l, over.as_bytes()),
            [e("A1", FrameErrorKind::NonSyncTooBig), c("A2 NOOP", &[])]
        );
        assert_eq!(
            messages(&l, over.as_bytes()),
            [
                "non-synchronizing literal too large: 101 bytes, the limit is 100 (LITERAL-); send it as {101}"
            ]
        );
        assert!(FrameErrorKind::NonSyncTooBig.too_big() && FrameErrorKind::TooBig.too_big());
        assert!(!FrameErrorKind::LineTooLong.too_big());
        // The synchronizing form of the same literal is fine.
        let sync = format!("A1 APPEND INBOX {{101}}\r\n{}\r\n", "z".repeat(101));
        assert_eq!(frames(&l, sync.as_bytes())[0], F::Plus);
    }

    #[test]
    fn an_accepted_literal_is_read_even_after_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        // The client got its `+` and sends all 10 bytes: "A2 NOOP" in them is data.
        assert_eq!(
            frames(&l, b"A1 LOGIN {10}\r\nab\0A2 NOOP\r\nA3 NOOP\r\n"),
            [
                F::Plus,
                e("A1", FrameErrorKind::NulInLiteral),
                c("A3 NOOP", &[])
            ]
        );
        // An error on the line after an accepted literal ends the command there.
        assert_eq!(
            frames(&l, b"A1 LOGIN {5}\r\nalice \xff\r\nA2 NOOP\r\n"),
            [F::Plus, e("A1", FrameErrorKind::NotUtf8), c("A2 NOOP", &[])]
        );
        // ... or after that line's non-synchronizing literal and the rest.
        assert_eq!(
            frames(
                &l,
                b"A1 LOGIN {5}\r\nalice\0 {4+}\r\nA2 X more {3}\r\nA3 NOOP\r\n"
            ),
            [F::Plus, e("A1", FrameErrorKind::Nul), c("A3 NOOP", &[])]
        );
    }

    #[test]
    fn large_literals_are_spooled_to_unlinked_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        let data: Vec<u8> = (1..=100u8).collect();
        let mut input = b"A1 APPEND INBOX {100}\r\n".to_vec();
        input.extend_from_slice(&data);
        input.extend_from_slice(b"\r\n");
        let mut out = run(&l, &[&input]);
        assert_eq!(out.len(), 2);
        let Frame::Command { text, mut literals } = out.pop().unwrap() else {
            panic!("{out:?}")
        };
        assert_eq!(text, "A1 APPEND INBOX {100}");
        let Literal::File { file, len } = literals.pop().unwrap() else {
            panic!("not spooled")
        };
        assert_eq!(len, 100);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        }
        // Rewound, ready to be read or copied.
        let mut read = Vec::new();
        io::Read::read_to_end(&mut &file, &mut read).unwrap();
        assert_eq!(read, data);
    }

    #[test]
    fn memory_is_shared_by_a_commands_literals() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        let a = [b'a'; 20];
        let input = [
            &b"A1 X {20+}\r\n"[..],
            &a,
            b" {20+}\r\n",
            &a,
            b" {0+}\r\n\r\n",
        ]
        .concat();
        let Some(Frame::Command { literals, .. }) = run(&l, &[&input]).pop() else {
            panic!()
        };
        let kinds: Vec<bool> = literals
            .iter()
            .map(|l| matches!(l, Literal::Memory(_)))
            .collect();
        // The second would bring the command over 32 bytes in memory; an empty
        // one costs nothing.
        assert_eq!(kinds, [true, false, true]);
        assert_eq!(literals[1].bytes().unwrap().as_ref(), a);
    }

    #[test]
    fn a_spool_failure_refuses_the_literal() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(&dir.path().join("missing"));
        let data = "q".repeat(40);
        assert_eq!(
            frames(&l, b"A1 APPEND INBOX {40}\r\nA2 NOOP\r\n"),
            [e("A1", FrameErrorKind::Spool), c("A2 NOOP", &[])]
        );
        assert_eq!(
            frames(
                &l,
                format!("A1 APPEND INBOX {{40+}}\r\n{data}\r\nA2 NOOP\r\n").as_bytes()
            ),
            [e("A1", FrameErrorKind::Spool), c("A2 NOOP", &[])]
        );
        assert!(
            messages(&l, b"A1 APPEND INBOX {40}\r\n")[0].starts_with("cannot store the literal: ")
        );
    }

    #[test]
    fn chunking_does_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = limits(dir.path());
        l.max_non_sync_literal = Some(16);
        let inputs: [&[u8]; 6] = [
            b"A1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
            b"A2 APPEND INBOX ~{40+}\r\n\x00123456789012345678901234567890123456789\r\nA3 NOOP\r\n",
            b"A4 X\xff {3+}\r\nabc more\r\nA5 NOOP\r\n",
            b"A6 X {17+}\r\n12345678901234567 {2}\r\nA7 NOOP\r\n",
            b"A8 NOOP\nA9 {3}\r\na\0c\r\nB1 x\r\r\nB2 NOOP\r\n",
            b"B3 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {4+}\r\n\r\n\r\n\r\nB4 NOOP\r\n",
        ];
        for input in inputs {
            let whole: Vec<F> = frames(&l, input);
            for i in 0..=input.len() {
                let split: Vec<F> = run(&l, &[&input[..i], &input[i..]])
                    .into_iter()
                    .map(simple)
                    .collect();
                assert_eq!(
                    split,
                    whole,
                    "{:?} split at {i}",
                    String::from_utf8_lossy(input)
                );
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            let single: Vec<F> = run(&l, &bytes).into_iter().map(simple).collect();
            assert_eq!(single, whole);
        }
        assert_eq!(
            frames(&l, inputs[5]),
            [e("B3", FrameErrorKind::LineTooLong), c("B4 NOOP", &[])]
        );
        assert_eq!(
            frames(&l, inputs[4]),
            [
                e("A8", FrameErrorKind::BareLf),
                F::Plus,
                e("A9", FrameErrorKind::NulInLiteral),
                e("B1", FrameErrorKind::BareCr),
                c("B2 NOOP", &[])
            ]
        );
    }

    #[test]
    fn raw_lines() {
        let dir = tempfile::tempdir().unwrap();
        let l = limits(dir.path());
        let mut framer = Framer::new(l.clone());
        framer.push(b"AGFsaWNl\r\nDO");
        assert_eq!(framer.next_line(), Some(Ok(b"AGFsaWNl".to_vec())));
        assert_eq!(framer.next_line(), None);
        // Braces mean nothing and the bytes need not be UTF-8.
        framer.push(b"NE {5}\xff\r\n");
        assert_eq!(framer.next_line(), Some(Ok(b"DONE {5}\xff".to_vec())));
        framer.push(b"DONE\n=\r\n");
        assert_eq!(
            framer.next_line().unwrap().unwrap_err().kind,
            FrameErrorKind::BareLf
        );
        assert_eq!(framer.next_line(), Some(Ok(b"=".to_vec())));
        framer.push(&[b'x'; 100]);
        let err = framer.next_line().unwrap().unwrap_err();
        assert_eq!(err.kind, FrameErrorKind::LineTooLong);
        assert_eq!(err.to_string(), "line too long: the limit is 64 octets");
        framer.push(b"x {3+}\r\n*\r\n");
        assert_eq!(framer.next_line(), Some(Ok(b"*".to_vec())));
        framer.push(b"D\0NE\r\nA1 NOOP\r\n");
        assert_eq!(
            framer.next_line().unwrap().unwrap_err().kind,
            FrameErrorKind::Nul
        );
        assert_eq!(simple(framer.next_frame().unwrap()), c("A1 NOOP", &[]));
        // A refused command is skipped to its end before the line.
        framer.push(b"A1 X\0 {3+}\r\nabc\r\nDONE\r\n");
        assert!(matches!(framer.next_frame(), Some(Frame::Error { .. })));
        assert_eq!(framer.next_line(), Some(Ok(b"DONE".to_vec())));
        assert!(!framer.in_command());
    }

    #[test]
    fn pipelined_bytes_are_visible() {
        let dir = tempfile::tempdir().unwrap();
        let mut framer = Framer::new(limits(dir.path()));
        framer.push(b"A1 STARTTLS\r\nA2 NOOP\r\n");
        assert_eq!(simple(framer.next_frame().unwrap()), c("A1 STARTTLS", &[]));
        assert_eq!(framer.buffered(), 9);
        framer.push(b"A3 X {2}\r\n");
        let _ = framer.next_frame();
        assert_eq!(framer.next_frame(), Some(Frame::Continue));
        assert!(framer.in_command());
    }

    #[test]
    fn memory_stays_bounded_on_a_huge_line() {
        let dir = tempfile::tempdir().unwrap();
        let l = Limits::new(dir.path().to_path_buf(), 64 << 20);
        let mut framer = Framer::new(l.clone());
        let chunk = vec![b'a'; 64 * 1024];
        let mut out = Vec::new();
        for _ in 0..(100 << 20) / chunk.len() {
            framer.push(&chunk);
            drain(&mut framer, &mut out);
            assert!(framer.buffered() <= l.max_line + 1);
            assert!(
                framer.buf.capacity() <= 4 * chunk.len(),
                "{}",
                framer.buf.capacity()
            );
        }
        framer.push(b"\r\nA1 NOOP\r\n");
        drain(&mut framer, &mut out);
        let out: Vec<F> = out.into_iter().map(simple).collect();
        assert_eq!(
            out,
            [F::E(None, FrameErrorKind::LineTooLong), c("A1 NOOP", &[])]
        );
    }

    #[test]
    fn memory_stays_bounded_on_a_huge_literal() {
        let dir = tempfile::tempdir().unwrap();
        let l = Limits::new(dir.path().to_path_buf(), 64 << 20);
        let mut framer = Framer::new(l);
        let len = 16 << 20;
        framer.push(format!("A1 APPEND INBOX {{{len}}}\r\n").as_bytes());
        assert_eq!(framer.next_frame(), Some(Frame::Continue));
        let chunk = vec![b'm'; 64 * 1024];
        for _ in 0..len / chunk.len() {
            framer.push(&chunk);
            assert_eq!(framer.next_frame(), None);
            assert_eq!(framer.buffered(), 0);
        }
        framer.push(b"\r\n");
        let Some(Frame::Command { literals, .. }) = framer.next_frame() else {
            panic!()
        };
        assert!(matches!(literals[0], Literal::File { len: l, .. } if l == len as u64));
    }

    #[derive(Debug, Clone)]
    struct Lit {
        sync: bool,
        eight: bool,
        data: Vec<u8>,
    }

    impl Lit {
        fn marker(&self) -> String {
            let tilde = if self.eight { "~" } else { "" };
            let plus = if self.sync { "" } else { "+" };
            format!("{tilde}{{{}{plus}}}", self.data.len())
        }
    }

    /// A command as text segments with a literal between each two.
    #[derive(Debug, Clone)]
    struct Cmd {
        segments: Vec<String>,
        literals: Vec<Lit>,
    }

    impl Cmd {
        fn write(&self, input: &mut Vec<u8>, expected: &mut Vec<F>) {
            let mut text = String::new();
            for (segment, lit) in self.segments.iter().zip(&self.literals) {
                text.push_str(segment);
                text.push_str(&lit.marker());
                input.extend_from_slice(format!("{segment}{}\r\n", lit.marker()).as_bytes());
                input.extend_from_slice(&lit.data);
                if lit.sync {
                    expected.push(F::Plus);
                }
            }
            let last = self.segments.last().unwrap();
            text.push_str(last);
            input.extend_from_slice(format!("{last}\r\n").as_bytes());
            let literals = self.literals.iter().map(|l| l.data.clone()).collect();
            expected.push(F::C(text, literals));
        }
    }

    fn lit(max_non_sync: usize) -> impl Strategy<Value = Lit> {
        let len = prop_oneof![3 => 0..40usize, 1 => 40..3000usize];
        (any::<bool>(), any::<bool>(), len).prop_flat_map(move |(sync, eight, len)| {
            let len = if sync { len } else { len.min(max_non_sync) };
            // A literal holds any byte but NUL; a literal8 any byte.
            let byte = if eight {
                any::<u8>().boxed()
            } else {
                (1..=255u8).boxed()
            };
            prop::collection::vec(byte, len).prop_map(move |data| Lit { sync, eight, data })
        })
    }

    /// Text that never ends in a marker by itself (no '}'), with multi-byte UTF-8.
    fn segment() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ()\\[\\]\"*%~{+é台]{0,20}"
    }

    fn cmd(max_non_sync: usize) -> impl Strategy<Value = Cmd> {
        (
            prop::collection::vec((segment(), lit(max_non_sync)), 0..4),
            segment(),
        )
            .prop_map(|(pairs, last)| {
                let (mut segments, literals): (Vec<String>, Vec<Lit>) = pairs.into_iter().unzip();
                segments.push(last);
                Cmd { segments, literals }
            })
    }

    fn proptest_limits(dir: &Path, max_non_sync: Option<u64>) -> Limits {
        Limits {
            max_line: 128,
            max_text: 1024,
            max_non_sync_literal: max_non_sync,
            ..limits(dir)
        }
    }

    /// Splits `input` into chunks of the sizes given, cycling through them.
    fn chunked<'a>(input: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        let mut rest = input;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        chunks
    }

    /// A refused command, and how the client would go on after its refused part.
    #[derive(Debug, Clone)]
    enum Bad {
        /// A line over `max_line`, maybe ending with a non-synchronizing literal.
        LongLine(usize, Option<(Vec<u8>, String)>),
        Nul(Option<(Vec<u8>, String)>),
        NotUtf8(Option<(Vec<u8>, String)>),
        /// A non-synchronizing literal over LITERAL-'s 100 octets.
        BigNonSync(Vec<u8>, String),
        /// A synchronizing literal over `max_literal`: nothing follows.
        BigSync,
        /// A NUL at some octet of a literal, synchronizing or not.
        NulInLiteral(bool, Vec<u8>, usize, String),
    }

    fn tail() -> impl Strategy<Value = Option<(Vec<u8>, String)>> {
        prop::option::of((prop::collection::vec(any::<u8>(), 0..200), segment()))
    }

    fn bad() -> impl Strategy<Value = Bad> {
        prop_oneof![
            (0..200usize, tail()).prop_map(|(extra, t)| Bad::LongLine(extra, t)),
            tail().prop_map(Bad::Nul),
            tail().prop_map(Bad::NotUtf8),
            (prop::collection::vec(any::<u8>(), 101..400), segment())
                .prop_map(|(d, s)| Bad::BigNonSync(d, s)),
            Just(Bad::BigSync),
            (
                any::<bool>(),
                prop::collection::vec(any::<u8>(), 1..100),
                any::<prop::sample::Index>(),
                segment()
            )
                .prop_map(|(sync, d, at, s)| {
                    let at = at.index(d.len());
                    Bad::NulInLiteral(sync, d, at, s)
                }),
        ]
    }

    impl Bad {
        fn write(&self, tag: &str, input: &mut Vec<u8>, expected: &mut Vec<F>) {
            let mut with_tail = |line: Vec<u8>, tail: &Option<(Vec<u8>, String)>| {
                input.extend_from_slice(&line);
                if let Some((data, rest)) = tail {
                    input.extend_from_slice(format!(" {{{}+}}\r\n", data.len()).as_bytes());
                    input.extend_from_slice(data);
                    input.extend_from_slice(rest.as_bytes());
                }
                input.extend_from_slice(b"\r\n");
            };
            let kind = match self {
                Bad::LongLine(extra, t) => {
                    with_tail(format!("{tag} {}", "x".repeat(128 + extra)).into_bytes(), t);
                    FrameErrorKind::LineTooLong
                }
                Bad::Nul(t) => {
                    with_tail(format!("{tag} A\0B").into_bytes(), t);
                    FrameErrorKind::Nul
                }
                Bad::NotUtf8(t) => {
                    with_tail([tag.as_bytes(), b" A\xc3B"].concat(), t);
                    FrameErrorKind::NotUtf8
                }
                Bad::BigNonSync(data, rest) => {
                    input.extend_from_slice(
                        format!("{tag} APPEND x {{{}+}}\r\n", data.len()).as_bytes(),
                    );
                    input.extend_from_slice(data);
                    input.extend_from_slice(format!("{rest}\r\n").as_bytes());
                    FrameErrorKind::NonSyncTooBig
                }
                Bad::BigSync => {
                    input.extend_from_slice(format!("{tag} APPEND x {{10001}}\r\n").as_bytes());
                    FrameErrorKind::TooBig
                }
                Bad::NulInLiteral(sync, data, at, rest) => {
                    let plus = if *sync { "" } else { "+" };
                    input.extend_from_slice(
                        format!("{tag} X {{{}{plus}}}\r\n", data.len()).as_bytes(),
                    );
                    let mut data = data.clone();
                    data[*at] = 0;
                    input.extend_from_slice(&data);
                    input.extend_from_slice(format!("{rest}\r\n").as_bytes());
                    if *sync {
                        expected.push(F::Plus);
                    }
                    FrameErrorKind::NulInLiteral
                }
            };
            expected.push(e(tag, kind));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn commands_frame_as_sent_in_any_chunks(
            cmds in prop::collection::vec(cmd(usize::MAX), 1..4),
            sizes in prop::collection::vec(1..64usize, 1..8),
            literal_minus in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let l = proptest_limits(dir.path(), literal_minus.then_some(10_000));
            let (mut input, mut expected) = (Vec::new(), Vec::new());
            for cmd in &cmds {
                cmd.write(&mut input, &mut expected);
            }
            let got: Vec<F> = run(&l, &chunked(&input, &sizes)).into_iter().map(simple).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }

        #[test]
        fn refused_commands_do_not_disturb_the_next(
            items in prop::collection::vec(prop_oneof![cmd(100).prop_map(Ok), bad().prop_map(Err)], 1..6),
            sizes in prop::collection::vec(1..64usize, 1..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let l = proptest_limits(dir.path(), Some(100));
            let (mut input, mut expected) = (Vec::new(), Vec::new());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Ok(cmd) => cmd.write(&mut input, &mut expected),
                    Err(bad) => bad.write(&format!("B{i}"), &mut input, &mut expected),
                }
            }
            let got: Vec<F> = run(&l, &chunked(&input, &sizes)).into_iter().map(simple).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
