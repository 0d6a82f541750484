//! `cargo xtask bench imap`: commands/s and latency per IMAP command, and memory per
//! idle connection, for gannet and for Dovecot on loopback in the same run, driven
//! by the same load generator (below).
//!
//! Each server gets the same three phases. First INBOX is filled with APPEND.
//! Then many connections log in, SELECT INBOX and IDLE, and the server's memory
//! (every process of it) is read before and after. Last, N clients, each one
//! persistent session on the shared INBOX, run a weighted mix for a fixed time:
//! the selected-state commands of imaptest's default profile (FETCH of a range,
//! FETCH of a whole message, STORE, STORE \Deleted and EXPUNGE, APPEND) plus
//! SEARCH and NOOP. Unlike imaptest, sessions stay logged in throughout, and reads
//! come more often than writes, as from a mail client. As imaptest does on a
//! shared mailbox, clients address messages by UID, so that one client's EXPUNGE
//! does not move another's target; a client only expunges messages it appended
//! itself, so the fetched and flagged ones are always there. It prints figures
//! only; nothing here asserts on timing.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::{Args, ValueEnum};

use crate::bench_smtp::{Server, free_port, tail};
use crate::bench_support::{Lost, WorkDir, trouble};
use crate::dovecot::{self, Dovecot, DovecotMode};

/// Options of `cargo xtask bench imap`.
#[derive(Args)]
pub struct Options {
    /// Concurrent clients in the command mix, each one persistent IMAP session on
    /// the shared INBOX (1-500).
    #[arg(long, value_name = "N", default_value_t = 10)]
    clients: usize,
    /// How long the command mix runs against each server, in seconds.
    #[arg(long, value_name = "S", default_value_t = 10)]
    seconds: u64,
    /// Messages appended to INBOX before anything is measured.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    messages: usize,
    /// Connections that log in (see --idle-auth), SELECT INBOX and IDLE for the
    /// memory figure; 0 skips it.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    idle: usize,
    /// How the idle connections log in. gannet checks a LOGIN password against an
    /// argon2id hash (19 MiB, tens of milliseconds of CPU): a few thousand LOGINs
    /// take a minute or more, and the allocator keeps the hashes' memory, which then
    /// counts as connection memory. CRAM-MD5 is checked against stored keys at
    /// almost no cost, in both servers.
    #[arg(long, value_enum, value_name = "MECHANISM", default_value_t = IdleAuth::CramMd5)]
    idle_auth: IdleAuth,
    /// Whether Dovecot is measured beside gannet.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = DovecotMode::Run)]
    dovecot: DovecotMode,
}

/// How the idle connections authenticate.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdleAuth {
    /// AUTHENTICATE CRAM-MD5 (RFC 2195).
    CramMd5,
    /// LOGIN with the password.
    Login,
}

/// localserve's account; the private Dovecot accepts the same login.
const USER: &str = "gannet@localhost";
const PASSWORD: &str = "gannetgannet";
/// Size of every appended message. Up to 4096 bytes, LITERAL- (gannet) allows a
/// non-synchronizing literal, as LITERAL+ (Dovecot) does for any size.
const MESSAGE_SIZE: usize = 4000;
/// Messages come from one of this many senders and carry one of this many topic
/// words, so that SEARCH FROM and SEARCH TEXT find a few percent of the mailbox.
const SENDERS: usize = 50;
const TOPICS: usize = 100;
/// A client gives up on a server that does not reply in this time.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// Threads that open the idle connections: Dovecot forks two processes for each,
/// so a few at a time keep both cores busy.
const OPENERS: usize = 8;

pub fn run(root: &Path, opts: &Options) -> Result<()> {
    ensure!(
        (1..=500).contains(&opts.clients),
        "--clients must be between 1 and 500"
    );
    ensure!(opts.seconds >= 1, "--seconds must be at least 1");
    ensure!(
        opts.messages >= opts.clients,
        "--messages must be at least --clients (each client fills its share)"
    );
    // One descriptor per client connection here, one per connection in gannet;
    // Dovecot's master takes a few per process on top.
    raise_open_files(4 * (opts.idle + opts.clients) + 1024)?;

    crate::run(&mut crate::cargo(
        root,
        &["build", "--release", "--bin", "gannet"],
    ))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let gannet_bin = target.join("release").join("gannet");
    // target/tmp: the filesystem of the build, not a tmpfs where fsync costs nothing.
    let work = WorkDir::create(&target.join("tmp"), "bench-imap")?;

    println!(
        "\n{} messages of {MESSAGE_SIZE} bytes appended first; {} idle connections; \
         then {} clients on the shared INBOX for {} s per server",
        opts.messages, opts.idle, opts.clients, opts.seconds
    );
    println!("work directory: {}", work.path.display());

    let mut rows = Vec::new();
    match bench_gannet(&gannet_bin, &work.path.join("gannet"), opts) {
        Ok(figures) => rows.push(("gannet", figures)),
        Err(e) => return Err(e.context("gannet could not be measured")),
    }
    let peer_note = match opts.dovecot {
        DovecotMode::None => Some("dovecot: skipped (--dovecot none)".to_string()),
        DovecotMode::Run => match bench_dovecot(&work.path.join("dovecot"), opts) {
            Ok(figures) => {
                rows.push(("dovecot", figures));
                None
            }
            Err(e) => Some(format!("dovecot: not measured: {e:#}")),
        },
    };

    print_report(&rows, opts, peer_note.as_deref());
    let (_, gannet) = &rows[0];
    ensure!(
        gannet.load.failures() == 0 && gannet.load.lost.is_empty(),
        "gannet refused commands or lost clients in the command mix (see above)"
    );
    if let Some(idle) = &gannet.idle {
        ensure!(
            idle.opened == idle.wanted,
            "gannet took only {} of the {} idle connections (see above)",
            idle.opened,
            idle.wanted
        );
    }
    Ok(())
}

/// What one server did in the three phases.
struct Figures {
    fill: Duration,
    idle: Option<Idle>,
    load: Outcome,
}

fn bench_gannet(bin: &Path, dir: &Path, opts: &Options) -> Result<Figures> {
    println!("\n==> gannet localserve");
    let offset = free_port_offset()?;
    let imap: SocketAddr = ([127, 0, 0, 1], 143 + offset).into();
    fs::create_dir_all(dir)?;
    let mut init = Command::new(bin);
    init.arg("localserve").arg("--dir").arg(dir).args([
        "--port-offset",
        &offset.to_string(),
        "--initonly",
    ]);
    crate::run(&mut init)?;
    // localserve's limits suit a test suite, not thousands of connections at once.
    raise_gannet_limits(&dir.join("gannet.toml"), opts.idle + 2 * opts.clients)?;
    let log = dir.join("gannet.log");
    let mut cmd = Command::new(bin);
    cmd.arg("localserve")
        .arg("--dir")
        .arg(dir)
        .args(["--port-offset", &offset.to_string()]);
    let mut server = Server::start("gannet", &mut cmd, &log)?;
    server.wait_listening(imap)?;
    let pid = child_pid(&dir.to_string_lossy())?;
    let figures = measure(imap, pid, opts);
    let status = server.stop();
    let figures = figures?;
    if !status.is_some_and(|s| s.success()) {
        eprintln!("gannet did not exit cleanly ({status:?}); end of its log:");
        eprint!("{}", tail(&log, 20));
    }
    if figures.troubled() {
        eprintln!("gannet's log, the lines about trouble:");
        eprint!("{}", trouble(&log, 20));
    }
    Ok(figures)
}

fn bench_dovecot(dir: &Path, opts: &Options) -> Result<Figures> {
    println!("\n==> dovecot");
    dovecot::ensure_installed()?;
    println!("dovecot {}", dovecot::version()?);
    let port = free_port()?;
    let imap: SocketAddr = ([127, 0, 0, 1], port).into();
    let instance = Dovecot::configure(dir, port, PASSWORD, opts.idle + 2 * opts.clients)?;
    let mut server = instance.start()?;
    server.wait_listening(imap)?;
    let pid = child_pid(&dir.to_string_lossy())?;
    let figures = measure(imap, pid, opts);
    let status = server.stop();
    let figures = figures?;
    if !status.is_some_and(|s| s.success()) {
        eprintln!("dovecot master did not exit cleanly ({status:?})");
    }
    if figures.troubled() {
        eprintln!("dovecot's log, the lines about trouble:");
        eprint!("{}", trouble(&instance.log(), 20));
    }
    // Past fs.inotify.max_user_instances imap processes, Dovecot's IDLE polls.
    let log = fs::read_to_string(instance.log()).unwrap_or_default();
    if log.contains("Inotify instance limit") {
        println!(
            "note: dovecot logged that the inotify instance limit was reached: past it, \
             its idle connections poll the mailbox (see /proc/sys/fs/inotify/max_user_instances)"
        );
    }
    Ok(figures)
}

/// The three phases against the server at `addr`, whose processes descend from `pid`.
fn measure(addr: SocketAddr, pid: u32, opts: &Options) -> Result<Figures> {
    let fill = fill(addr, opts.messages, opts.clients)?;
    println!(
        "INBOX filled: {} messages in {:.2} s ({:.0} APPENDs/s over {} sessions)",
        opts.messages,
        fill.as_secs_f64(),
        opts.messages as f64 / fill.as_secs_f64(),
        opts.clients
    );
    let idle = match opts.idle {
        0 => None,
        n => Some(idle(addr, pid, n, opts.idle_auth)),
    };
    let load = drive(addr, opts)?;
    Ok(Figures { fill, idle, load })
}

impl Figures {
    fn troubled(&self) -> bool {
        let idle_short = self.idle.as_ref().is_some_and(|i| i.opened < i.wanted);
        idle_short || self.load.failures() > 0 || !self.load.lost.is_empty()
    }
}

fn print_report(rows: &[(&str, Figures)], opts: &Options, note: Option<&str>) {
    println!(
        "\n==> results: command mix, {} clients on a shared INBOX of {}+ messages",
        opts.clients, opts.messages
    );
    for (name, f) in rows {
        let o = &f.load;
        println!("  {name}, {:.2} s:", o.elapsed.as_secs_f64());
        println!(
            "    {:<14} {:>8} {:>8} {:>8} {:>8} {:>7}",
            "command", "count", "ops/s", "p50 ms", "p99 ms", "failed"
        );
        let names = KINDS.iter().map(|k| k.name()).chain(["all"]);
        for (name, s) in names.zip(o.kinds.iter().chain([&o.all()])) {
            println!(
                "    {:<14} {:>8} {:>8.0} {:>8.2} {:>8.2} {:>7}",
                name,
                s.latencies.len(),
                o.rate(s),
                ms(s.percentile(50)),
                ms(s.percentile(99)),
                s.failed
            );
        }
    }
    if let [(_, g), (_, d)] = rows {
        let (g, d) = (&g.load, &d.load);
        let ratio = |a: f64, b: f64| match a > 0.0 && b > 0.0 {
            true => format!("{:.2}x", a / b),
            false => "-".to_string(),
        };
        println!("  gannet/dovecot:");
        println!("    {:<14} {:>8} {:>12}", "command", "ops/s", "p50 latency");
        let names = KINDS.iter().map(|k| k.name()).chain(["all"]);
        let gs = g
            .kinds
            .iter()
            .chain([&g.all()])
            .cloned()
            .collect::<Vec<_>>();
        let ds = d
            .kinds
            .iter()
            .chain([&d.all()])
            .cloned()
            .collect::<Vec<_>>();
        for (name, (gs, ds)) in names.zip(gs.iter().zip(&ds)) {
            println!(
                "    {:<14} {:>8} {:>12}",
                name,
                ratio(g.rate(gs), d.rate(ds)),
                ratio(ms(gs.percentile(50)), ms(ds.percentile(50)))
            );
        }
    }
    for (name, f) in rows {
        for l in &f.load.lost {
            println!("  {name}: {l}");
        }
        for (reply, n) in f.load.refusals.iter().take(10) {
            println!("  {name}: {n} x {reply}");
        }
        if f.load.refusals.len() > 10 {
            println!("  {name}: and {} other replies", f.load.refusals.len() - 10);
        }
    }
    let weights: Vec<String> = KINDS
        .iter()
        .map(|k| format!("{} {}", k.name(), k.weight()))
        .collect();
    println!("  mix (weights out of 100): {}", weights.join(", "));
    println!(
        "  each client sends one command at a time; ops/s: commands answered OK per \
         second over all clients; failed: NO, BAD, or a FETCH of an existing UID \
         without the message"
    );
    println!(
        "  FETCH FLAGS: UID FETCH of a run of ten UIDs (UID FLAGS); HEADER: \
         BODY.PEEK[HEADER]; STORE: +FLAGS or -FLAGS \\Seen or \\Flagged; EXPUNGE: \
         UID STORE +FLAGS.SILENT (\\Deleted) (counted as STORE), then EXPUNGE, of a \
         message the client appended"
    );

    if opts.idle > 0 {
        print_memory(rows, opts);
    }

    let fills: Vec<String> = rows
        .iter()
        .map(|(n, f)| format!("{n} {:.0}", opts.messages as f64 / f.fill.as_secs_f64()))
        .collect();
    println!(
        "\n  filling INBOX before the measurements, APPENDs/s over {} sessions: {}",
        opts.clients,
        fills.join(", ")
    );
    println!(
        "  gannet: OK after APPEND, STORE and EXPUNGE means committed to its store \
         (SQLite WAL, synchronous=FULL: fsync)"
    );
    if rows.len() > 1 {
        println!(
            "  dovecot: Maildir with its default mail_fsync = optimized (fsync for new \
             messages, not for flag changes), no full-text index (SEARCH TEXT reads the \
             messages)"
        );
    }
    if let [(_, g), (_, d)] = rows {
        let (gr, dr) = (g.load.rate(&g.load.all()), d.load.rate(&d.load.all()));
        println!(
            "  aim, more commands/s than Dovecot: {gr:.0} vs {dr:.0}, {}",
            met(gr > dr)
        );
    }
    if let Some(per) = rows
        .first()
        .and_then(|(_, g)| g.idle.as_ref()?.rss_per_connection())
    {
        println!(
            "  aim, under 64 KiB per idle connection: gannet {per:.1} KiB, {}",
            met(per < 64.0)
        );
    }
    if let Some(note) = note {
        println!("  {note}");
    }
}

fn print_memory(rows: &[(&str, Figures)], opts: &Options) {
    println!(
        "\n==> memory: {} idle connections ({}, SELECT INBOX of {} messages, IDLE)",
        opts.idle,
        match opts.idle_auth {
            IdleAuth::CramMd5 => "AUTHENTICATE CRAM-MD5",
            IdleAuth::Login => "LOGIN",
        },
        opts.messages
    );
    println!(
        "    {:<8} {:>6} {:>11} {:>11} {:>11} {:>10} {:>10} {:>11} {:>8}",
        "server",
        "opened",
        "processes",
        "RSS before",
        "RSS open",
        "RSS/conn",
        "PSS/conn",
        "RSS closed",
        "logins/s"
    );
    for (name, f) in rows {
        let Some(i) = &f.idle else { continue };
        let kib = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} KiB"));
        println!(
            "    {:<8} {:>6} {:>11} {:>11} {:>11} {:>10} {:>10} {:>11} {:>8.0}",
            name,
            i.opened,
            format!("{} -> {}", i.before.processes, i.after.processes),
            mib(i.before.rss),
            mib(i.after.rss),
            kib(i.rss_per_connection()),
            kib(i.per_connection(i.before.pss, i.after.pss)),
            mib(i.closed.rss),
            i.opened as f64 / i.open_time.as_secs_f64()
        );
    }
    for (name, f) in rows {
        let Some(i) = &f.idle else { continue };
        for (why, n) in i.failures.iter().take(5) {
            println!("  {name}: {n} x {why}");
        }
    }
    println!(
        "  RSS: VmRSS summed over the server's processes (Dovecot: the master and all \
         its children), so a page shared by several processes counts once per process; \
         PSS (smaps_rollup) splits shared pages between the processes that map them"
    );
    println!(
        "  per connection: (open - before) / opened; before: after the fill, whose \
         sessions logged in with LOGIN, have closed; RSS closed: once the idle ones are \
         closed again; logins/s: connections taken from connect to IDLE per second"
    );
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "not met" }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------
// Setting up

/// Rewrites the `[limits]` of localserve's gannet.toml so that `connections` from
/// 127.0.0.1 fit at once, and all the connections of the run within a minute.
fn raise_gannet_limits(path: &Path, connections: usize) -> Result<()> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let per_ip = connections + 100;
    let per_minute = 10 * per_ip;
    let ours = format!(
        "max_connections_per_ip = {per_ip}\n\
         max_connections_per_minute = [{per_minute}, {per_minute}, {per_minute}]\n"
    );
    let replaced = ["max_connections_per_ip", "max_connections_per_minute"];
    let mut out = String::new();
    let (mut in_limits, mut found, mut in_array) = (false, false, false);
    for line in text.lines() {
        if in_array {
            // toml's pretty printer puts each element of an array on its own line.
            in_array = !line.trim_end().ends_with(']');
            continue;
        }
        let t = line.trim();
        if t.starts_with('[') {
            in_limits = t == "[limits]";
            out.push_str(line);
            out.push('\n');
            if in_limits {
                found = true;
                out.push_str(&ours);
            }
            continue;
        }
        let key = t.split_once('=').map(|(k, _)| k.trim());
        if in_limits && key.is_some_and(|k| replaced.contains(&k)) {
            in_array = t.contains('[') && !t.ends_with(']');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !found {
        out.push_str(&format!("\n[limits]\n{ours}"));
    }
    fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Makes sure this process, and so the servers it starts, may open `wanted` files;
/// raises the limit with prlimit(1) where it is lower (the hard limit too, as root).
fn raise_open_files(wanted: usize) -> Result<()> {
    let Some((soft, hard)) = open_files_limit() else {
        return Ok(());
    };
    if soft >= wanted as u64 {
        return Ok(());
    }
    // Raising the soft limit up to the hard one needs no privilege; past it, root.
    let hard = match hard.max(wanted as u64) {
        u64::MAX => "unlimited".to_string(),
        n => n.to_string(),
    };
    let mut cmd = Command::new("prlimit");
    let pid = std::process::id().to_string();
    cmd.args(["--pid", &pid, &format!("--nofile={wanted}:{hard}")]);
    println!("$ {}", crate::shown(&cmd));
    let _ = cmd.status();
    match open_files_limit() {
        Some((soft, _)) if soft >= wanted as u64 => Ok(()),
        _ => bail!(
            "{wanted} open files are needed, the limit is {soft} and prlimit could not \
             raise it; raise it with `ulimit -n {wanted}` or lower --idle"
        ),
    }
}

/// The soft and hard limit on open files, from /proc/self/limits ("unlimited" is
/// u64::MAX).
fn open_files_limit() -> Option<(u64, u64)> {
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let mut words = line["Max open files".len()..].split_whitespace();
    let mut value = || {
        let w = words.next()?;
        match w {
            "unlimited" => Some(u64::MAX),
            _ => w.parse().ok(),
        }
    };
    Some((value()?, value()?))
}

/// A port offset for localserve with all its ports (25, 587, 465, 143, 993 and 80
/// plus the offset) free on loopback.
fn free_port_offset() -> Result<u16> {
    const PORTS: [u16; 6] = [25, 587, 465, 143, 993, 80];
    for _ in 0..50 {
        let Some(offset) = free_port()?.checked_sub(143) else {
            continue;
        };
        let all_free = PORTS.iter().all(|p| {
            p.checked_add(offset)
                .is_some_and(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        });
        if all_free {
            return Ok(offset);
        }
    }
    bail!("found no port offset with localserve's six ports free on 127.0.0.1")
}

/// The pid of the server this process started with `marker` (its data or config
/// directory) on its command line: `Server` keeps its child to itself.
fn child_pid(marker: &str) -> Result<u32> {
    let me = std::process::id();
    for (pid, parent) in processes() {
        if parent != me {
            continue;
        }
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            return Ok(pid);
        }
    }
    bail!("found no child process with {marker} on its command line")
}

/// Every process with its parent.
fn processes() -> Vec<(u32, u32)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        if let Some(parent) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            out.push((pid, parent));
        }
    }
    out
}

/// The server's memory: `pid` and all its descendants.
#[derive(Clone, Copy, Default)]
struct Memory {
    processes: usize,
    /// Sum of VmRSS, KiB.
    rss: u64,
    /// Sum of Pss, KiB.
    pss: u64,
}

fn memory(pid: u32) -> Memory {
    let all = processes();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        i += 1;
    }
    let mut m = Memory::default();
    for p in tree {
        let Ok(status) = fs::read_to_string(format!("/proc/{p}/status")) else {
            continue;
        };
        m.processes += 1;
        m.rss += kib_field(&status, "VmRSS:");
        let rollup = fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
        m.pss += kib_field(&rollup, "Pss:");
    }
    m
}

/// The value of a "Name:   1234 kB" line.
fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Waits for the server to settle after connections opened or closed: Dovecot's
/// processes for them come and go for a moment after the client is done.
fn settle(pid: u32) {
    thread::sleep(Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = memory(pid).processes;
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(300));
        let now = memory(pid).processes;
        if now == last {
            return;
        }
        last = now;
    }
}

// ---------------------------------------------------------------------------------
// The phases

/// Appends `messages` to INBOX over `sessions` sessions at once; returns how long
/// it took from the moment all were logged in.
fn fill(addr: SocketAddr, messages: usize, sessions: usize) -> Result<Duration> {
    // The sessions and this thread: logins (an argon2 hash each in gannet) are not
    // part of the append rate.
    let ready = Arc::new(Barrier::new(sessions + 1));
    let handles: Vec<_> = (0..sessions)
        .map(|id| {
            // The first ones take the remainder.
            let share = messages / sessions + usize::from(id < messages % sessions);
            let ready = Arc::clone(&ready);
            thread::spawn(move || -> Result<(), Lost> {
                let conn = Conn::open(addr).and_then(|mut c| c.login().map(|()| c));
                ready.wait();
                let mut conn = conn?;
                let mut rng = Rng::new(id as u64);
                for seq in 0..share {
                    let r = conn.append(&message(id, seq, &mut rng))?;
                    if r.status != Status::Ok {
                        return Err(Lost(format!("APPEND refused: {}", r.text)));
                    }
                }
                conn.logout();
                Ok(())
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    for h in handles {
        if let Err(e) = h.join().expect("a fill client panicked") {
            bail!("filling INBOX failed: {e}");
        }
    }
    Ok(start.elapsed())
}

/// The idle-memory phase.
struct Idle {
    wanted: usize,
    opened: usize,
    open_time: Duration,
    /// Why connections could not be opened, with how often each reason came.
    failures: Vec<(String, usize)>,
    before: Memory,
    after: Memory,
    closed: Memory,
}

/// Opens `n` connections that log in, SELECT INBOX and IDLE, and reads the memory
/// of the server (`pid` and its descendants) before, with them open, and after
/// they are closed again.
fn idle(addr: SocketAddr, pid: u32, n: usize, auth: IdleAuth) -> Idle {
    settle(pid);
    let before = memory(pid);
    println!("opening {n} idle connections ...");
    let start = Instant::now();
    let handles: Vec<_> = (0..OPENERS.min(n))
        .map(|t| {
            let share = n / OPENERS.min(n) + usize::from(t < n % OPENERS.min(n));
            thread::spawn(move || {
                let mut open = Vec::new();
                let mut failed = Vec::new();
                for _ in 0..share {
                    let conn = Conn::open(addr).and_then(|mut c| {
                        match auth {
                            IdleAuth::CramMd5 => c.cram_md5()?,
                            IdleAuth::Login => c.login()?,
                        }
                        c.select()?;
                        c.idle()?;
                        Ok(c)
                    });
                    match conn {
                        Ok(c) => open.push(c),
                        Err(e) => failed.push(e.0),
                    }
                }
                (open, failed)
            })
        })
        .collect();
    let mut open = Vec::new();
    let mut failures: Vec<(String, usize)> = Vec::new();
    for h in handles {
        let (conns, failed) = h.join().expect("an idle opener panicked");
        open.extend(conns);
        for why in failed {
            count(&mut failures, why);
        }
    }
    let open_time = start.elapsed();
    println!(
        "{} of {n} idle connections open after {:.1} s",
        open.len(),
        open_time.as_secs_f64()
    );
    settle(pid);
    let after = memory(pid);
    let opened = open.len();
    drop(open);
    settle(pid);
    let closed = memory(pid);
    Idle {
        wanted: n,
        opened,
        open_time,
        failures,
        before,
        after,
        closed,
    }
}

impl Idle {
    fn rss_per_connection(&self) -> Option<f64> {
        self.per_connection(self.before.rss, self.after.rss)
    }

    fn per_connection(&self, before: u64, after: u64) -> Option<f64> {
        match self.opened {
            0 => None,
            n => Some(after.saturating_sub(before) as f64 / n as f64),
        }
    }
}

fn count(tally: &mut Vec<(String, usize)>, what: String) {
    match tally.iter_mut().find(|(t, _)| *t == what) {
        Some((_, n)) => *n += 1,
        None => tally.push((what, 1)),
    }
}

// ---------------------------------------------------------------------------------
// The command mix

/// The commands of the mix: each a row of the report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    FetchFlags,
    FetchHeader,
    FetchBody,
    Store,
    Append,
    Expunge,
    SearchUnseen,
    SearchFrom,
    SearchText,
    Noop,
}

const KINDS: [Kind; 10] = [
    Kind::FetchFlags,
    Kind::FetchHeader,
    Kind::FetchBody,
    Kind::Store,
    Kind::Append,
    Kind::Expunge,
    Kind::SearchUnseen,
    Kind::SearchFrom,
    Kind::SearchText,
    Kind::Noop,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::FetchFlags => "FETCH FLAGS",
            Kind::FetchHeader => "FETCH HEADER",
            Kind::FetchBody => "FETCH BODY[]",
            Kind::Store => "STORE",
            Kind::Append => "APPEND",
            Kind::Expunge => "EXPUNGE",
            Kind::SearchUnseen => "SEARCH UNSEEN",
            Kind::SearchFrom => "SEARCH FROM",
            Kind::SearchText => "SEARCH TEXT",
            Kind::Noop => "NOOP",
        }
    }

    /// How often a client picks it, out of the sum over all kinds (100). APPEND
    /// outweighs EXPUNGE, so the mailbox grows slowly rather than emptying.
    fn weight(self) -> u64 {
        match self {
            Kind::FetchFlags => 20,
            Kind::FetchHeader => 15,
            Kind::FetchBody => 15,
            Kind::Store => 20,
            Kind::Append => 10,
            Kind::Expunge => 5,
            Kind::SearchUnseen | Kind::SearchFrom => 2,
            Kind::SearchText => 1,
            Kind::Noop => 10,
        }
    }

    fn pick(rng: &mut Rng) -> Kind {
        let total: u64 = KINDS.iter().map(|k| k.weight()).sum();
        let mut r = rng.below(total as usize) as u64;
        for kind in KINDS {
            if r < kind.weight() {
                return kind;
            }
            r -= kind.weight();
        }
        unreachable!("the weights sum to total")
    }
}

/// One kind's figures.
#[derive(Clone, Default)]
struct Stats {
    /// Per command completed with OK, command sent to tagged reply received.
    latencies: Vec<Duration>,
    /// Commands answered NO or BAD, or without the data asked for.
    failed: usize,
}

impl Stats {
    /// Nearest-rank percentile; the latencies are sorted.
    fn percentile(&self, p: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (p * self.latencies.len()).div_ceil(100).max(1);
        self.latencies[rank - 1]
    }
}

/// What one server did under the mix.
struct Outcome {
    /// From the moment every client was logged in and had selected INBOX to the
    /// last reply.
    elapsed: Duration,
    /// Per kind, in the order of KINDS.
    kinds: Vec<Stats>,
    /// Failed commands: the server's reply, with how often it came.
    refusals: Vec<(String, usize)>,
    /// Why clients ended early, one entry per client that did.
    lost: Vec<String>,
}

impl Outcome {
    fn rate(&self, stats: &Stats) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            stats.latencies.len() as f64 / secs
        } else {
            0.0
        }
    }

    fn all(&self) -> Stats {
        let mut all = Stats::default();
        for s in &self.kinds {
            all.latencies.extend(&s.latencies);
            all.failed += s.failed;
        }
        all.latencies.sort_unstable();
        all
    }

    fn failures(&self) -> usize {
        self.kinds.iter().map(|s| s.failed).sum()
    }
}

/// Runs the mix against the IMAP server at `addr`.
fn drive(addr: SocketAddr, opts: &Options) -> Result<Outcome> {
    let ready = Arc::new(Barrier::new(opts.clients + 1));
    let seconds = Duration::from_secs(opts.seconds);
    let handles: Vec<_> = (0..opts.clients)
        .map(|id| {
            let ready = Arc::clone(&ready);
            thread::spawn(move || client(addr, id, seconds, &ready))
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    println!(
        "{} clients logged in with INBOX selected; running the mix for {} s ...",
        opts.clients, opts.seconds
    );
    let results: Vec<ClientResult> = handles
        .into_iter()
        .map(|h| h.join().expect("a load client panicked"))
        .collect();
    let mut outcome = Outcome {
        elapsed: start.elapsed(),
        kinds: vec![Stats::default(); KINDS.len()],
        refusals: Vec::new(),
        lost: Vec::new(),
    };
    let mut worked = 0;
    for r in results {
        for (all, mine) in outcome.kinds.iter_mut().zip(r.kinds) {
            worked += mine.latencies.len();
            all.latencies.extend(mine.latencies);
            all.failed += mine.failed;
        }
        for refusal in r.refusals {
            count(&mut outcome.refusals, refusal);
        }
        if let Some(why) = r.lost {
            outcome.lost.push(format!("client {}: {why}", r.id));
        }
    }
    for s in &mut outcome.kinds {
        s.latencies.sort_unstable();
    }
    ensure!(
        worked > 0,
        "no client completed a command: {}",
        outcome.lost.join("; ")
    );
    Ok(outcome)
}

struct ClientResult {
    id: usize,
    kinds: Vec<Stats>,
    refusals: Vec<String>,
    lost: Option<String>,
}

/// What a client knows of the shared INBOX.
struct Mailbox {
    /// UIDs it may fetch and flag: the ones there at SELECT (which nobody
    /// expunges) and the ones it appended and has not expunged yet; ascending.
    uids: Vec<u32>,
    /// The ones it appended: the only ones it expunges.
    mine: Vec<u32>,
}

/// One client: connects, logs in, selects INBOX and learns its UIDs, waits for the
/// others, then runs the mix until `seconds` have passed. Always waits at `ready`
/// once.
fn client(addr: SocketAddr, id: usize, seconds: Duration, ready: &Barrier) -> ClientResult {
    let mut result = ClientResult {
        id,
        kinds: vec![Stats::default(); KINDS.len()],
        refusals: Vec::new(),
        lost: None,
    };
    let setup = Conn::open(addr).and_then(|mut c| {
        c.login()?;
        c.select()?;
        let r = c.command("UID SEARCH ALL")?;
        let uids = search_result(&r);
        if r.status != Status::Ok || uids.is_empty() {
            return Err(Lost(format!("UID SEARCH ALL found nothing: {}", r.text)));
        }
        Ok((c, uids))
    });
    ready.wait();
    let (mut conn, uids) = match setup {
        Ok(s) => s,
        Err(e) => {
            result.lost = Some(e.0);
            return result;
        }
    };
    let mut mailbox = Mailbox {
        uids,
        mine: Vec::new(),
    };
    // Distinct from the fill's seeds, so appended messages differ from those.
    let mut rng = Rng::new(1000 + id as u64);
    let mut seq = 0;
    let start = Instant::now();
    while start.elapsed() < seconds {
        let kind = Kind::pick(&mut rng);
        seq += 1;
        if let Err(e) = step(
            &mut conn,
            kind,
            &mut mailbox,
            &mut rng,
            (id, seq),
            &mut result,
        ) {
            result.lost = Some(e.0);
            return result;
        }
    }
    conn.logout();
    result
}

/// Runs one command of the mix (two for EXPUNGE) and records it.
fn step(
    conn: &mut Conn,
    kind: Kind,
    mailbox: &mut Mailbox,
    rng: &mut Rng,
    (id, seq): (usize, usize),
    result: &mut ClientResult,
) -> Result<(), Lost> {
    let uids = &mailbox.uids;
    let uid = uids[rng.below(uids.len())];
    match kind {
        Kind::FetchFlags => {
            // A run of about ten messages, as a client does to refresh a list.
            let i = rng.below(uids.len());
            let last = uids[(i + 9).min(uids.len() - 1)];
            timed(conn, kind, result, |c| {
                c.command(&format!("UID FETCH {}:{last} (UID FLAGS)", uids[i]))
            })?;
        }
        Kind::FetchHeader | Kind::FetchBody => {
            let item = match kind {
                Kind::FetchHeader => "BODY.PEEK[HEADER]",
                _ => "BODY[]",
            };
            let r = timed(conn, kind, result, |c| {
                c.command(&format!("UID FETCH {uid} {item}"))
            })?;
            // The message exists (see Mailbox): a reply without it is wrong.
            if r.is_some_and(|r| !fetched(&r, uid)) {
                record_failure(
                    result,
                    kind,
                    format!("UID FETCH {uid} {item}: OK without the message"),
                );
            }
        }
        Kind::Store => {
            let sign = if rng.below(2) == 0 { '+' } else { '-' };
            let flag = if rng.below(2) == 0 {
                "\\Seen"
            } else {
                "\\Flagged"
            };
            timed(conn, kind, result, |c| {
                c.command(&format!("UID STORE {uid} {sign}FLAGS ({flag})"))
            })?;
        }
        Kind::Append => append(conn, mailbox, rng, (id, seq), result)?,
        Kind::Expunge => {
            let Some(victim) = mailbox.mine.pop() else {
                // Nothing of its own to expunge yet: add something instead.
                return append(conn, mailbox, rng, (id, seq), result);
            };
            mailbox.uids.retain(|&u| u != victim);
            let marked = timed(conn, Kind::Store, result, |c| {
                c.command(&format!("UID STORE {victim} +FLAGS.SILENT (\\Deleted)"))
            })?;
            if marked.is_some() {
                timed(conn, kind, result, |c| c.command("EXPUNGE"))?;
            }
        }
        Kind::SearchUnseen => {
            timed(conn, kind, result, |c| c.command("UID SEARCH UNSEEN"))?;
        }
        Kind::SearchFrom => {
            let sender = rng.below(SENDERS);
            timed(conn, kind, result, |c| {
                c.command(&format!("UID SEARCH FROM \"sender{sender:02}\""))
            })?;
        }
        Kind::SearchText => {
            let topic = rng.below(TOPICS);
            timed(conn, kind, result, |c| {
                c.command(&format!("UID SEARCH TEXT \"topic{topic:02}\""))
            })?;
        }
        Kind::Noop => {
            timed(conn, kind, result, |c| c.command("NOOP"))?;
        }
    }
    Ok(())
}

fn append(
    conn: &mut Conn,
    mailbox: &mut Mailbox,
    rng: &mut Rng,
    (id, seq): (usize, usize),
    result: &mut ClientResult,
) -> Result<(), Lost> {
    // Beyond the fill's session numbers, so every Message-ID differs.
    let text = message(1000 + id, seq, rng);
    let r = timed(conn, Kind::Append, result, |c| c.append(&text))?;
    let Some(r) = r else { return Ok(()) };
    match appended_uid(&r.text) {
        Some(uid) => {
            mailbox.uids.push(uid);
            mailbox.mine.push(uid);
        }
        None => record_failure(
            result,
            Kind::Append,
            format!("APPEND: no APPENDUID in {}", r.text),
        ),
    }
    Ok(())
}

/// Sends a command with `send` and records it under `kind`; returns the reply when
/// it was OK.
fn timed(
    conn: &mut Conn,
    kind: Kind,
    result: &mut ClientResult,
    send: impl FnOnce(&mut Conn) -> Result<Response, Lost>,
) -> Result<Option<Response>, Lost> {
    let sent = Instant::now();
    let r = send(conn)?;
    let took = sent.elapsed();
    if r.status == Status::Ok {
        result.kinds[kind as usize].latencies.push(took);
        return Ok(Some(r));
    }
    record_failure(result, kind, format!("{}: {}", kind.name(), r.text));
    Ok(None)
}

fn record_failure(result: &mut ClientResult, kind: Kind, why: String) {
    result.kinds[kind as usize].failed += 1;
    // Without the UIDs and tags, the same trouble from many commands counts as one.
    let why: String = why
        .split(' ')
        .map(|w| match w.bytes().all(|b| b.is_ascii_digit()) {
            true => "N",
            false => w,
        })
        .collect::<Vec<_>>()
        .join(" ");
    result.refusals.push(why.chars().take(160).collect());
}

/// Whether an untagged FETCH for `uid` with a literal (the message's header or
/// text) came with the reply.
fn fetched(r: &Response, uid: u32) -> bool {
    r.untagged.iter().any(|l| {
        let names_uid = l.contains(&format!("UID {uid} ")) || l.contains(&format!("UID {uid})"));
        l.contains(" FETCH (") && names_uid && l.contains('{')
    })
}

/// The UIDs of an untagged SEARCH reply.
fn search_result(r: &Response) -> Vec<u32> {
    let mut uids: Vec<u32> = r
        .untagged
        .iter()
        .filter_map(|l| l.strip_prefix("* SEARCH"))
        .flat_map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()))
        .collect();
    uids.sort_unstable();
    uids
}

/// The UID in an APPENDUID response code (RFC 4315): "[APPENDUID validity uid]".
fn appended_uid(text: &str) -> Option<u32> {
    let (_, rest) = text.split_once("[APPENDUID ")?;
    let (code, _) = rest.split_once(']')?;
    code.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------
// IMAP client

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Ok,
    No,
    Bad,
}

/// A command's reply.
struct Response {
    status: Status,
    /// The tagged line after the tag, e.g. "OK [APPENDUID 1 5] done".
    text: String,
    /// The untagged lines that came before it, each literal replaced by "{size}".
    untagged: Vec<String>,
}

/// One IMAP session, one command at a time.
struct Conn {
    /// Writes go to the same stream (`get_ref`): one descriptor per connection.
    reader: BufReader<TcpStream>,
    tag: u32,
    /// Whether APPEND may send the message without waiting for "+" (LITERAL+, or
    /// LITERAL- for a message that small).
    nonsync: bool,
    /// Where literals are read to and dropped.
    scratch: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Result<Conn, Lost> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        // One small write per command: without this, Nagle's algorithm and delayed
        // ACKs add tens of milliseconds to a lock-step session.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        let mut c = Conn {
            reader: BufReader::new(stream),
            tag: 0,
            nonsync: false,
            scratch: Vec::new(),
        };
        let greeting = c.line()?;
        if !greeting.starts_with("* OK") {
            return Err(Lost(format!("greeting: {greeting}")));
        }
        let caps = |name: &str| {
            greeting
                .split([' ', ']'])
                .any(|w| w.eq_ignore_ascii_case(name))
        };
        c.nonsync = caps("LITERAL+") || (caps("LITERAL-") && MESSAGE_SIZE <= 4096);
        Ok(c)
    }

    fn login(&mut self) -> Result<(), Lost> {
        self.must(&format!("LOGIN \"{USER}\" \"{PASSWORD}\""))
    }

    /// AUTHENTICATE CRAM-MD5: the reply is the login and the HMAC-MD5 of the
    /// server's challenge keyed with the password.
    fn cram_md5(&mut self) -> Result<(), Lost> {
        let tag = self.next_tag();
        self.send(format!("{tag} AUTHENTICATE CRAM-MD5\r\n").as_bytes())?;
        let line = self.line()?;
        let challenge = line
            .strip_prefix("+ ")
            .and_then(base64_decode)
            .ok_or_else(|| Lost(format!("AUTHENTICATE CRAM-MD5: {line}")))?;
        let digest = hmac_md5(PASSWORD.as_bytes(), &challenge);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let answer = base64_encode(format!("{USER} {hex}").as_bytes());
        self.send(format!("{answer}\r\n").as_bytes())?;
        let r = self.response(&tag, Vec::new())?;
        match r.status {
            Status::Ok => Ok(()),
            _ => Err(Lost(format!("AUTHENTICATE CRAM-MD5: {}", r.text))),
        }
    }

    fn select(&mut self) -> Result<(), Lost> {
        self.must("SELECT INBOX")
    }

    /// Starts IDLE and returns once the server says it is idling.
    fn idle(&mut self) -> Result<(), Lost> {
        let tag = self.next_tag();
        self.send(format!("{tag} IDLE\r\n").as_bytes())?;
        loop {
            let line = self.line()?;
            if line.starts_with('+') {
                return Ok(());
            }
            if line.starts_with(&format!("{tag} ")) {
                return Err(Lost(format!("IDLE: {line}")));
            }
        }
    }

    fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }

    /// A command that must succeed for the session to be of use.
    fn must(&mut self, command: &str) -> Result<(), Lost> {
        let r = self.command(command)?;
        match r.status {
            Status::Ok => Ok(()),
            _ => Err(Lost(format!("{}: {}", first_word(command), r.text))),
        }
    }

    fn command(&mut self, command: &str) -> Result<Response, Lost> {
        let tag = self.next_tag();
        self.send(format!("{tag} {command}\r\n").as_bytes())?;
        self.response(&tag, Vec::new())
    }

    fn append(&mut self, message: &[u8]) -> Result<Response, Lost> {
        let tag = self.next_tag();
        let size = message.len();
        if self.nonsync {
            let mut all = format!("{tag} APPEND INBOX {{{size}+}}\r\n").into_bytes();
            all.extend_from_slice(message);
            all.extend_from_slice(b"\r\n");
            self.send(&all)?;
            return self.response(&tag, Vec::new());
        }
        self.send(format!("{tag} APPEND INBOX {{{size}}}\r\n").as_bytes())?;
        let mut untagged = Vec::new();
        loop {
            let line = self.line()?;
            if line.starts_with('+') {
                break;
            }
            if let Some(text) = line.strip_prefix(&format!("{tag} ")) {
                // Refused before the message was sent.
                return Ok(Response {
                    status: status(text),
                    text: text.to_string(),
                    untagged,
                });
            }
            untagged.push(line);
        }
        let mut rest = message.to_vec();
        rest.extend_from_slice(b"\r\n");
        self.send(&rest)?;
        self.response(&tag, untagged)
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("t{}", self.tag)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Lost> {
        self.reader.get_ref().write_all(bytes)?;
        Ok(())
    }

    /// Reads up to the tagged reply to `tag`.
    fn response(&mut self, tag: &str, mut untagged: Vec<String>) -> Result<Response, Lost> {
        let prefix = format!("{tag} ");
        loop {
            let line = self.line()?;
            if let Some(text) = line.strip_prefix(&prefix) {
                return Ok(Response {
                    status: status(text),
                    text: text.to_string(),
                    untagged,
                });
            }
            if line.starts_with("* BYE") {
                return Err(Lost(format!("the server closed the session: {line}")));
            }
            if line.starts_with('+') {
                return Err(Lost(format!("unexpected continuation: {line}")));
            }
            untagged.push(line);
        }
    }

    /// One response line, with every literal in it read and replaced by "{size}".
    fn line(&mut self) -> Result<String, Lost> {
        let mut line = String::new();
        loop {
            let mut raw = Vec::new();
            if self.reader.read_until(b'\n', &mut raw)? == 0 {
                return Err(Lost("the server closed the connection".into()));
            }
            let part = String::from_utf8_lossy(&raw);
            let part = part.trim_end_matches(['\r', '\n']);
            line.push_str(part);
            let Some(size) = literal_size(part) else {
                return Ok(line);
            };
            self.scratch.resize(size, 0);
            self.reader.read_exact(&mut self.scratch)?;
        }
    }
}

fn status(text: &str) -> Status {
    match first_word(text).to_ascii_uppercase().as_str() {
        "OK" => Status::Ok,
        "NO" => Status::No,
        _ => Status::Bad,
    }
}

fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or("")
}

/// The size of the literal that ends a line ("... {4000}"), if one does.
fn literal_size(line: &str) -> Option<usize> {
    let open = line.strip_suffix('}')?;
    let (_, digits) = open.rsplit_once('{')?;
    digits.parse().ok()
}

// ---------------------------------------------------------------------------------
// CRAM-MD5's pieces: MD5 (RFC 1321), HMAC (RFC 2104), base64 (RFC 4648)

fn md5(data: &[u8]) -> [u8; 16] {
    const SHIFTS: [[u32; 4]; 4] = [
        [7, 12, 17, 22],
        [5, 9, 14, 20],
        [4, 11, 16, 23],
        [6, 10, 15, 21],
    ];
    // RFC 1321's table: the integer part of 2^32 * |sin(i + 1)|, which f64 gets exact.
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut padded = data.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_le_bytes());
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for block in padded.chunks_exact(64) {
        let m: Vec<u32> = block
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            (a, d, c) = (d, c, b);
            b = b.wrapping_add(f.rotate_left(SHIFTS[i / 16][i % 4]));
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut out = [0; 16];
    for (chunk, s) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&s.to_le_bytes());
    }
    out
}

fn hmac_md5(key: &[u8], text: &[u8]) -> [u8; 16] {
    let mut block = [0u8; 64];
    match key.len() {
        ..=64 => block[..key.len()].copy_from_slice(key),
        _ => block[..16].copy_from_slice(&md5(key)),
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(text);
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&md5(&inner));
    md5(&outer)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            match i <= chunk.len() {
                true => out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char),
                false => out.push('='),
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end().trim_end_matches('=');
    let mut out = Vec::new();
    let (mut bits, mut held) = (0u32, 0);
    for c in text.bytes() {
        let v = BASE64.iter().position(|&b| b == c)? as u32;
        bits = bits << 6 | v;
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------
// Messages

/// A message of MESSAGE_SIZE bytes with CRLF line ends, from one of SENDERS, with
/// one topic word in its text; the rest of the text is ordinary words.
fn message(client: usize, seq: usize, rng: &mut Rng) -> Vec<u8> {
    const WORDS: [&str; 24] = [
        "the", "meeting", "notes", "attached", "please", "review", "before", "friday", "budget",
        "project", "schedule", "update", "thanks", "regards", "agenda", "report", "draft", "final",
        "question", "answer", "team", "plan", "week", "call",
    ];
    let sender = rng.below(SENDERS);
    let topic = rng.below(TOPICS);
    let mut text = format!(
        "From: Sender {sender:02} <sender{sender:02}@example.org>\r\n\
         To: <{USER}>\r\n\
         Subject: benchmark message {client}.{seq}\r\n\
         Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
         Message-ID: <bench.{client}.{seq}@bench.invalid>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         About topic{topic:02}.\r\n"
    );
    // Lines of up to 72 characters plus CRLF, the last ones shorter so that the
    // message ends at MESSAGE_SIZE exactly.
    while text.len() < MESSAGE_SIZE {
        let left = MESSAGE_SIZE - text.len();
        let len = match left {
            ..=74 => left - 2,
            75 => 70,
            _ => 72,
        };
        let mut line = String::new();
        while line.len() < len {
            line.push_str(WORDS[rng.below(WORDS.len())]);
            line.push(' ');
        }
        line.truncate(len);
        text.push_str(&line);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// xorshift64*: the same sequence in every run, so both servers get the same
/// messages and the same mix.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_size_and_lines_asked_for() {
        let mut rng = Rng::new(7);
        for seq in 0..50 {
            let m = message(3, seq, &mut rng);
            assert_eq!(m.len(), MESSAGE_SIZE);
            let text = String::from_utf8(m).unwrap();
            assert!(text.ends_with("\r\n"));
            assert!(text.contains("@example.org>\r\n") && text.contains("About topic"));
            for line in text[..text.len() - 2].split("\r\n") {
                assert!(line.len() <= 78, "{line:?}");
                assert!(!line.contains('\n') && !line.contains('\r'));
            }
        }
    }

    #[test]
    fn the_mix_follows_the_weights() {
        let mut rng = Rng::new(1);
        let mut seen = [0usize; KINDS.len()];
        for _ in 0..100_000 {
            seen[Kind::pick(&mut rng) as usize] += 1;
        }
        for kind in KINDS {
            let share = seen[kind as usize] as f64 / 1000.0;
            assert!(
                (share - kind.weight() as f64).abs() < 1.0,
                "{kind:?}: {share}%"
            );
        }
    }

    #[test]
    fn cram_md5_pieces_match_their_rfcs() {
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        // RFC 1321 A.5, RFC 2104's first test vector, RFC 2195's example.
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(md5(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            )),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        assert_eq!(
            hex(hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        let challenge =
            base64_decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+").unwrap();
        assert_eq!(challenge, b"<1896.697170952@postoffice.reston.mci.net>");
        let digest = hex(hmac_md5(b"tanstaaftanstaaf", &challenge));
        assert_eq!(
            base64_encode(format!("tim {digest}").as_bytes()),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
        for text in ["", "a", "ab", "abc", "abcd"] {
            assert_eq!(
                base64_decode(&base64_encode(text.as_bytes())).unwrap(),
                text.as_bytes()
            );
        }
    }

    #[test]
    fn replies_are_read() {
        assert_eq!(literal_size("* 1 FETCH (UID 5 BODY[] {4000}"), Some(4000));
        assert_eq!(literal_size("* OK {not a literal}"), None);
        assert_eq!(appended_uid("OK [APPENDUID 1795383611 42] done"), Some(42));
        assert_eq!(appended_uid("OK done"), None);
        let r = Response {
            status: Status::Ok,
            text: "OK".into(),
            untagged: vec![
                "* 3 EXISTS".into(),
                "* SEARCH 9 2 40".into(),
                "* 2 FETCH (UID 40 BODY[HEADER] {300})".into(),
            ],
        };
        assert_eq!(search_result(&r), [2, 9, 40]);
        assert!(fetched(&r, 40));
        assert!(!fetched(&r, 4));
        assert_eq!(status("NO [TRYCREATE] no such mailbox"), Status::No);
    }

    #[test]
    fn limits_are_replaced_in_the_limits_section() {
        let dir = std::env::temp_dir().join(format!("bench-imap-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gannet.toml");
        fs::write(
            &path,
            "hostname = \"localhost\"\n\n[limits]\nmax_message_size = 5\n\
             max_connections_per_ip = 100\nmax_connections_per_minute = [\n    6000,\n    \
             6000,\n    6000,\n]\nmax_errors = 10\n\n[listeners.local]\nips = [\"127.0.0.1\"]\n",
        )
        .unwrap();
        raise_gannet_limits(&path, 2000).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            text,
            "hostname = \"localhost\"\n\n[limits]\nmax_connections_per_ip = 2100\n\
             max_connections_per_minute = [21000, 21000, 21000]\nmax_message_size = 5\n\
             max_errors = 10\n\n[listeners.local]\nips = [\"127.0.0.1\"]\n"
        );
    }
}
