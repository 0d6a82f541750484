//! `cargo xtask bench smtp`: messages/s acknowledged and latency per message, for
//! gannet and for Postfix on loopback in the same run, driven by the same load
//! generator (below): N clients, each one persistent SMTP session that sends one
//! transaction after the other (MAIL, RCPT, DATA, the message, wait for the 250).
//!
//! A 250 after DATA means durably stored in both servers: gannet replies after its
//! store commit (fsync), Postfix after its cleanup daemon fsyncs the queue file.
//! It prints figures only; nothing here asserts on timing.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;

use crate::bench_support::{Lost, WorkDir, trouble};
use crate::postfix::{self, Postfix, PostfixMode};

/// Options of `cargo xtask bench smtp`.
#[derive(Args)]
pub struct Options {
    /// Messages to send to each server (over all clients), after one untimed
    /// warm-up message per client.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    messages: usize,
    /// Send for this many seconds instead of a fixed number of messages.
    #[arg(long, value_name = "S", conflicts_with = "messages")]
    seconds: Option<u64>,
    /// Concurrent clients, each one persistent SMTP session (1-1000).
    #[arg(long, value_name = "N", default_value_t = 10)]
    clients: usize,
    /// Size of each message in bytes, header fields included.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    size: usize,
    /// Send MAIL, RCPT and DATA in one write (RFC 2920 PIPELINING) instead of
    /// waiting for each reply.
    #[arg(long)]
    pipelining: bool,
    /// What Postfix does with the mail it accepts.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = PostfixMode::Hold)]
    postfix: PostfixMode,
}

/// The envelope sender, and the recipient domain: gannet localserve delivers any
/// address @localhost to its catch-all account; Postfix is configured to match.
const MAIL_FROM: &str = "bench@bench.invalid";
const RCPT_TO: &str = "bench@localhost";
/// A client gives up on a server that does not reply in this time.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run(root: &Path, opts: &Options) -> Result<()> {
    ensure!(opts.messages >= 1, "--messages must be at least 1");
    ensure!(
        (1..=1000).contains(&opts.clients),
        "--clients must be between 1 and 1000"
    );
    let load = Load {
        clients: opts.clients,
        stop: match opts.seconds {
            Some(s) => Stop::Seconds(Duration::from_secs(s.max(1))),
            None => Stop::Messages(opts.messages),
        },
        template: Template::new(opts.size)?,
        pipelining: opts.pipelining,
    };

    crate::run(&mut crate::cargo(
        root,
        &["build", "--release", "--bin", "gannet"],
    ))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let gannet_bin = target.join("release").join("gannet");
    // target/tmp: the filesystem of the build, not a tmpfs where fsync costs nothing.
    let work = WorkDir::create(&target.join("tmp"), "bench-smtp")?;

    println!(
        "\n{} clients, each one persistent session; {}; {} byte messages; {}",
        load.clients,
        match load.stop {
            Stop::Messages(n) => format!("{n} messages per server"),
            Stop::Seconds(d) => format!("{} s per server", d.as_secs()),
        },
        opts.size,
        if load.pipelining {
            "MAIL/RCPT/DATA pipelined"
        } else {
            "one command at a time"
        }
    );
    println!("work directory: {}", work.path.display());

    let mut rows = Vec::new();
    let gannet = bench_gannet(&gannet_bin, &work.path.join("gannet"), &load);
    let gannet = match gannet {
        Ok(outcome) => outcome,
        Err(e) => return Err(e.context("gannet could not be measured")),
    };
    rows.push(("gannet", gannet));

    let peer_note = if opts.postfix == PostfixMode::None {
        Some("postfix: skipped (--postfix none)".to_string())
    } else {
        match bench_postfix(&work.path.join("postfix"), opts.postfix, &load) {
            Ok((outcome, note)) => {
                rows.push(("postfix", outcome));
                note
            }
            Err(e) => Some(format!("postfix: not measured: {e:#}")),
        }
    };

    print_report(&rows, opts.postfix, peer_note.as_deref());
    let (_, gannet) = &rows[0];
    ensure!(
        gannet.failed == 0 && gannet.lost.is_empty(),
        "gannet did not acknowledge every message (see above)"
    );
    Ok(())
}

fn bench_gannet(bin: &Path, dir: &Path, load: &Load) -> Result<Outcome> {
    println!("\n==> gannet localserve");
    let offset = free_port_offset()?;
    let smtp: SocketAddr = ([127, 0, 0, 1], 25 + offset).into();
    fs::create_dir_all(dir)?;
    let log = dir.join("gannet.log");
    let mut cmd = Command::new(bin);
    cmd.arg("localserve")
        .arg("--dir")
        .arg(dir)
        .args(["--port-offset", &offset.to_string()]);
    let mut server = Server::start("gannet", &mut cmd, &log)?;
    server.wait_listening(smtp)?;
    sync_disks();
    let outcome = drive(smtp, load);
    let status = server.stop();
    let outcome = outcome?;
    if !status.is_some_and(|s| s.success()) {
        eprintln!("gannet did not exit cleanly ({status:?}); end of its log:");
        eprint!("{}", tail(&log, 20));
    }
    if outcome.failed > 0 || !outcome.lost.is_empty() {
        eprintln!("gannet's log, the lines about trouble:");
        eprint!("{}", trouble(&log, 20));
    }
    Ok(outcome)
}

/// Postfix's figures, and a note for the report if there is one.
fn bench_postfix(dir: &Path, mode: PostfixMode, load: &Load) -> Result<(Outcome, Option<String>)> {
    println!("\n==> postfix ({})", mode.describe());
    postfix::ensure_installed()?;
    println!("postfix {}", postfix::version()?);
    let port = free_port()?;
    let smtp: SocketAddr = ([127, 0, 0, 1], port).into();
    let instance = Postfix::configure(dir, port, mode)?;
    let mut server = instance.start()?;
    server.wait_listening(smtp)?;
    let before = instance.stored();
    sync_disks();
    let outcome = drive(smtp, load);
    let mut note = None;
    if let Ok(o) = &outcome {
        note = instance.check_stored(before, o.warmed, o.acked, o.elapsed);
    }
    let status = server.stop();
    let outcome = outcome?;
    // In the foreground (-d) the master leads no process group, so on SIGTERM it
    // fails to signal one and exits 1 ("master_sigdeath: kill process group"); its
    // children notice that it is gone and exit too.
    if !status.is_some_and(|s| s.success() || s.code() == Some(1)) {
        eprintln!("postfix master did not exit cleanly ({status:?})");
    }
    if outcome.failed > 0 || !outcome.lost.is_empty() {
        eprintln!("postfix's log, the lines about trouble:");
        eprint!("{}", trouble(&instance.log(), 20));
    }
    Ok((outcome, note))
}

fn print_report(rows: &[(&str, Outcome)], mode: PostfixMode, note: Option<&str>) {
    println!("\n==> results");
    println!(
        "  {:<8} {:>8} {:>8} {:>11} {:>8} {:>8} {:>7}",
        "server", "messages", "seconds", "messages/s", "p50 ms", "p99 ms", "failed"
    );
    for (name, o) in rows {
        println!(
            "  {:<8} {:>8} {:>8.2} {:>11.0} {:>8.2} {:>8.2} {:>7}",
            name,
            o.acked,
            o.elapsed.as_secs_f64(),
            o.rate(),
            ms(o.percentile(50)),
            ms(o.percentile(99)),
            o.failed
        );
    }
    match rows {
        [(_, g), (_, p)] if p.rate() > 0.0 && g.rate() > 0.0 => {
            println!(
                "  gannet/postfix: {:.2}x messages/s; p50 latency {:.2}x",
                g.rate() / p.rate(),
                ms(g.percentile(50)) / ms(p.percentile(50))
            );
        }
        _ => {}
    }
    for (name, o) in rows {
        for l in &o.lost {
            println!("  {name}: {l}");
        }
        for (reply, n) in o.refusals.iter().take(10) {
            println!("  {name}: {n} x {reply}");
        }
        if o.refusals.len() > 10 {
            println!("  {name}: and {} other replies", o.refusals.len() - 10);
        }
    }
    println!("  messages: acknowledged with 250 after DATA; failed: any other reply");
    println!("  gannet: 250 after the message is committed to the account's store (fsync)");
    if mode != PostfixMode::None {
        println!("  postfix: {}", mode.explain());
    }
    if let Some(note) = note {
        println!("  {note}");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Writes dirty pages of earlier work (the build, the previous server) to disk, so
/// that their writeback does not land in the next measurement.
fn sync_disks() {
    let _ = Command::new("sync").status();
}

// ---------------------------------------------------------------------------------
// Servers as child processes

/// A server process, stopped (SIGTERM, then SIGKILL) when dropped, even on error.
pub struct Server {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    /// Starts `cmd` with its output appended to `log`.
    pub fn start(name: &'static str, cmd: &mut Command, log: &Path) -> Result<Server> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("creating {}", log.display()))?;
        let shown = crate::shown(cmd);
        println!("$ {shown}  (output in {})", log.display());
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        Ok(Server {
            name,
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// Waits until `addr` accepts connections; fails if the process exits first.
    pub fn wait_listening(&mut self, addr: SocketAddr) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            let child = self.child.as_mut().expect("running until stopped");
            let exited = child.try_wait()?;
            if exited.is_some() || Instant::now() > deadline {
                let why = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => format!("is not listening on {addr} {START_TIMEOUT:?}"),
                };
                bail!(
                    "{} {why} after start; end of its log ({}):\n{}",
                    self.name,
                    self.log.display(),
                    tail(&self.log, 20)
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, up to 10 s for a clean exit, then SIGKILL. Returns the exit status if
    /// it exited on its own.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.terminate()
    }

    fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} did not stop within 10 s of SIGTERM; killing it",
            self.name
        );
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The last `n` lines of a log file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| format!("    {l}\n")).collect()
}

/// A loopback port nobody listens on now (another program could take it before the
/// server does; the server then fails to start and says so).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A port offset for localserve with all its ports (25, 587, 143 and 80 plus the
/// offset) free on loopback.
fn free_port_offset() -> Result<u16> {
    for _ in 0..50 {
        let Some(offset) = free_port()?.checked_sub(25) else {
            continue;
        };
        let all_free = [25u16, 587, 143, 80].iter().all(|p| {
            p.checked_add(offset)
                .is_some_and(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        });
        if all_free {
            return Ok(offset);
        }
    }
    bail!("found no port offset with localserve's four ports free on 127.0.0.1")
}

// ---------------------------------------------------------------------------------
// The load generator

struct Load {
    clients: usize,
    stop: Stop,
    template: Template,
    pipelining: bool,
}

#[derive(Clone, Copy)]
enum Stop {
    /// This many messages over all clients.
    Messages(usize),
    /// Each client goes on until this much time has passed.
    Seconds(Duration),
}

/// What one server did under the load.
struct Outcome {
    /// Messages acknowledged with 250 after DATA (warm-up messages not counted).
    acked: usize,
    /// Warm-up messages acknowledged (one per client that got going).
    warmed: usize,
    /// From the moment all clients were connected and warmed up to the last reply.
    elapsed: Duration,
    /// Per acknowledged message, MAIL FROM sent to 250 received, sorted.
    latencies: Vec<Duration>,
    /// Messages not acknowledged, including ones on a connection that was lost.
    failed: usize,
    /// Replies other than the expected ones, with how often each came.
    refusals: Vec<(String, usize)>,
    /// Why clients ended early, one entry per client that did.
    lost: Vec<String>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.acked as f64 / secs
        } else {
            0.0
        }
    }

    /// Nearest-rank percentile of the per-message latencies.
    fn percentile(&self, p: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (p * self.latencies.len()).div_ceil(100).max(1);
        self.latencies[rank - 1]
    }
}

/// Runs the load against the SMTP server at `addr`.
fn drive(addr: SocketAddr, load: &Load) -> Result<Outcome> {
    let claimed = Arc::new(AtomicUsize::new(0));
    // The clients and this thread: the clock starts once every client is ready.
    let ready = Arc::new(Barrier::new(load.clients + 1));
    let mut handles = Vec::new();
    for id in 0..load.clients {
        let claimed = Arc::clone(&claimed);
        let ready = Arc::clone(&ready);
        let template = load.template.clone();
        let (stop, pipelining) = (load.stop, load.pipelining);
        handles.push(thread::spawn(move || {
            client(addr, id, template, pipelining, stop, &claimed, &ready)
        }));
    }
    ready.wait();
    let start = Instant::now();
    println!(
        "{} clients connected and warmed up; sending to {addr} ...",
        load.clients
    );
    let results: Vec<ClientResult> = handles
        .into_iter()
        .map(|h| h.join().expect("a load client panicked"))
        .collect();
    let elapsed = start.elapsed();

    let mut outcome = Outcome {
        acked: 0,
        warmed: 0,
        elapsed,
        latencies: Vec::new(),
        failed: 0,
        refusals: Vec::new(),
        lost: Vec::new(),
    };
    for r in results {
        outcome.acked += r.latencies.len();
        outcome.warmed += usize::from(r.warmed);
        outcome.latencies.extend(r.latencies);
        outcome.failed += r.failed;
        for refusal in r.refusals {
            match outcome.refusals.iter_mut().find(|(t, _)| *t == refusal) {
                Some((_, n)) => *n += 1,
                None => outcome.refusals.push((refusal, 1)),
            }
        }
        if let Some(why) = r.lost {
            outcome.lost.push(format!("client {}: {why}", r.id));
        }
    }
    outcome.latencies.sort_unstable();
    if let Stop::Messages(n) = load.stop {
        // Messages no client got to send because every client had ended.
        outcome.failed += n.saturating_sub(outcome.acked + outcome.failed);
    }
    ensure!(
        outcome.acked > 0 || outcome.lost.len() < load.clients,
        "no client could send a message: {}",
        outcome.lost.join("; ")
    );
    Ok(outcome)
}

struct ClientResult {
    id: usize,
    warmed: bool,
    latencies: Vec<Duration>,
    failed: usize,
    refusals: Vec<String>,
    lost: Option<String>,
}

/// One client: connects, says EHLO, sends one warm-up message, waits for the others,
/// then sends transactions until the work is done. Always waits at `ready` once.
fn client(
    addr: SocketAddr,
    id: usize,
    mut template: Template,
    pipelining: bool,
    stop: Stop,
    claimed: &AtomicUsize,
    ready: &Barrier,
) -> ClientResult {
    let mut result = ClientResult {
        id,
        warmed: false,
        latencies: Vec::new(),
        failed: 0,
        refusals: Vec::new(),
        lost: None,
    };
    let mut seq = 0;
    let setup = Session::open(addr, pipelining).and_then(|mut s| {
        match s.transaction(template.message(id, seq))? {
            Ok(()) => Ok(s),
            Err(reply) => Err(Lost(format!("warm-up message refused: {reply}"))),
        }
    });
    ready.wait();
    let mut session = match setup {
        Ok(s) => {
            result.warmed = true;
            s
        }
        Err(t) => {
            result.lost = Some(t.to_string());
            return result;
        }
    };
    let start = Instant::now();
    loop {
        let more = match stop {
            Stop::Messages(n) => claimed.fetch_add(1, Ordering::Relaxed) < n,
            Stop::Seconds(d) => start.elapsed() < d,
        };
        if !more {
            break;
        }
        seq += 1;
        let sent = Instant::now();
        match session.transaction(template.message(id, seq)) {
            Ok(Ok(())) => result.latencies.push(sent.elapsed()),
            Ok(Err(reply)) => {
                result.failed += 1;
                result.refusals.push(reply);
            }
            Err(t) => {
                result.failed += 1;
                result.lost = Some(t.to_string());
                return result;
            }
        }
    }
    session.quit();
    result
}

/// One line of a reply: its code and its text.
struct Reply {
    code: u16,
    text: String,
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pipelining: bool,
    /// The commands of a transaction up to the data, each with the reply it wants.
    commands: [(String, u16); 3],
}

impl Session {
    fn open(addr: SocketAddr, pipelining: bool) -> Result<Session, Lost> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        // One small write per command: without this, Nagle's algorithm and delayed
        // ACKs add tens of milliseconds to a lock-step session.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        let mut s = Session {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            pipelining,
            commands: [
                (format!("MAIL FROM:<{MAIL_FROM}>\r\n"), 250),
                (format!("RCPT TO:<{RCPT_TO}>\r\n"), 250),
                ("DATA\r\n".to_string(), 354),
            ],
        };
        let greeting = s.reply()?;
        if greeting.code != 220 {
            return Err(Lost(format!(
                "greeting: {} {}",
                greeting.code, greeting.text
            )));
        }
        s.writer.write_all(b"EHLO bench.invalid\r\n")?;
        let ehlo = s.reply_lines()?;
        let last = ehlo.last().expect("a reply has a line");
        if last.code != 250 {
            return Err(Lost(format!("EHLO: {} {}", last.code, last.text)));
        }
        let announced = |ext: &str| ehlo.iter().any(|r| r.text.eq_ignore_ascii_case(ext));
        if pipelining && !announced("PIPELINING") {
            return Err(Lost(
                "--pipelining given but the server does not announce PIPELINING".into(),
            ));
        }
        Ok(s)
    }

    /// One transaction. Err: the session cannot go on; Ok(Err(why)): the server
    /// refused the message, and the session goes on.
    fn transaction(&mut self, message: &[u8]) -> Result<Result<(), String>, Lost> {
        let mut refused = None;
        let mut data_accepted = false;
        if self.pipelining {
            let batch: String = self.commands.iter().map(|(c, _)| c.as_str()).collect();
            self.writer.write_all(batch.as_bytes())?;
        }
        let commands = self.commands.clone();
        for (command, want) in commands {
            if !self.pipelining {
                self.writer.write_all(command.as_bytes())?;
            }
            let r = self.reply()?;
            data_accepted = r.code == 354;
            if r.code != want && refused.is_none() {
                refused = Some(format!("{} {} {}", command.trim_end(), r.code, r.text));
                if !self.pipelining {
                    break;
                }
            }
        }
        match refused {
            None => {
                self.writer.write_all(message)?;
                let r = self.reply()?;
                if r.code != 250 {
                    return Ok(Err(format!("end of data: {} {}", r.code, r.text)));
                }
                Ok(Ok(()))
            }
            Some(why) => {
                // A DATA accepted after a failed MAIL or RCPT would need the data.
                if data_accepted {
                    self.writer.write_all(message)?;
                    self.reply()?;
                }
                self.writer.write_all(b"RSET\r\n")?;
                self.reply()?;
                Ok(Err(why))
            }
        }
    }

    fn quit(mut self) {
        if self.writer.write_all(b"QUIT\r\n").is_ok() {
            let _ = self.reply();
        }
    }

    /// The next reply (its last line); a 421 (the server is closing the session)
    /// ends the session.
    fn reply(&mut self) -> Result<Reply, Lost> {
        let r = self.reply_lines()?.pop().expect("a reply has a line");
        if r.code == 421 {
            return Err(Lost(format!("421 {}", r.text)));
        }
        Ok(r)
    }

    /// The lines of one (possibly multi-line) reply.
    fn reply_lines(&mut self) -> Result<Vec<Reply>, Lost> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(Lost("the server closed the connection".into()));
            }
            let line = line.trim_end();
            let Some(code) = line.get(..3).and_then(|c| c.parse().ok()) else {
                return Err(Lost(format!("not an SMTP reply: {line:?}")));
            };
            lines.push(Reply {
                code,
                text: line.get(4..).unwrap_or("").to_string(),
            });
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(lines);
            }
        }
    }
}

/// The message each client sends, `size` bytes with CRLF line ends and the final
/// `.` line; only the Message-ID changes from one message to the next.
#[derive(Clone)]
struct Template {
    bytes: Vec<u8>,
    /// Where the digits of the Message-ID start.
    id_at: usize,
}

const ID_DIGITS: usize = 4 + 8;

impl Template {
    fn new(size: usize) -> Result<Template> {
        let header = format!(
            "From: Benchmark <{MAIL_FROM}>\r\n\
             To: <{RCPT_TO}>\r\n\
             Subject: gannet smtp benchmark\r\n\
             Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=us-ascii\r\n\
             Message-ID: <bench."
        );
        let id_at = header.len();
        let mut text = header.into_bytes();
        text.extend_from_slice(&[b'0'; ID_DIGITS]);
        text.extend_from_slice(b"@bench.invalid>\r\n\r\n");
        let min = text.len() + 2;
        if size < min {
            bail!("--size must be at least {min} bytes, room for the header fields");
        }
        // Body: lines of up to 72 characters plus CRLF, the last ones shorter so that
        // the message ends at `size` exactly.
        let words = [
            "gannet", "store", "fsync", "sqlite", "mailbox", "queue", "loopback", "bench",
            "message", "commit", "durable", "postfix",
        ];
        let mut i = 0;
        while text.len() < size {
            let left = size - text.len();
            let len = match left {
                ..=74 => left - 2,
                75 => 70,
                _ => 72,
            };
            let mut line = String::new();
            while line.len() < len {
                line.push_str(words[i % words.len()]);
                line.push(' ');
                i += 1;
            }
            // Never a leading '.', which would need dot-stuffing.
            line.truncate(len);
            text.extend_from_slice(line.as_bytes());
            text.extend_from_slice(b"\r\n");
        }
        debug_assert_eq!(text.len(), size);
        text.extend_from_slice(b".\r\n");
        Ok(Template { bytes: text, id_at })
    }

    /// The message for client `client`, number `seq`, with the end-of-data line.
    fn message(&mut self, client: usize, seq: usize) -> &[u8] {
        let digits = format!("{client:04}{seq:08}");
        let digits = &digits.as_bytes()[digits.len() - ID_DIGITS..];
        self.bytes[self.id_at..self.id_at + ID_DIGITS].copy_from_slice(digits);
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_size_asked_for_and_valid_lines() {
        for size in [300, 1000, 4096, 65536] {
            let mut t = Template::new(size).unwrap();
            let m = t.message(3, 42).to_vec();
            assert_eq!(m.len(), size + 3, "size {size}");
            assert!(m.ends_with(b"\r\n.\r\n"));
            let text = std::str::from_utf8(&m).unwrap();
            assert!(text.contains("Message-ID: <bench.000300000042@bench.invalid>"));
            for line in text[..text.len() - 3].split("\r\n") {
                assert!(line.len() <= 998, "{line:?}");
                assert!(!line.contains('\n') && !line.contains('\r'));
                assert!(!line.starts_with('.'), "{line:?}");
            }
        }
    }
}
