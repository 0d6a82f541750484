//! Parses an imaptest script into typed steps.
//!
//! The format (see `rfc-vectors/imaptest/scripted_test.md`): a header of
//! `key: value` lines, an empty line, then command groups. A group is one command
//! (or several pipelined ones with `tagN` prefixes) with the untagged replies
//! expected while it runs (`*` must come, `!` must not, `?` may) and the expected
//! tagged reply, given before the command (`ok select x`) or after the untagged
//! lines (`ok [read-write]`). `{{{` at a line's end starts a literal that runs to a
//! line starting with `}}}`; `~{{{` makes it a binary literal kept byte for byte.
//!
//! Without a `messages:` header every message of the mbox file is appended, as
//! the upstream documentation says and older imaptest did (newer imaptest
//! appends none; `urlauth2` is the one script that notices, and it fetches
//! messages it never appends unless the default is "all").

use std::path::{Path, PathBuf};

use super::args::{self, Arg};

/// The most connections a script may use, as in imaptest.
const MAX_CONNECTIONS: usize = 100;

/// How far setup goes before the commands run; each state includes the ones
/// before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StartupState {
    /// Connected, not logged in.
    NonAuth,
    /// Logged in, and every test mailbox deleted (header value `auth`).
    Auth,
    /// The test mailbox created.
    Created,
    /// The messages appended.
    Appended,
    /// The test mailbox selected on every connection (the default).
    Selected,
}

/// How many messages setup appends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageCount {
    /// This many, wrapping around the mbox file when it holds fewer.
    Count(u32),
    /// Each message of the mbox file once.
    All,
}

/// Whether an expected untagged reply must, must not or may arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existence {
    MustExist,
    MustNotExist,
    MayExist,
}

/// One expected untagged reply (without the leading `* `), with default list
/// directives already inserted.
#[derive(Clone, Debug)]
pub struct Untagged {
    pub args: Vec<Arg>,
    pub existence: Existence,
    pub line: usize,
}

/// One command of a group.
#[derive(Clone, Debug)]
pub struct Command {
    /// The script line it starts on; 0 for the LOGOUT the parser adds.
    pub line: usize,
    /// The script's `tagN` number, 0 when the script gave none.
    pub tag: u32,
    /// The command as written: variables unexpanded, literals as `{n}\r\n` and
    /// their bytes.
    pub text: Vec<u8>,
    /// The expected tagged reply, status first (`ok`, `no`, `bad`, or the empty
    /// atom for `""`, which accepts any).
    pub reply: Vec<Arg>,
}

impl Command {
    /// The command as readable text, for messages.
    pub fn text_lossy(&self) -> String {
        args::printable(&self.text)
    }
}

/// Commands sent together on one connection, and what must arrive before the
/// group is done.
#[derive(Clone, Debug, Default)]
pub struct Group {
    /// 0-based connection index.
    pub connection: usize,
    pub commands: Vec<Command>,
    pub untagged: Vec<Untagged>,
    /// `!ordered`: the expected untagged replies must arrive in order.
    pub ordered: bool,
    /// `!sleep N`: milliseconds to wait after the group.
    pub sleep_ms: u64,
    /// `!output TEXT` lines (printed by imaptest; kept for completeness).
    pub output: Vec<Vec<u8>>,
    /// An untagged BYE must arrive: the connection may close before the tagged
    /// replies.
    pub expects_bye: bool,
    /// How many commands still lack their expected reply while parsing.
    replies_pending: usize,
}

/// A parsed script.
#[derive(Clone, Debug)]
pub struct Script {
    pub name: String,
    pub path: PathBuf,
    /// `NAME.mbox` next to the script, else `default.mbox` in its folder.
    pub mbox: PathBuf,
    /// Required capabilities; the script is skipped when one is missing.
    pub capabilities: Vec<String>,
    pub connections: usize,
    pub messages: MessageCount,
    pub state: StartupState,
    /// When false, every untagged reply must be expected by the script.
    pub ignore_extra_untagged: bool,
    /// `user N: NAME` headers: the login for connection N (0-based index here).
    pub users: Vec<Option<String>>,
    /// A connection logs in as the second test user (`user N: $user2`).
    pub requires_user2: bool,
    /// The first group checks the greeting rather than sending a command.
    pub banner_check: bool,
    pub groups: Vec<Group>,
}

/// Reads and parses the script at `path`.
pub fn parse_file(path: &Path) -> Result<Script, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut script = parse(&name, &text, &|var| std::env::var_os(var).is_some())?;
    script.path = path.to_path_buf();
    let own = path.with_file_name(format!("{name}.mbox"));
    script.mbox = if own.exists() {
        own
    } else {
        path.with_file_name("default.mbox")
    };
    Ok(script)
}

/// Parses script text; `have_env` answers `!ifenv` questions.
pub fn parse(name: &str, text: &[u8], have_env: &dyn Fn(&str) -> bool) -> Result<Script, String> {
    let mut p = Parser {
        script: Script {
            name: name.to_string(),
            path: PathBuf::new(),
            mbox: PathBuf::new(),
            capabilities: Vec::new(),
            connections: 1,
            messages: MessageCount::All,
            state: StartupState::Selected,
            ignore_extra_untagged: true,
            users: Vec::new(),
            requires_user2: false,
            banner_check: false,
            groups: Vec::new(),
        },
        ifenv: Vec::new(),
        skip: false,
        have_env,
    };
    p.file(text)
        .map_err(|(line, e)| format!("{name} line {line}: {e}"))?;
    let mut script = p.script;
    add_logout(&mut script);
    Ok(script)
}

struct IfEnv {
    line: usize,
    else_seen: bool,
    /// Whether lines were skipped before this block began.
    outer_skip: bool,
}

struct Parser<'a> {
    script: Script,
    ifenv: Vec<IfEnv>,
    skip: bool,
    have_env: &'a dyn Fn(&str) -> bool,
}

type LineError = (usize, String);

impl Parser<'_> {
    fn file(&mut self, text: &[u8]) -> Result<(), LineError> {
        let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        // split() leaves the text after the last LF; a script must end with LF.
        let last = lines.pop().unwrap_or_default();
        if !last.is_empty() {
            return Err((lines.len() + 1, "last line doesn't end with LF".into()));
        }
        let mut header = true;
        // A literal being collected: the text so far, where its `{n}` goes, where
        // the last line's content ended, whether it is binary, and its first line.
        let mut multi: Option<(Vec<u8>, usize, usize, bool, usize)> = None;
        for (n, &raw) in lines.iter().enumerate() {
            let linenum = n + 1;
            let line: Vec<u8>;
            let start_line;
            if let Some((buf, start, last_end, binary, first)) = multi.as_mut() {
                if !raw.starts_with(b"}}}") {
                    buf.extend_from_slice(raw);
                    *last_end = buf.len();
                    // A binary literal keeps the file's bytes; a text one ends
                    // each line with CRLF.
                    buf.extend_from_slice(if *binary { b"\n" } else { b"\r\n" });
                    continue;
                }
                // The line break before `}}}` is not part of the literal.
                buf.truncate(*last_end);
                let size = buf.len() - *start;
                let head = format!("{}{{{size}}}\r\n", if *binary { "~" } else { "" });
                buf.splice(*start..*start, head.into_bytes());
                let rest = &raw[3..];
                if let Some((prefix, bin)) = opens_literal(rest) {
                    buf.extend_from_slice(prefix);
                    *start = buf.len();
                    *last_end = buf.len();
                    *binary = bin;
                    continue;
                }
                buf.extend_from_slice(rest);
                start_line = *first;
                line = std::mem::take(buf);
                multi = None;
            } else {
                start_line = linenum;
                if raw.is_empty() {
                    header = false;
                    continue;
                }
                if raw[0] == b'#' {
                    continue;
                }
                if let Some((prefix, bin)) = opens_literal(raw) {
                    let buf = prefix.to_vec();
                    let len = buf.len();
                    multi = Some((buf, len, len, bin, linenum));
                    continue;
                }
                line = raw.to_vec();
            }
            let result = if header {
                self.header_line(&line)
            } else {
                self.command_line(start_line, &line)
            };
            result.map_err(|e| (linenum, e))?;
        }
        let end = lines.len();
        if let Some((.., first)) = multi {
            return Err((end, format!("literal starting at line {first} not ended")));
        }
        let Some(group) = self.script.groups.last() else {
            return Err((end, "no commands in file".into()));
        };
        if group.replies_pending > 0 {
            let line = group.commands.last().map_or(0, |c| c.line);
            return Err((end, format!("missing reply for the command at line {line}")));
        }
        if let Some(open) = self.ifenv.first() {
            return Err((end, format!("!ifenv at line {} not closed", open.line)));
        }
        Ok(())
    }

    fn header_line(&mut self, line: &[u8]) -> Result<(), String> {
        let line = String::from_utf8_lossy(line);
        let (key, value) = line.split_once(':').ok_or("missing ':'")?;
        let key = key.trim_end_matches(' ').to_ascii_lowercase();
        let value = value.trim_start_matches(' ');
        let s = &mut self.script;
        match key.as_str() {
            "capabilities" => {
                s.capabilities = value
                    .split(' ')
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect();
            }
            "connections" => {
                let n = leading_number(value);
                if n == 0 || n > MAX_CONNECTIONS as u64 {
                    return Err("connections must be 1 to 100".into());
                }
                s.connections = n as usize;
            }
            "ignore_extra_untagged" => s.ignore_extra_untagged = value.starts_with('y'),
            "messages" => {
                s.messages = if value == "all" {
                    MessageCount::All
                } else {
                    MessageCount::Count(u32::try_from(leading_number(value)).unwrap_or(u32::MAX))
                };
            }
            "state" => {
                s.state = match value.to_ascii_lowercase().as_str() {
                    "nonauth" => StartupState::NonAuth,
                    "auth" => StartupState::Auth,
                    "created" => StartupState::Created,
                    "appended" => StartupState::Appended,
                    "selected" => StartupState::Selected,
                    _ => return Err(format!("unknown state {value:?}")),
                };
            }
            _ => {
                let idx = key
                    .strip_prefix("user ")
                    .and_then(uint)
                    .filter(|&i| i > 0)
                    .ok_or_else(|| format!("unknown setting {key:?}"))?;
                if idx > MAX_CONNECTIONS as u32 {
                    return Err("too many connections".into());
                }
                let idx = idx as usize - 1;
                if s.users.len() <= idx {
                    s.users.resize(idx + 1, None);
                }
                if value == "$user2" || value == "${user2}" {
                    s.requires_user2 = true;
                }
                s.users[idx] = Some(value.to_string());
            }
        }
        Ok(())
    }

    fn command_line(&mut self, linenum: usize, line: &[u8]) -> Result<(), String> {
        if let Some(var) = line
            .strip_prefix(b"!ifenv ")
            .map(|v| (v, false))
            .or_else(|| line.strip_prefix(b"!ifnenv ").map(|v| (v, true)))
        {
            let (name, negate) = var;
            let present = (self.have_env)(&String::from_utf8_lossy(name));
            self.ifenv.push(IfEnv {
                line: linenum,
                else_seen: false,
                outer_skip: self.skip,
            });
            if present == negate {
                self.skip = true;
            }
            return Ok(());
        }
        if line == b"!else" {
            let open = self.ifenv.last_mut().ok_or("!else without !ifenv")?;
            if open.else_seen {
                return Err("!else already seen".into());
            }
            open.else_seen = true;
            if !open.outer_skip {
                self.skip = !self.skip;
            }
            return Ok(());
        }
        if line == b"!endif" {
            let open = self.ifenv.pop().ok_or("!endif without !ifenv")?;
            self.skip = open.outer_skip;
            return Ok(());
        }
        if self.skip {
            return Ok(());
        }

        let connections = self.script.connections;
        if let Some(group) = self.script.groups.last_mut() {
            if let Some(ms) = line.strip_prefix(b"!sleep ") {
                group.sleep_ms = parse_interval_ms(&String::from_utf8_lossy(ms))?;
                return Ok(());
            }
            if let Some(text) = line.strip_prefix(b"!output ") {
                group.output.push(text.to_vec());
                return Ok(());
            }
            if line == b"!ordered" {
                group.ordered = true;
                return Ok(());
            }
            if let Some(existence) = untagged_kind(line) {
                return add_untagged(group, linenum, &line[2..], existence);
            }
            if group.replies_pending > 0 {
                // Maybe the tagged reply of a command in this group, prefixed with
                // the connection number when there are several.
                let mut rest = line;
                let mut conn = 0;
                if connections > 1
                    && let Some(n) = uint(first_word(line)).filter(|&n| n > 0)
                {
                    conn = n as usize;
                    rest = match line.iter().position(|&b| b == b' ') {
                        Some(sp) => &line[sp + 1..],
                        None => b"",
                    };
                }
                let (reply, tag, _) = split_reply(rest);
                if reply.is_some() {
                    if connections > 1 {
                        if conn == 0 {
                            return Err("missing connection number".into());
                        }
                        if conn - 1 != group.connection {
                            return Err("reply for the wrong connection".into());
                        }
                    }
                    return finish_command(group, tag, rest);
                }
            }
        }

        let needs_group = self
            .script
            .groups
            .last()
            .is_none_or(|g| g.replies_pending == 0);
        if needs_group {
            self.script.groups.push(Group::default());
        }
        let first_group = self.script.groups.len() == 1;
        let script = &mut self.script;
        let Some(group) = script.groups.last_mut() else {
            return Err("internal: no group".into());
        };
        let mut line = line;
        if connections > 1 {
            let idx = uint(first_word(line))
                .filter(|&n| n > 0)
                .ok_or("missing connection number")? as usize;
            if idx > MAX_CONNECTIONS {
                return Err("too many connections".into());
            }
            if !group.commands.is_empty() && group.connection != idx - 1 {
                return Err("all pipelined commands must use the same connection".into());
            }
            group.connection = idx - 1;
            script.connections = script.connections.max(idx);
            line = match line.iter().position(|&b| b == b' ') {
                Some(sp) => &line[sp + 1..],
                None => b"",
            };
        }
        let (reply, tag, rest) = split_reply(line);
        if tag == 0 {
            if group.replies_pending > 0 {
                return Err("missing reply for the previous command".into());
            }
        } else if group.commands.iter().any(|c| c.tag == tag) {
            return Err("tag reused within a pipelined group".into());
        }
        if group.commands.is_empty()
            && let Some(existence) = untagged_kind(rest)
        {
            // An untagged line before any command: it checks the greeting.
            if first_group {
                script.banner_check = true;
            }
            return add_untagged(group, linenum, &rest[2..], existence);
        }
        if reply.is_none() {
            group.replies_pending += 1;
        }
        group.commands.push(Command {
            line: linenum,
            tag,
            text: rest.to_vec(),
            reply: reply.unwrap_or_default(),
        });
        Ok(())
    }
}

/// A line ending in `{{{` or `~{{{`: the text before it and whether the literal
/// is binary.
fn opens_literal(line: &[u8]) -> Option<(&[u8], bool)> {
    let prefix = line.strip_suffix(b"{{{")?;
    Some(match prefix.strip_suffix(b"~") {
        Some(p) => (p, true),
        None => (prefix, false),
    })
}

fn untagged_kind(line: &[u8]) -> Option<Existence> {
    match line.get(..2)? {
        b"* " => Some(Existence::MustExist),
        b"! " => Some(Existence::MustNotExist),
        b"? " => Some(Existence::MayExist),
        _ => None,
    }
}

fn first_word(line: &[u8]) -> &[u8] {
    line.split(|&b| b == b' ').next().unwrap_or_default()
}

/// A decimal number made only of digits, as Dovecot's str_to_uint wants.
fn uint(s: impl AsRef<[u8]>) -> Option<u32> {
    let s = s.as_ref();
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// The digits at the start of `s` (strtoul-style; 0 when there are none).
fn leading_number(s: &str) -> u64 {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or(if digits.is_empty() { 0 } else { u64::MAX })
}

/// `!sleep` values: a number of milliseconds, or with a unit (ms, s, secs, m).
fn parse_interval_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid !sleep value {s:?}"))?;
    let unit = s[digits.len()..].trim().to_ascii_lowercase();
    let factor = match unit.as_str() {
        "" | "ms" | "msec" | "msecs" | "millisecs" => 1,
        "s" | "sec" | "secs" | "seconds" => 1000,
        "m" | "min" | "mins" | "minutes" => 60_000,
        _ => return Err(format!("invalid !sleep unit {unit:?}")),
    };
    Ok(n.saturating_mul(factor))
}

/// Splits an optional `tagN ` prefix and an optional status word (`ok`, `no`,
/// `bad`, `""`) off a command or reply line: the status as the expected reply,
/// the tag number (0 for none) and the rest of the line.
fn split_reply(line: &[u8]) -> (Option<Vec<Arg>>, u32, &[u8]) {
    let mut rest = line;
    let mut tag = 0;
    let mut word = first_word(rest);
    if word.len() >= 3
        && word[..3].eq_ignore_ascii_case(b"tag")
        && let Some(sp) = rest.iter().position(|&b| b == b' ')
        && let Some(n) = uint(&word[3..]).filter(|&n| n > 0)
    {
        tag = n;
        rest = &rest[sp + 1..];
        word = first_word(rest);
    }
    let status = if word.eq_ignore_ascii_case(b"ok") {
        "ok"
    } else if word.eq_ignore_ascii_case(b"no") {
        "no"
    } else if word.eq_ignore_ascii_case(b"bad") {
        "bad"
    } else if word == b"\"\"" {
        ""
    } else {
        return (None, tag, rest);
    };
    rest = &rest[word.len()..];
    if let Some(r) = rest.strip_prefix(b" ") {
        rest = r;
    }
    (Some(vec![Arg::Atom(status.as_bytes().to_vec())]), tag, rest)
}

/// A tagged reply line for a command already in the group: its arguments
/// (without the `tagN`) become that command's expected reply.
fn finish_command(group: &mut Group, tag: u32, line: &[u8]) -> Result<(), String> {
    let cmd = group
        .commands
        .iter_mut()
        .find(|c| c.tag == tag)
        .ok_or("reply for an unknown tag")?;
    if !cmd.reply.is_empty() {
        return Err("command already has a reply".into());
    }
    let mut reply = args::parse(line, true)?;
    if tag != 0 {
        if reply.is_empty() {
            return Err("empty reply".into());
        }
        reply.remove(0);
    }
    if reply.is_empty() {
        return Err("empty reply".into());
    }
    cmd.reply = reply;
    group.replies_pending -= 1;
    Ok(())
}

fn add_untagged(
    group: &mut Group,
    linenum: usize,
    text: &[u8],
    existence: Existence,
) -> Result<(), String> {
    let parsed = parse_expected(text)?;
    if reply_name(&parsed).starts_with("bye") {
        match existence {
            Existence::MustExist => group.expects_bye = true,
            Existence::MustNotExist => {}
            Existence::MayExist => return Err("? BYE is not supported".into()),
        }
    }
    group.untagged.push(Untagged {
        args: parsed,
        existence,
        line: linenum,
    });
    Ok(())
}

/// Parses an expected untagged reply (without `* `) and inserts the default
/// list directives.
pub fn parse_expected(text: &[u8]) -> Result<Vec<Arg>, String> {
    let mut parsed = args::parse(text, true)?;
    let name = reply_name(&parsed);
    let top = ListContext {
        parent: None,
        chain_index: 0,
        prev_atom: None,
    };
    directives(&name, &mut parsed, &top)?;
    Ok(parsed)
}

/// The reply's name, lowercased: the first atom, or the second after a number
/// or `$n`.
fn reply_name(parsed: &[Arg]) -> String {
    let mut name = parsed.first().and_then(Arg::as_atom).unwrap_or_default();
    if name
        .first()
        .is_some_and(|&c| c == b'$' || c.is_ascii_digit())
    {
        name = parsed.get(1).and_then(Arg::as_atom).unwrap_or_default();
    }
    String::from_utf8_lossy(name).to_ascii_lowercase()
}

/// Where a list sits, for choosing default directives.
struct ListContext<'a> {
    parent: Option<&'a ListContext<'a>>,
    /// The list's position in its parent: the argument index, or the index
    /// within a chain when the parent is unordered in chains.
    chain_index: usize,
    /// The last atom before the list in its parent, lowercased.
    prev_atom: Option<String>,
}

/// Parses the `$!` directives at the start of each list (checking them), and
/// inserts imaptest's defaults into lists that have none:
/// `LIST (flags)` and `LSUB (flags)` unordered, `STATUS box (items)` and
/// `n FETCH (items)` unordered in pairs, and `FETCH (FLAGS (...))` unordered with
/// no extras except \Recent and the attachment keywords.
fn directives(reply: &str, list: &mut Vec<Arg>, ctx: &ListContext<'_>) -> Result<(), String> {
    let mut chain = 1usize;
    let mut explicit = false;
    for arg in list.iter() {
        let Some(atom) = arg.as_atom() else { break };
        let Some(d) = atom.strip_prefix(b"$!") else {
            break;
        };
        let d = String::from_utf8_lossy(d);
        if let Some(rest) = d.strip_prefix("unordered") {
            if let Some(n) = rest.strip_prefix('=') {
                chain = uint(n)
                    .filter(|&n| n > 0)
                    .ok_or("broken $!unordered directive")? as usize;
            } else if !rest.is_empty() {
                return Err("broken $!unordered directive".into());
            }
        } else if !(d == "ordered"
            || d == "noextra"
            || d == "extra"
            || d.starts_with("ignore=")
            || d.starts_with("ban="))
        {
            return Err(format!("unknown directive: {d}"));
        }
        explicit = true;
    }
    if !explicit {
        let defaults = default_directives(reply, ctx);
        for d in defaults.iter().rev() {
            list.insert(0, Arg::Atom(d.as_bytes().to_vec()));
        }
    }
    let directive_count = list
        .iter()
        .take_while(|a| a.as_atom().is_some_and(|s| s.starts_with(b"$!")))
        .count();
    if !(list.len() - directive_count).is_multiple_of(chain) {
        return Err(format!("invalid list argument count, chain size={chain}"));
    }
    let mut prev_atom: Option<String> = None;
    for (i, arg) in list.iter_mut().enumerate() {
        if let Some(a) = arg.as_atom() {
            prev_atom = Some(String::from_utf8_lossy(a).to_ascii_lowercase());
        }
        if let Arg::List(sub) = arg {
            let sub_ctx = ListContext {
                parent: Some(ctx),
                chain_index: if chain == 1 { i } else { i % chain },
                prev_atom: prev_atom.clone(),
            };
            directives(reply, sub, &sub_ctx)?;
        }
    }
    Ok(())
}

fn default_directives(reply: &str, ctx: &ListContext<'_>) -> &'static [&'static str] {
    // Only lists right under the reply's arguments (parent is the top level), or
    // the FLAGS list inside FETCH's list, get defaults.
    let Some(parent) = ctx.parent else {
        return &[];
    };
    let under_top = parent.parent.is_none();
    match reply {
        "list" | "lsub" if under_top && ctx.chain_index == 1 => &["$!unordered"],
        "status" if under_top && ctx.chain_index == 2 => &["$!unordered=2"],
        "fetch" if under_top && ctx.chain_index == 2 => &["$!unordered=2"],
        "fetch"
            if parent
                .parent
                .is_some_and(|gp| gp.parent.is_none() && parent.chain_index == 2)
                && ctx.prev_atom.as_deref() == Some("flags") =>
        {
            &[
                "$!unordered",
                "$!noextra",
                "$!ignore=\\recent",
                "$!ignore=$HasAttachment",
                "$!ignore=$HasNoAttachment",
            ]
        }
        _ => &[],
    }
}

/// imaptest ends every script with LOGOUT on the first connection unless the
/// script logs out or expects BYE itself.
fn add_logout(script: &mut Script) {
    let has_logout = script.groups.iter().any(|g| {
        g.expects_bye
            || g.commands
                .iter()
                .any(|c| c.text.eq_ignore_ascii_case(b"logout"))
    });
    if has_logout {
        return;
    }
    script.groups.push(Group {
        connection: 0,
        commands: vec![Command {
            line: 0,
            tag: 0,
            text: b"logout".to_vec(),
            reply: vec![Arg::Atom(b"ok".to_vec())],
        }],
        ..Group::default()
    });
}

/// The script files in `dir`: every regular file not starting with `.` and not
/// ending in `.mbox`, sorted by name (sub-folders are skipped, as imaptest does).
pub fn list_scripts(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".mbox") {
            continue;
        }
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(true) {
            continue;
        }
        paths.push(entry.path());
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Script, String> {
        parse("t", text.as_bytes(), &|v| v == "HAVE_FOO")
    }

    fn atom(s: &str) -> Arg {
        Arg::Atom(s.as_bytes().to_vec())
    }

    #[test]
    fn every_vendored_script_parses() {
        let dir = crate::imaptest::scripts_dir();
        let paths = list_scripts(&dir).unwrap();
        assert!(paths.len() >= 70, "found only {} scripts", paths.len());
        for path in paths {
            let script = parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!script.groups.is_empty(), "{}", script.name);
            assert!(script.mbox.exists(), "{}: no mbox", script.name);
        }
    }

    #[test]
    fn header_and_three_command_forms() {
        let s = parse_str(
            "capabilities: CHILDREN LIST-EXTENDED\nstate: auth\nmessages: all\n\n\
             ok select $mailbox\n* 0 exists\n\n\
             examine $mailbox\n* ok [uidvalidity $v]\nok [read-only]\n\n\
             tag1 status a (messages)\ntag2 noop\n* status a (messages 0)\ntag2 ok\ntag1 no [x]\n",
        )
        .unwrap();
        assert_eq!(s.capabilities, ["CHILDREN", "LIST-EXTENDED"]);
        assert_eq!(s.state, StartupState::Auth);
        assert_eq!(s.messages, MessageCount::All);
        // Three groups plus the LOGOUT the parser adds.
        assert_eq!(s.groups.len(), 4);
        let g = &s.groups[0];
        assert_eq!(g.commands[0].text, b"select $mailbox");
        assert_eq!(g.commands[0].reply, vec![atom("ok")]);
        assert_eq!(g.untagged[0].args, vec![atom("0"), atom("exists")]);
        let g = &s.groups[1];
        assert_eq!(g.commands[0].reply, vec![atom("ok"), atom("[read-only]")]);
        let g = &s.groups[2];
        assert_eq!(g.commands.len(), 2);
        assert_eq!(g.commands[0].tag, 1);
        assert_eq!(g.commands[0].reply, vec![atom("no"), atom("[x]")]);
        assert_eq!(g.commands[1].reply, vec![atom("ok")]);
        // STATUS's list got the default pairwise-unordered directive.
        assert_eq!(
            g.untagged[0].args[2],
            Arg::List(vec![atom("$!unordered=2"), atom("messages"), atom("0")])
        );
        assert_eq!(s.groups[3].commands[0].text, b"logout");
        assert_eq!(s.groups[3].commands[0].line, 0);
    }

    #[test]
    fn fetch_flags_get_their_defaults_unless_given() {
        let s = parse_str(
            "\nok fetch 1 flags\n* 1 fetch (uid 1 flags (\\seen))\n* 2 fetch (flags ($!extra))\n",
        )
        .unwrap();
        let u = &s.groups[0].untagged;
        let Arg::List(items) = &u[0].args[2] else {
            panic!()
        };
        assert_eq!(items[0], atom("$!unordered=2"));
        let Arg::List(flags) = &items[4] else {
            panic!()
        };
        assert_eq!(flags.len(), 6);
        assert!(flags.contains(&atom("$!noextra")));
        assert!(flags.contains(&atom("$!ignore=\\recent")));
        let Arg::List(items) = &u[1].args[2] else {
            panic!()
        };
        assert_eq!(items[2], Arg::List(vec![atom("$!extra")]));
    }

    #[test]
    fn literals_multiple_connections_and_ifenv() {
        let s = parse_str(
            "connections: 2\n\n1 ok append $mailbox {{{\nline1\nline2\n}}} more ~{{{\nab\r\n}}}\n\
             2 ok noop\n!ifenv HAVE_FOO\n* 1 exists\n!else\n* 2 exists\n!endif\n\
             !ifnenv HAVE_FOO\n1 ok bogus\n!endif\n",
        )
        .unwrap();
        let g = &s.groups[0];
        assert_eq!(g.connection, 0);
        assert_eq!(
            g.commands[0].text,
            b"append $mailbox {12}\r\nline1\r\nline2 more ~{3}\r\nab\r"
        );
        let g = &s.groups[1];
        assert_eq!(g.connection, 1);
        assert_eq!(g.untagged.len(), 1);
        assert_eq!(g.untagged[0].args, vec![atom("1"), atom("exists")]);
        assert_eq!(s.groups.len(), 3, "bogus skipped, logout added");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_str("\nselect x\n* 1 exists\n").unwrap_err();
        assert!(e.contains("missing reply"), "{e}");
        let e = parse_str("bogus: 1\n\nok noop\n").unwrap_err();
        assert_eq!(e, "t line 1: unknown setting \"bogus\"");
        let e = parse_str("connections: 2\n\nok noop\n").unwrap_err();
        assert!(e.contains("line 3: missing connection number"), "{e}");
        let e = parse_str("\nok fetch 1 x\n* 1 fetch ($!unordered=2 uid)\n").unwrap_err();
        assert!(e.contains("chain size=2"), "{e}");
        let e = parse_str("\nok noop").unwrap_err();
        assert!(e.contains("LF"), "{e}");
    }

    #[test]
    fn bye_marks_the_group_and_suppresses_logout() {
        let s = parse_str("state: nonauth\n\n\"\" noop\n* bye\n").unwrap();
        assert_eq!(s.messages, MessageCount::All, "the documented default");
        assert!(s.groups[0].expects_bye);
        assert_eq!(s.groups.len(), 1);
    }
}
