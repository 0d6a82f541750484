//! Runs Dovecot imaptest's scripted IMAP tests (`rfc-vectors/imaptest/tests`)
//! against a live server and tells, per script, how many command groups
//! passed.
//!
//! Setup follows imaptest: connect every connection the script uses, log in
//! (unless `state: nonauth`), skip the script when the first connection lacks a
//! required capability, then on the first connection delete every mailbox
//! matching `imaptest*` (and unsubscribe them), create `imaptest`, append the
//! messages of the script's mbox file with their `From ` line dates, and select
//! the mailbox on every connection, stopping at the script's `state`. Then each
//! command group runs in turn on its connection; a failed group is counted and
//! the next one runs, while a timeout or lost connection ends the script.
//!
//! Counts are per command group (pipelined commands together count once), which
//! is what imaptest's "individual commands" totals count, including the LOGOUT
//! it adds to scripts that do not log out themselves.

pub mod args;
pub mod client;
pub mod launch;
pub mod matcher;
pub mod mbox;
pub mod script;

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use args::{Arg, to_text};
use client::{ClientError, Connection, Piece, Response};
use matcher::{FULL, Matcher};
use script::{Existence, Group, MessageCount, Script, StartupState};

/// The test mailbox; imaptest's default `box` setting.
pub const MAILBOX: &str = "imaptest";
/// How long one read may wait for the server.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one script may take in all.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The server under test and its test account.
#[derive(Clone, Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub user: String,
    pub password: String,
    /// A second account with the same password, for scripts with
    /// `user 2: $user2`; they are skipped without one.
    pub user2: Option<String>,
}

/// What one script gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptResult {
    pub name: String,
    /// Command groups in the script.
    pub commands: usize,
    pub passed: usize,
    /// Groups that failed; groups not run after a fatal failure are in neither
    /// count.
    pub failed: usize,
    /// Why the script did not run: the capabilities the server lacks.
    pub skipped: Option<String>,
    /// The first failure: which command, expected and received text.
    pub failure: Option<String>,
}

impl ScriptResult {
    /// Passed or skipped.
    pub fn ok(&self) -> bool {
        self.skipped.is_some() || (self.failed == 0 && self.failure.is_none())
    }
}

/// The vendored scripts.
pub fn scripts_dir() -> PathBuf {
    crate::vectors_dir().join("imaptest/tests")
}

/// Runs every script in `dir`, in name order.
pub fn run_all(dir: &Path, server: &Server) -> Vec<ScriptResult> {
    match script::list_scripts(dir) {
        Ok(paths) => paths.iter().map(|p| run_script(p, server)).collect(),
        Err(e) => vec![ScriptResult {
            name: dir.display().to_string(),
            failure: Some(e),
            ..Default::default()
        }],
    }
}

/// Runs the named scripts of `dir`, in the order given.
pub fn run_named(dir: &Path, names: &[String], server: &Server) -> Vec<ScriptResult> {
    names
        .iter()
        .map(|n| run_script(&dir.join(n), server))
        .collect()
}

/// Runs one script file.
pub fn run_script(path: &Path, server: &Server) -> ScriptResult {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let script = match script::parse_file(path) {
        Ok(s) => s,
        Err(e) => {
            return ScriptResult {
                name,
                failure: Some(format!("parse error: {e}")),
                ..Default::default()
            };
        }
    };
    run_parsed(&script, server)
}

/// Runs a parsed script.
pub fn run_parsed(script: &Script, server: &Server) -> ScriptResult {
    run_with(script, server, READ_TIMEOUT, SCRIPT_TIMEOUT)
}

/// Runs a parsed script with the given time limits.
fn run_with(
    script: &Script,
    server: &Server,
    read_timeout: Duration,
    script_timeout: Duration,
) -> ScriptResult {
    let mut result = ScriptResult {
        name: script.name.clone(),
        commands: script.groups.len(),
        ..Default::default()
    };
    if script.requires_user2 && server.user2.is_none() {
        result.skipped = Some("second user ($user2)".into());
        return result;
    }
    let source = match mbox::Source::open(&script.mbox) {
        Ok(s) => s,
        Err(e) => {
            result.failure = Some(format!("mbox: {e}"));
            return result;
        }
    };
    let mut run = Run {
        script,
        server,
        conns: Vec::new(),
        m: Matcher::new(),
        source,
        read_timeout,
        deadline: Instant::now() + script_timeout,
        found: Vec::new(),
        best: Vec::new(),
        mismatches: 0,
        first_extra: None,
        failures: Vec::new(),
        result,
    };
    match run.setup() {
        Ok(()) => run.groups(),
        Err(Stop::Skip(missing)) => run.result.skipped = Some(missing),
        Err(Stop::Abort(why)) => run.result.failure = Some(format!("setup failed: {why}")),
    }
    run.result
}

/// Why a script stopped early.
enum Stop {
    Skip(String),
    Abort(String),
}

impl From<ClientError> for Stop {
    fn from(e: ClientError) -> Self {
        Stop::Abort(e.to_string())
    }
}

struct Run<'a> {
    script: &'a Script,
    server: &'a Server,
    conns: Vec<Connection>,
    m: Matcher,
    source: mbox::Source,
    read_timeout: Duration,
    deadline: Instant,
    /// Per group: which expected untagged replies arrived.
    found: Vec<bool>,
    /// Per expected untagged reply: the closest reply seen (matched count, text).
    best: Vec<(usize, String)>,
    /// Untagged replies that matched nothing expected.
    mismatches: usize,
    first_extra: Option<String>,
    /// The current group's failures.
    failures: Vec<String>,
    result: ScriptResult,
}

impl Run<'_> {
    fn setup(&mut self) -> Result<(), Stop> {
        let script = self.script;
        // Connections the server logged in already (PREAUTH greeting).
        let mut preauth = Vec::new();
        for i in 0..script.connections {
            let (mut conn, greeting) =
                Connection::connect(self.server.addr, i + 1, self.read_timeout, self.deadline)
                    .map_err(|e| Stop::Abort(format!("connection {}: {e}", i + 1)))?;
            let ok = matches!(&greeting, Response::Untagged(a)
                if a.first().is_some_and(|s| s.is_atom("OK") || s.is_atom("PREAUTH")));
            if !ok {
                return Err(Stop::Abort(format!("bad greeting: {greeting:?}")));
            }
            let pre = matches!(&greeting, Response::Untagged(a)
                if a.first().is_some_and(|s| s.is_atom("PREAUTH")));
            conn.login_sent = pre;
            preauth.push(pre);
            if conn.capabilities.is_empty() {
                conn.command(&[text("CAPABILITY")])?;
            }
            if script.banner_check && i == script.groups[0].connection {
                self.banner_check(&greeting);
            }
            self.conns.push(conn);
        }
        self.set_variables();
        if script.state == StartupState::NonAuth {
            return self.check_capabilities();
        }
        for (i, &pre) in preauth.iter().enumerate() {
            if pre {
                continue;
            }
            let user = self.user(i);
            let conn = &mut self.conns[i];
            conn.login_sent = true;
            let mut login = b"LOGIN ".to_vec();
            login.extend(args::quote(user.as_bytes()));
            login.push(b' ');
            login.extend(args::quote(self.server.password.as_bytes()));
            let (_, reply) = conn.command(&client::split_literals(&login))?;
            if !reply.first().is_some_and(|s| s.is_atom("OK")) {
                return Err(Stop::Abort(format!(
                    "LOGIN as {user} failed: {}",
                    to_text(&reply)
                )));
            }
        }
        if !self.conns[0].postlogin_capabilities {
            self.conns[0].command(&[text("CAPABILITY")])?;
        }
        self.check_capabilities()?;

        // Delete everything left by earlier scripts: imaptest* and below it.
        let mask =
            String::from_utf8_lossy(&args::quote(format!("{MAILBOX}*").as_bytes())).into_owned();
        let listed = self.setup_command(0, &format!("LIST \"\" {mask}"))?;
        let subscribed = self.setup_command(0, &format!("LSUB \"\" {mask}"))?;
        for (names, verb) in [(listed, "LIST"), (subscribed, "LSUB")] {
            let mut names: Vec<Vec<u8>> = names
                .iter()
                .filter(|a| a.first().is_some_and(|v| v.is_atom(verb)))
                .filter(|a| matches!(a.get(1), Some(Arg::List(_))))
                .filter(|a| {
                    matches!(
                        a.get(2),
                        Some(Arg::Nil | Arg::Atom(_) | Arg::Str(_) | Arg::Literal { .. })
                    )
                })
                .filter_map(|a| a.get(3).and_then(Arg::as_astring).map(<[u8]>::to_vec))
                .collect();
            // Children before parents.
            names.sort_by_key(|n| n.to_ascii_lowercase());
            names.reverse();
            let cmd = if verb == "LIST" {
                "DELETE"
            } else {
                "UNSUBSCRIBE"
            };
            for name in names {
                let mut line = format!("{cmd} ").into_bytes();
                line.extend(args::quote(&name));
                // NO is fine: a \Noselect parent, or a name already gone.
                self.conns[0].command(&client::split_literals(&line))?;
            }
        }
        if script.state >= StartupState::Created {
            let reply = self.setup_reply(0, &format!("CREATE \"{MAILBOX}\""))?;
            if !reply.first().is_some_and(|s| s.is_atom("OK")) {
                return Err(Stop::Abort(format!(
                    "CREATE {MAILBOX} failed: {}",
                    to_text(&reply)
                )));
            }
        }
        if script.state >= StartupState::Appended {
            let mut left = match script.messages {
                MessageCount::Count(n) => n as usize,
                MessageCount::All => usize::MAX,
            };
            while left > 0 && !(script.messages == MessageCount::All && self.source.at_end()) {
                left -= 1;
                let msg = self.source.next_message();
                let pieces = [
                    text(&format!("APPEND \"{MAILBOX}\" \"{}\" ", msg.date)),
                    Piece::Literal {
                        data: msg.data.clone(),
                        binary: false,
                    },
                    text(""),
                ];
                let (_, reply) = self.conns[0].command(&pieces)?;
                if !reply.first().is_some_and(|s| s.is_atom("OK")) {
                    return Err(Stop::Abort(format!("APPEND failed: {}", to_text(&reply))));
                }
            }
        }
        if script.state == StartupState::Selected {
            // Only the first user has a test mailbox: connections logged in as
            // another user (`user 2: $user2`) stay unselected. imaptest would
            // try, and fail unless that user happened to have one.
            for i in 0..self.conns.len() {
                if self.user(i) != self.user(0) {
                    continue;
                }
                self.conns[i].exists = 0;
                let reply = self.setup_reply(i, &format!("SELECT \"{MAILBOX}\""))?;
                if !reply.first().is_some_and(|s| s.is_atom("OK")) {
                    return Err(Stop::Abort(format!(
                        "SELECT {MAILBOX} failed: {}",
                        to_text(&reply)
                    )));
                }
            }
        }
        Ok(())
    }

    /// A setup command whose BAD stops the script: its untagged replies.
    fn setup_command(&mut self, conn: usize, line: &str) -> Result<Vec<Vec<Arg>>, Stop> {
        let (untagged, reply) = self.conns[conn].command(&[text(line)])?;
        if reply.first().is_some_and(|s| s.is_atom("BAD")) {
            return Err(Stop::Abort(format!("{line} failed: {}", to_text(&reply))));
        }
        Ok(untagged)
    }

    /// A setup command: its tagged reply.
    fn setup_reply(&mut self, conn: usize, line: &str) -> Result<Vec<Arg>, Stop> {
        Ok(self.conns[conn].command(&[text(line)])?.1)
    }

    fn user(&self, conn: usize) -> String {
        match self.script.users.get(conn).and_then(Option::as_ref) {
            Some(u) if u == "$user2" || u == "${user2}" => {
                self.server.user2.clone().unwrap_or_default()
            }
            Some(u) => u.clone(),
            None => self.server.user.clone(),
        }
    }

    fn set_variables(&mut self) {
        for i in 0..self.script.connections {
            let suffix = if i == 0 {
                String::new()
            } else {
                (i + 1).to_string()
            };
            let user = self.user(i);
            let (username, domain) = match user.split_once('@') {
                Some((u, d)) => (u.to_string(), d.to_string()),
                None => (user.clone(), self.server.addr.ip().to_string()),
            };
            self.m.set(&format!("user{suffix}"), user.as_bytes());
            self.m
                .set(&format!("username{suffix}"), username.as_bytes());
            self.m.set(&format!("domain{suffix}"), domain.as_bytes());
            self.m.set(
                &format!("password{suffix}"),
                self.server.password.as_bytes(),
            );
        }
        self.m.set("mailbox", MAILBOX);
        self.m.set("mailbox_url", url_path(MAILBOX));
    }

    fn check_capabilities(&self) -> Result<(), Stop> {
        let missing: Vec<&str> = self
            .script
            .capabilities
            .iter()
            .filter(|c| !self.conns[0].has_capability(c))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Stop::Skip(missing.join(" ")))
        }
    }

    /// The first group has no command: it checks the greeting. Counted here,
    /// as [`Run::groups`] starts after it.
    fn banner_check(&mut self, greeting: &Response) {
        self.start_group(0);
        if let Response::Untagged(a) = greeting {
            self.untagged(0, a, None);
        }
        self.end_group(0);
        if self.failures.is_empty() {
            self.result.passed += 1;
        } else {
            self.result.failed += 1;
            self.result.failure = Some(self.failures.join("\n"));
        }
    }

    /// Runs the command groups, counting each.
    fn groups(&mut self) {
        let first = usize::from(self.script.banner_check);
        for gi in first..self.script.groups.len() {
            let outcome = self.group(gi);
            let mut failed = !self.failures.is_empty();
            if let Err(Stop::Abort(why)) | Err(Stop::Skip(why)) = &outcome {
                let not_run = self.script.groups.len() - gi - 1;
                let why = format!("{why} ({not_run} later command groups not run)");
                self.fail(gi, &why);
                failed = true;
            }
            if failed {
                self.result.failed += 1;
                let all = self.failures.join("\n");
                match &mut self.result.failure {
                    None => self.result.failure = Some(all),
                    Some(first) if outcome.is_err() => {
                        let _ = write!(first, "\nthen stopped at: {all}");
                    }
                    Some(_) => {}
                }
            } else {
                self.result.passed += 1;
            }
            if outcome.is_err() {
                break;
            }
        }
    }

    fn start_group(&mut self, gi: usize) {
        let n = self.script.groups[gi].untagged.len();
        self.found = vec![false; n];
        self.best = vec![(0, String::new()); n];
        self.mismatches = 0;
        self.first_extra = None;
        self.failures.clear();
    }

    /// Sends a group's commands and reads until each has its tagged reply.
    fn group(&mut self, gi: usize) -> Result<(), Stop> {
        let script = self.script;
        let group: &Group = &script.groups[gi];
        self.start_group(gi);
        let ci = group.connection;
        if ci >= self.conns.len() {
            return Err(Stop::Abort(format!("no connection {}", ci + 1)));
        }
        self.m.reset_seqmap(self.conns[ci].exists);
        // (tag sent, command index, command verb)
        let mut pending: Vec<(String, usize, String)> = Vec::new();
        for (k, cmd) in group.commands.iter().enumerate() {
            let pieces = match self.build_command(&cmd.text) {
                Ok(p) => p,
                Err(e) => {
                    self.fail(gi, &e);
                    continue;
                }
            };
            let verb = verb(&pieces);
            let conn = &mut self.conns[ci];
            if conn.closed {
                return Err(Stop::Abort(format!("connection {} is closed", ci + 1)));
            }
            if verb == "SELECT" || verb == "EXAMINE" {
                conn.exists = 0;
            }
            if cmd.line == 0 || verb == "LOGOUT" || group.expects_bye {
                conn.logout_sent = true;
            }
            if verb == "LOGIN" || verb == "AUTHENTICATE" {
                conn.login_sent = true;
            }
            let tag = conn.new_tag();
            pending.push((tag.clone(), k, verb));
            conn.send(&tag, &pieces)?;
        }
        while !pending.is_empty() {
            let response = match self.conns[ci].read() {
                Ok(r) => r,
                Err(ClientError::Timeout(d)) => {
                    let waiting = &group.commands[pending[0].1];
                    return Err(Stop::Abort(format!(
                        "no reply within {} s while waiting for the tagged reply to: {}",
                        d.as_secs_f32(),
                        waiting.text_lossy()
                    )));
                }
                Err(e) => return Err(e.into()),
            };
            match response {
                None => {
                    if group.expects_bye && self.conns[ci].seen_bye {
                        for (_, k, _) in pending.drain(..) {
                            let reply = &group.commands[k].reply;
                            if !(reply.len() == 1 && reply[0].is_atom("")) {
                                let why = format!(
                                    "expected '{}' as tagged reply, but only \"\" is possible when BYE comes",
                                    to_text(reply)
                                );
                                self.fail(gi, &why);
                            }
                        }
                        break;
                    }
                    return Err(Stop::Abort("unexpected disconnection".into()));
                }
                Some(Response::Untagged(a)) => {
                    let first_tag = pending.iter().find(|p| p.1 == 0).map(|p| p.0.clone());
                    self.untagged(gi, &a, first_tag.as_deref());
                }
                Some(Response::Tagged { tag, args }) => {
                    match pending.iter().position(|p| p.0 == tag) {
                        Some(pos) => {
                            let (tag, k, verb) = pending.remove(pos);
                            self.tagged(gi, k, &tag, &args);
                            let ok = args.first().is_some_and(|s| s.is_atom("OK"));
                            if ok && (verb == "CLOSE" || verb == "UNSELECT") {
                                self.conns[ci].exists = 0;
                            }
                        }
                        None => {
                            let why = format!("unexpected tagged reply: {tag} {}", to_text(&args));
                            self.fail(gi, &why);
                        }
                    }
                }
                Some(Response::Continuation(_)) => {}
            }
        }
        self.end_group(gi);
        if group.sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(group.sleep_ms));
        }
        Ok(())
    }

    /// Expands a command's variables (outside literals) and turns imaptest's
    /// APPEND shorthands into real commands: `append` alone appends the next
    /// mbox message to the test mailbox with its date, and `append ARGS`
    /// without a message appends the next one with ARGS.
    fn build_command(&mut self, cmd: &[u8]) -> Result<Vec<Piece>, String> {
        let mut pieces = client::split_literals(cmd);
        for p in &mut pieces {
            if let Piece::Text(t) = p {
                *t = self.m.expand(t, false)?;
            }
        }
        let joined = client::join_pieces(&pieces);
        if joined.eq_ignore_ascii_case(b"append") {
            let msg = self.source.next_message();
            return Ok(vec![
                text(&format!("APPEND \"{MAILBOX}\" \"{}\" ", msg.date)),
                Piece::Literal {
                    data: msg.data.clone(),
                    binary: false,
                },
                text(""),
            ]);
        }
        if joined.len() > 7
            && joined[..7].eq_ignore_ascii_case(b"append ")
            && !append_has_body(&joined[7..])
        {
            let msg = self.source.next_message();
            if let Some(Piece::Text(last)) = pieces.last_mut() {
                last.push(b' ');
            }
            pieces.push(Piece::Literal {
                data: msg.data.clone(),
                binary: false,
            });
            pieces.push(text(""));
        }
        Ok(pieces)
    }

    fn tagged(&mut self, gi: usize, k: usize, tag: &str, args: &[Arg]) {
        let script = self.script;
        let cmd = &script.groups[gi].commands[k];
        self.m.set("tag", tag);
        self.m.begin();
        let r = self.m.match_args(&cmd.reply, args, usize::MAX, true);
        self.m.vars.remove("tag");
        if r != FULL {
            let why = format!(
                "expected tagged reply '{}', got '{}'",
                to_text(&cmd.reply),
                to_text(args)
            );
            self.fail_command(gi, k, &why);
        } else if args.first().is_some_and(|s| s.is_atom("BAD"))
            && !cmd.reply.first().is_some_and(|s| s.is_atom("bad"))
        {
            // imaptest drops the connection on an unexpected BAD.
            let why = format!("BAD reply: {}", to_text(args));
            self.fail_command(gi, k, &why);
        }
    }

    /// Matches one untagged reply against the group's expected ones.
    fn untagged(&mut self, gi: usize, args: &[Arg], tag: Option<&str>) {
        let script = self.script;
        let group = &script.groups[gi];
        let logout = self
            .conns
            .get(group.connection)
            .is_some_and(|c| c.logout_sent);
        if !group.untagged.is_empty() {
            let prefix = args
                .first()
                .is_some_and(|a| ["OK", "NO", "BAD", "BYE"].iter().any(|w| a.is_atom(w)));
            self.m.begin();
            let mut found_some = false;
            for (i, ut) in group.untagged.iter().enumerate() {
                if self.found[i] {
                    continue;
                }
                if let Some(t) = tag {
                    self.m.set("tag", t);
                }
                let r = self.m.match_args(&ut.args, args, usize::MAX, prefix);
                if tag.is_some() {
                    self.m.vars.remove("tag");
                }
                if r == FULL {
                    if ut.existence == Existence::MustNotExist {
                        let why = format!(
                            "unexpected untagged match (script line {}):\n - match: {}\n - reply: {}",
                            ut.line,
                            to_text(&ut.args),
                            to_text(args)
                        );
                        self.fail(gi, &why);
                        self.follow_expunge(args);
                        return;
                    }
                    self.found[i] = true;
                    found_some = true;
                    self.m.begin();
                    if group.ordered {
                        break;
                    }
                    continue;
                }
                if r > self.best[i].0 {
                    self.best[i] = (r, to_text(args));
                }
                self.m.revert();
                if group.ordered && ut.existence == Existence::MustExist {
                    break;
                }
            }
            if !found_some {
                self.extra(args);
            }
        } else if !(script.ignore_extra_untagged || logout) {
            self.extra(args);
        }
        self.follow_expunge(args);
    }

    fn extra(&mut self, args: &[Arg]) {
        self.mismatches += 1;
        if !self.script.ignore_extra_untagged && self.first_extra.is_none() {
            self.first_extra = Some(to_text(args));
        }
    }

    /// EXPUNGEs move the `$N` sequence numbers (after matching, as imaptest).
    fn follow_expunge(&mut self, args: &[Arg]) {
        let seq = args
            .first()
            .and_then(Arg::as_atom)
            .and_then(|a| std::str::from_utf8(a).ok()?.parse::<u32>().ok());
        if let Some(seq) = seq
            && args.get(1).is_some_and(|a| a.is_atom("EXPUNGE"))
        {
            self.m.expunged(seq);
        }
    }

    /// At a group's end: expected replies that never came, and unexpected ones.
    fn end_group(&mut self, gi: usize) {
        let script = self.script;
        let group = &script.groups[gi];
        let missing: Vec<usize> = (0..group.untagged.len())
            .filter(|&i| group.untagged[i].existence == Existence::MustExist && !self.found[i])
            .collect();
        if let Some(&first) = missing.first() {
            let ut = &group.untagged[first];
            let unexpanded = to_text(&ut.args);
            let expanded = self
                .m
                .expand(unexpanded.as_bytes(), true)
                .map(|e| args::printable(&e))
                .unwrap_or_else(|e| e);
            let why = format!(
                "missing {} untagged replies ({} mismatches)\n - first expected (line {}): {}\n - expanded: {}\n - best match: {}",
                missing.len(),
                self.mismatches,
                ut.line,
                unexpanded,
                expanded,
                self.best[first].1
            );
            self.fail(gi, &why);
        }
        if let Some(extra) = self.first_extra.take() {
            let why = format!(
                "{} unexpected untagged replies, first: {extra}",
                self.mismatches
            );
            self.fail(gi, &why);
        }
    }

    /// Records a failure of group `gi`, naming its first command.
    fn fail(&mut self, gi: usize, why: &str) {
        self.fail_command(gi, 0, why);
    }

    fn fail_command(&mut self, gi: usize, k: usize, why: &str) {
        let script = self.script;
        let group = &script.groups[gi];
        let (line, cmd) = match group.commands.get(k) {
            Some(c) if c.line == 0 => ("added".to_string(), c.text_lossy()),
            Some(c) => (c.line.to_string(), c.text_lossy()),
            None => ("-".to_string(), "(greeting)".to_string()),
        };
        let why: Vec<String> = why.lines().map(clip).collect();
        self.failures.push(format!(
            "command {}/{} (line {line}): {}\n - command: {}",
            gi + 1,
            self.script.groups.len(),
            why.join("\n"),
            clip(&cmd)
        ));
    }
}

/// The most of one line of a failure message that is shown: commands and
/// replies can hold whole messages.
const MAX_SHOWN: usize = 600;

fn clip(line: &str) -> String {
    if line.len() <= MAX_SHOWN {
        return line.to_string();
    }
    let mut end = MAX_SHOWN;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} more bytes)", &line[..end], line.len() - end)
}

fn text(s: &str) -> Piece {
    Piece::Text(s.as_bytes().to_vec())
}

/// The command's name, uppercased (`UID FETCH` counts as `UID`).
fn verb(pieces: &[Piece]) -> String {
    match pieces.first() {
        Some(Piece::Text(t)) => {
            String::from_utf8_lossy(t.split(|&b| b == b' ').next().unwrap_or_default())
                .to_ascii_uppercase()
        }
        _ => String::new(),
    }
}

/// Whether APPEND's arguments (after the word APPEND) carry the message: after
/// the mailbox, optional flags and an optional quoted date, a literal or
/// CATENATE.
fn append_has_body(rest: &[u8]) -> bool {
    let Ok(a) = args::parse(rest, true) else {
        return false;
    };
    if a.is_empty() {
        return false;
    }
    let mut i = 0;
    if matches!(a.get(i + 1), Some(Arg::List(_))) {
        i += 1;
    }
    if matches!(a.get(i + 1), Some(Arg::Str(_))) {
        i += 1;
    }
    matches!(a.get(i + 1), Some(Arg::Literal { .. }))
        || a.get(i + 1).is_some_and(|x| x.is_atom("catenate"))
}

/// A mailbox name as an IMAP URL path segment (RFC 5092): percent-encoded
/// outside unreserved characters and the sub-delimiters other than `;`.
fn url_path(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The results as a table: script, command groups, passed, failed, and the
/// capabilities a skipped script needed; then each failure.
pub fn table(results: &[ScriptResult]) -> String {
    let width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:width$}  {:>8}  {:>6}  {:>6}  skipped (missing capability)",
        "script", "commands", "passed", "failed"
    );
    for r in results {
        let skipped = r.skipped.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "{:width$}  {:>8}  {:>6}  {:>6}  {skipped}",
            r.name, r.commands, r.passed, r.failed
        );
    }
    let ran: Vec<&ScriptResult> = results.iter().filter(|r| r.skipped.is_none()).collect();
    let sum = |f: fn(&ScriptResult) -> usize| ran.iter().map(|r| f(r)).sum::<usize>();
    let _ = writeln!(
        out,
        "{:width$}  {:>8}  {:>6}  {:>6}  {} skipped",
        "total",
        sum(|r| r.commands),
        sum(|r| r.passed),
        sum(|r| r.failed),
        results.len() - ran.len()
    );
    let failing: Vec<&&ScriptResult> = ran.iter().filter(|r| !r.ok()).collect();
    let _ = writeln!(
        out,
        "\n{} scripts: {} passed, {} failed, {} skipped",
        results.len(),
        ran.len() - failing.len(),
        failing.len(),
        results.len() - ran.len()
    );
    for r in failing {
        if let Some(f) = &r.failure {
            let _ = writeln!(out, "\n{}:\n  {}", r.name, f.replace('\n', "\n  "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A scripted fake server on one connection: no LITERAL+, so literals need
    /// `+`; NOOP is never answered.
    fn fake_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut out = stream.try_clone().unwrap();
            let mut input = BufReader::new(stream);
            let _ = out.write_all(b"* OK [CAPABILITY IMAP4rev1] fake\r\n");
            loop {
                let mut line = Vec::new();
                if input.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut text = String::from_utf8_lossy(&line).trim_end().to_string();
                // A synchronizing literal: invite it, then read it and the rest.
                while let Some(open) = text.rfind('{').filter(|_| text.ends_with('}')) {
                    let n: usize = text[open + 1..text.len() - 1].parse().unwrap();
                    let _ = out.write_all(b"+ go\r\n");
                    let mut data = vec![0; n];
                    input.read_exact(&mut data).unwrap();
                    let mut rest = Vec::new();
                    input.read_until(b'\n', &mut rest).unwrap();
                    text = format!(
                        "{}<{}>{}",
                        &text[..open],
                        String::from_utf8_lossy(&data),
                        String::from_utf8_lossy(&rest).trim_end()
                    );
                }
                let mut words = text.splitn(3, ' ');
                let (tag, verb) = (
                    words.next().unwrap_or(""),
                    words.next().unwrap_or("").to_ascii_uppercase(),
                );
                let reply = match verb.as_str() {
                    "NOOP" => continue,
                    "LOGIN" => format!("{tag} OK [CAPABILITY IMAP4rev1 X-FAKE] in\r\n"),
                    "APPEND" => format!(
                        "* 1 EXISTS\r\n* OK got {}\r\n{tag} OK done\r\n",
                        words.next().unwrap_or("")
                    ),
                    "LOGOUT" => format!("* BYE bye\r\n{tag} OK out\r\n"),
                    _ => format!("{tag} OK\r\n"),
                };
                let _ = out.write_all(reply.as_bytes());
            }
        });
        addr
    }

    fn fake(script: &str) -> ScriptResult {
        let dir = launch::TempDir::new("imaptest-unit").unwrap();
        std::fs::write(
            dir.path().join("default.mbox"),
            "From a Fri Feb 22 17:06:23 2008\nx\n",
        )
        .unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, script).unwrap();
        let script = script::parse_file(&path).unwrap();
        let server = Server {
            addr: fake_server(),
            user: "u".into(),
            password: "p".into(),
            user2: None,
        };
        run_with(
            &script,
            &server,
            Duration::from_millis(300),
            Duration::from_secs(20),
        )
    }

    #[test]
    fn literals_wait_for_continuation() {
        let r = fake(
            "state: auth\ncapabilities: X-FAKE\n\nok append x {{{\nab\n}}}\n* ok got x <ab>\n",
        );
        assert_eq!((r.commands, r.passed, r.failed), (2, 2, 0), "{r:?}");
        let r = fake("state: auth\ncapabilities: X-OTHER\n\nok noop\n");
        assert_eq!(r.skipped.as_deref(), Some("X-OTHER"));
    }

    #[test]
    fn a_leading_untagged_line_checks_the_greeting() {
        let r = fake("state: auth\n\n* ok [capability imap4rev1] fake\n\nok logout\n* bye\n");
        assert_eq!((r.commands, r.passed, r.failed), (2, 2, 0), "{r:?}");
        let r = fake("state: auth\n\n* ok [capability imap4rev2]\n\nok logout\n");
        assert_eq!((r.commands, r.passed, r.failed), (2, 1, 1), "{r:?}");
        let f = r.failure.unwrap();
        assert!(
            f.contains("best match: OK [CAPABILITY IMAP4rev1] fake"),
            "{f}"
        );
    }

    #[test]
    fn a_silent_server_is_a_failure_not_a_hang() {
        let started = Instant::now();
        let r = fake("state: auth\n\nok append x {{{\nab\n}}}\nok noop\nok logout\n");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!((r.commands, r.passed, r.failed), (3, 1, 1), "{r:?}");
        let f = r.failure.unwrap();
        assert!(
            f.contains("command 2/3 (line 6): no reply within 0.3 s"),
            "{f}"
        );
        assert!(f.contains("(1 later command groups not run)"), "{f}");
    }

    #[test]
    fn mismatches_say_what_was_expected_and_received() {
        let r = fake("state: auth\n\nok append x {{{\nab\n}}}\n* ok got y\n\nno logout\n");
        assert_eq!((r.passed, r.failed), (0, 2), "{r:?}");
        let f = r.failure.unwrap();
        assert!(
            f.contains("missing 1 untagged replies (2 mismatches)"),
            "{f}"
        );
        assert!(f.contains("best match: OK got x <ab>"), "{f}");
        // The first failure is the one reported.
        assert!(!f.contains("command 2/2"), "{f}");
        let r = fake("state: auth\n\nno logout\n");
        let f = r.failure.unwrap();
        assert!(
            f.contains("command 1/1 (line 3): expected tagged reply 'no', got 'OK out'"),
            "{f}"
        );
    }

    #[test]
    fn append_bodies_are_recognised() {
        assert!(!append_has_body(b"imaptest2"));
        assert!(!append_has_body(
            b"x (\\seen) \"1-Jan-2000 00:00:00 +0000\""
        ));
        assert!(append_has_body(b"x (\\seen) {1}\r\na"));
        assert!(append_has_body(b"x catenate (text {1}\r\na)"));
        assert!(append_has_body(b"x \"date\" ~{1}\r\na"));
    }

    #[test]
    fn table_shows_skips_and_failures() {
        let results = vec![
            ScriptResult {
                name: "fetch".into(),
                commands: 3,
                passed: 3,
                ..Default::default()
            },
            ScriptResult {
                name: "sort".into(),
                commands: 4,
                skipped: Some("SORT".into()),
                ..Default::default()
            },
            ScriptResult {
                name: "store".into(),
                commands: 2,
                passed: 1,
                failed: 1,
                failure: Some("command 2/2 (line 5): boom".into()),
                ..Default::default()
            },
        ];
        let t = table(&results);
        assert!(t.contains("sort           4       0       0  SORT"), "{t}");
        assert!(
            t.contains("total          5       4       1  1 skipped"),
            "{t}"
        );
        assert!(
            t.contains("3 scripts: 1 passed, 1 failed, 1 skipped"),
            "{t}"
        );
        assert!(t.contains("store:\n  command 2/2 (line 5): boom"), "{t}");
        assert_eq!(url_path("a b;c"), "a%20b%3Bc");
        let long = "x".repeat(MAX_SHOWN + 5);
        assert_eq!(
            clip(&long),
            format!("{}... (5 more bytes)", &long[..MAX_SHOWN])
        );
    }
}
