//! Store benchmark: `cargo xtask bench store [-- --messages N] [--quick]`.
//!
//! Measures, in a temporary directory on the filesystem of `target/`: the disk's raw
//! fsync rates (the baselines every durable store is bounded by), durable appends one
//! at a time and in batches, flag changes, and searches over a generated mailbox.
//! It prints figures only: timing depends on the machine, so nothing here asserts on
//! it. The hit counts are printed beside the expected ones as a sanity check.
//!
//! The fsync rate of a shared disk (a CI runner, a VM) drifts by several times within
//! minutes, so each append figure is compared with a raw fsync rate measured alongside
//! it: the two alternate in [`SLICES`] slices.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gannet::store::{Account, FlagOp, Flags, MailboxId, NewMessage, SearchKey, Store, Uid};

/// Raw disk operations write blocks of this size, the size of a typical message.
const BLOCK: usize = 4096;

/// Slices each append measurement and its raw fsync baseline alternate in.
const SLICES: usize = 10;

/// Words the generator plants in one message in `every` and never produces otherwise,
/// so the searches have known hit counts (see [`planted`]): (word, every).
const SUBJECT_WORD: (&str, usize) = ("quarterly", 100);
const BODY_WORD_1PCT: (&str, usize) = ("kingfisher", 100);
const BODY_WORD_01PCT: (&str, usize) = ("ptarmigan", 1000);
/// One message in this many is delivered unseen, the others \Seen.
const UNSEEN_EVERY: usize = 10;
/// Words no message contains.
const SUBJECT_NONE: &str = "zeppelin";
const BODY_NONE: &str = "albatross";

const USAGE: &str = "usage: cargo xtask bench store [-- [--messages N] [--quick]]";

struct Options {
    /// Size of the mailbox the searches run over.
    messages: usize,
    quick: bool,
}

/// How much work each measurement does; `--quick` is a smoke run.
struct Plan {
    raw_ops: usize,
    single_appends: usize,
    batches_of_10: usize,
    batches_of_100: usize,
    single_flag_changes: usize,
    bulk_flag_calls: usize,
    search_runs: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                raw_ops: 300,
                single_appends: 100,
                batches_of_10: 20,
                batches_of_100: 10,
                single_flag_changes: 100,
                bulk_flag_calls: 3,
                search_runs: 3,
            }
        } else {
            Plan {
                raw_ops: 3000,
                single_appends: 1000,
                batches_of_10: 300,
                batches_of_100: 50,
                single_flag_changes: 1000,
                bulk_flag_calls: 10,
                search_runs: 7,
            }
        }
    }
}

fn main() -> Result<()> {
    let options = parse_args(std::env::args().skip(1))?;
    let plan = Plan::new(options.quick);
    // CARGO_TARGET_TMPDIR is target/tmp: the same filesystem as the build, not a tmpfs.
    fs::create_dir_all(env!("CARGO_TARGET_TMPDIR"))?;
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    println!(
        "store benchmark in {} ({}); messages of about {} bytes",
        tmp.path().display(),
        filesystem(tmp.path()),
        message(0).len()
    );
    settle();
    let mut table = Table::default();
    raw_section(tmp.path(), &plan, &mut table)?;
    append_and_flags_section(tmp.path(), &plan, &mut table)?;
    search_section(tmp.path(), options.messages, &plan, &mut table)?;
    table.print();
    Ok(())
}

/// `cargo bench` passes `--bench` to every benchmark binary; it is accepted and ignored.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let (mut quick, mut messages) = (false, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--quick" => quick = true,
            "--messages" => {
                let n = args.next().context(USAGE)?;
                messages = Some(n.parse().with_context(|| format!("--messages {n:?}"))?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => bail!("unknown argument {arg:?}\n{USAGE}"),
        }
    }
    // A quick run is a smoke test: small unless a size is asked for.
    let messages = messages.unwrap_or(if quick { 2000 } else { 100_000 });
    Ok(Options { messages, quick })
}

/// Writes back everything dirty now (the benchmark binary cargo just linked, say), so
/// that its writeback does not compete with the first fsyncs measured.
fn settle() {
    let _ = Command::new("sync").status();
}

/// The filesystem type and device, so figures can be compared with the right disk.
fn filesystem(path: &Path) -> String {
    let output = Command::new("df")
        .args(["--output=fstype,source"])
        .arg(path)
        .output();
    let text = output.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let line = text.ok().and_then(|t| t.lines().nth(1).map(str::to_string));
    line.map_or("filesystem unknown".into(), |l| {
        l.split_whitespace().collect::<Vec<_>>().join(" on ")
    })
}

// ---- raw disk baselines ----

/// The disk's rates, the bounds of any durable store, measured on their own.
fn raw_section(dir: &Path, plan: &Plan, table: &mut Table) -> Result<()> {
    let fsync = raw_append(&dir.join("raw-append"), plan.raw_ops)?;
    table.rate("raw: 4 KiB append + fsync, one file", fsync, "ops/s");
    let file_per_message = raw_file_per_message(&dir.join("raw-files"), plan.raw_ops)?;
    table.rate(
        "raw: create+write+fsync+rename+fsync dir",
        file_per_message,
        "ops/s",
    );
    Ok(())
}

/// One fsync per operation: the most a durable store could do one write at a time.
fn raw_append(path: &Path, n: usize) -> Result<f64> {
    let mut raw = RawAppender::create(path)?;
    Ok(per_second(n, raw.run(n)?))
}

/// Appends blocks to one file, each followed by an fsync.
struct RawAppender(File);

impl RawAppender {
    fn create(path: &Path) -> Result<RawAppender> {
        Ok(RawAppender(File::create(path)?))
    }

    /// Appends and fsyncs `n` blocks; returns the time taken.
    fn run(&mut self, n: usize) -> Result<Duration> {
        let block = [b'x'; BLOCK];
        let start = Instant::now();
        for _ in 0..n {
            self.0.write_all(&block)?;
            self.0.sync_all()?;
        }
        Ok(start.elapsed())
    }
}

/// What a file-per-message store must do at least: the file, then its directory entry.
fn raw_file_per_message(dir: &Path, n: usize) -> Result<f64> {
    let (tmp, msg) = (dir.join("tmp"), dir.join("msg"));
    fs::create_dir_all(&tmp)?;
    fs::create_dir_all(&msg)?;
    let block = [b'x'; BLOCK];
    let start = Instant::now();
    for i in 0..n {
        let staged = tmp.join(i.to_string());
        let mut file = File::create(&staged)?;
        file.write_all(&block)?;
        file.sync_all()?;
        fs::rename(&staged, msg.join(i.to_string()))?;
        File::open(&msg)?.sync_all()?;
    }
    Ok(per_second(n, start.elapsed()))
}

// ---- durable appends and flag changes ----

fn append_and_flags_section(dir: &Path, plan: &Plan, table: &mut Table) -> Result<()> {
    let mut account = Account::open(&dir.join("appends"), "appends")?;
    let inbox = account.mailbox("Inbox")?.id;
    let mut raw = RawAppender::create(&dir.join("raw-alongside"))?;
    let mut uids = Vec::new();
    let measurements = [
        (1, plan.single_appends),
        (10, plan.batches_of_10),
        (100, plan.batches_of_100),
    ];
    for (batch, calls) in measurements {
        let work = Appends {
            mailbox: inbox,
            batch,
            calls,
        };
        let (rate, raw_rate) =
            append_alongside(&mut account, &work, (&mut raw, plan.raw_ops / 3), &mut uids)?;
        table.rate(&format!("append, {batch} per deliver"), rate, "msg/s");
        // The project's aim: durable appends within 2x of the raw fsync rate.
        table.push(format!(
            "  ({:.2}x the raw fsync rate measured alongside, {} ops/s; aim >= 0.5)",
            rate / raw_rate,
            thousands(raw_rate)
        ));
    }
    let (rate, raw_rate) =
        concurrent_appends(dir, plan.single_appends, (&mut raw, plan.raw_ops / 3))?;
    table.rate(
        &format!("append, 1 per deliver, {DELIVERERS} at once"),
        rate,
        "msg/s",
    );
    table.push(format!(
        "  (group commit; {:.2}x the raw fsync rate measured alongside, {} ops/s; aim >= 0.5)",
        rate / raw_rate,
        thousands(raw_rate)
    ));
    // No message is \Flagged yet, so every call changes its messages (a call that
    // changes nothing commits nothing, which would flatter the figures).
    let (singles, rest) = uids.split_at(plan.single_flag_changes.min(uids.len()));
    let rate = flags_one_by_one(&mut account, inbox, singles)?;
    table.rate("flags, 1 UID per call", rate, "changes/s");
    let bulk = &rest[..rest.len().min(1000)];
    let (rate, per_call) = flags_in_bulk(&mut account, inbox, bulk, plan.bulk_flag_calls)?;
    table.rate(
        &format!("flags, {} UIDs per call", bulk.len()),
        rate,
        "changes/s",
    );
    table.push(format!("  ({:.1} ms per call, median)", ms(per_call)));
    Ok(())
}

/// An append measurement: `calls` deliveries of `batch` new messages each.
struct Appends {
    mailbox: MailboxId,
    batch: usize,
    calls: usize,
}

/// Runs `work`, one durable transaction per call, in [`SLICES`] slices that alternate
/// with slices of `raw_ops` raw appends + fsyncs in all, and adds the new UIDs to
/// `uids`. Returns messages/s and the raw fsyncs/s of the same minutes.
fn append_alongside(
    account: &mut Account,
    work: &Appends,
    (raw, raw_ops): (&mut RawAppender, usize),
    uids: &mut Vec<Uid>,
) -> Result<(f64, f64)> {
    let (mut appending, mut raw_time) = (Duration::ZERO, Duration::ZERO);
    let (mut calls_done, mut raw_done) = (0, 0);
    for slice in 1..=SLICES {
        raw_time += raw.run(raw_ops * slice / SLICES - raw_done)?;
        raw_done = raw_ops * slice / SLICES;
        let start = Instant::now();
        for _ in calls_done..work.calls * slice / SLICES {
            let first = uids.len();
            uids.extend(deliver(account, work.mailbox, first..first + work.batch)?);
        }
        appending += start.elapsed();
        calls_done = work.calls * slice / SLICES;
    }
    Ok((
        per_second(work.batch * work.calls, appending),
        per_second(raw_ops, raw_time),
    ))
}

/// Concurrent deliverers, as SMTP sessions are: the store commits what they queue
/// together (see `Store::deliver`).
const DELIVERERS: usize = 10;

/// `total` single-message deliveries from [`DELIVERERS`] threads through the
/// store's registry, between two halves of `raw_ops` raw appends + fsyncs. Returns
/// messages/s and the raw fsyncs/s of the same minutes.
fn concurrent_appends(
    dir: &Path,
    total: usize,
    (raw, raw_ops): (&mut RawAppender, usize),
) -> Result<(f64, f64)> {
    let store = Store::new(dir.join("concurrent"));
    // Opening (creating) the account is not part of the measurement.
    store.deliver("appends", "Inbox", &message(total), NewMessage::default())?;
    let mut raw_time = raw.run(raw_ops / 2)?;
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..DELIVERERS)
            .map(|t| {
                let store = &store;
                s.spawn(move || -> Result<()> {
                    for i in (t..total).step_by(DELIVERERS) {
                        store.deliver("appends", "Inbox", &message(i), NewMessage::default())?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a deliverer panicked"))
    })?;
    let appending = start.elapsed();
    raw_time += raw.run(raw_ops - raw_ops / 2)?;
    Ok((per_second(total, appending), per_second(raw_ops, raw_time)))
}

/// Stages and delivers messages `indices` in one call: one durable transaction.
fn deliver(
    account: &mut Account,
    mailbox: MailboxId,
    indices: std::ops::Range<usize>,
) -> Result<Vec<Uid>> {
    let mut staged = Vec::with_capacity(indices.len());
    for i in indices {
        let flags = if planted(i, UNSEEN_EVERY) {
            Flags::default()
        } else {
            Flags::SEEN
        };
        let new = NewMessage {
            flags,
            ..NewMessage::default()
        };
        staged.push((account.stage(&message(i))?, new));
    }
    Ok(account.deliver(mailbox, staged)?)
}

/// Adds \Flagged to each message in its own call: one commit each.
fn flags_one_by_one(account: &mut Account, mailbox: MailboxId, uids: &[Uid]) -> Result<f64> {
    let start = Instant::now();
    let mut changed = 0;
    for uid in uids {
        let result = account.set_flags(mailbox, &[*uid], FlagOp::Add, Flags::FLAGGED, &[], None)?;
        changed += result.changed.len();
    }
    Ok(per_second(changed, start.elapsed()))
}

/// Alternately adds and removes \Flagged, so that every call changes every message.
fn flags_in_bulk(
    account: &mut Account,
    mailbox: MailboxId,
    uids: &[Uid],
    calls: usize,
) -> Result<(f64, Duration)> {
    let mut times = Vec::with_capacity(calls);
    let mut changed = 0;
    for call in 0..calls {
        let op = if call % 2 == 0 {
            FlagOp::Add
        } else {
            FlagOp::Remove
        };
        let start = Instant::now();
        let result = account.set_flags(mailbox, uids, op, Flags::FLAGGED, &[], None)?;
        times.push(start.elapsed());
        changed += result.changed.len();
    }
    let total = times.iter().sum();
    Ok((per_second(changed, total), median(&mut times)))
}

// ---- search over a generated mailbox ----

fn search_section(dir: &Path, messages: usize, plan: &Plan, table: &mut Table) -> Result<()> {
    let mut account = Account::open(&dir.join("search"), "search")?;
    let inbox = account.mailbox("Inbox")?.id;
    let start = Instant::now();
    // Batches keep memory bounded and the generation fast (one commit per batch).
    for from in (0..messages).step_by(1000) {
        deliver(&mut account, inbox, from..(from + 1000).min(messages))?;
    }
    let took = start.elapsed();
    table.push(format!(
        "search mailbox: {} messages generated in {:.1} s ({} msg/s, 1000 per deliver)",
        thousands(messages as f64),
        took.as_secs_f64(),
        thousands(per_second(messages, took))
    ));
    for (label, key, expected) in searches(messages) {
        let mut times = Vec::with_capacity(plan.search_runs);
        let mut hits = 0;
        for _ in 0..plan.search_runs {
            let start = Instant::now();
            hits = account.search(inbox, &key)?.len();
            times.push(start.elapsed());
        }
        table.search(&label, median(&mut times), hits, expected);
    }
    Ok(())
}

/// The searches, with the number of hits each should have in `n` messages.
fn searches(n: usize) -> Vec<(String, SearchKey, usize)> {
    let subject = |word: &str| SearchKey::Header("Subject".into(), word.into());
    let count = |(_, every): (&str, usize)| planted_count(n, every);
    vec![
        (
            format!("header Subject {:?} (1%)", SUBJECT_WORD.0),
            subject(SUBJECT_WORD.0),
            count(SUBJECT_WORD),
        ),
        (
            format!("header Subject {SUBJECT_NONE:?} (none)"),
            subject(SUBJECT_NONE),
            0,
        ),
        (
            format!("body {:?} (1%)", BODY_WORD_1PCT.0),
            SearchKey::Body(BODY_WORD_1PCT.0.into()),
            count(BODY_WORD_1PCT),
        ),
        (
            format!("body {:?} (0.1%)", BODY_WORD_01PCT.0),
            SearchKey::Body(BODY_WORD_01PCT.0.into()),
            count(BODY_WORD_01PCT),
        ),
        (
            format!("body {BODY_NONE:?} (none)"),
            SearchKey::Body(BODY_NONE.into()),
            0,
        ),
        (
            format!("text {:?} (1%, header or body)", BODY_WORD_1PCT.0),
            SearchKey::Text(BODY_WORD_1PCT.0.into()),
            count(BODY_WORD_1PCT),
        ),
        (
            "flags UNSEEN (10%)".into(),
            SearchKey::Flags(Flags::SEEN, false),
            planted_count(n, UNSEEN_EVERY),
        ),
    ]
}

// ---- message generation ----

/// Common words, so the text has the frequent trigrams real mail has.
const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are",
    "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by",
    "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there",
    "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other",
    "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like",
    "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no",
    "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its",
    "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "meeting",
    "project", "report", "budget", "review", "schedule", "invoice", "release", "server",
    "customer", "deadline", "agenda", "update", "thanks", "please", "attached", "regards",
    "tomorrow", "morning", "weekend", "office", "team", "draft", "question", "answer", "problem",
    "solution", "contract",
];

/// Syllables for made-up words, so the index also sees a large, varied vocabulary.
/// None of the planted or absent search words can be built from them.
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "tu", "sa", "vel", "dor", "pe", "ni", "ba", "gor", "li", "tem", "ru",
    "so", "fa", "den", "wi", "co", "mar", "te", "bu", "sel",
];

const NAMES: &[&str] = &[
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
    "Ken Thompson",
    "Radia Perlman",
    "John Backus",
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// SplitMix64: a tiny deterministic generator, so every run stores the same mail.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A word: mostly common ones, favouring the first (as in real text), some made up.
    fn word(&mut self) -> String {
        if self.below(5) == 0 {
            let n = 2 + self.below(3);
            (0..n)
                .map(|_| SYLLABLES[self.below(SYLLABLES.len())])
                .collect()
        } else {
            let skewed = self.below(WORDS.len()) * self.below(WORDS.len()) / WORDS.len();
            WORDS[skewed].to_string()
        }
    }
}

/// Message number `i`: an RFC 5322 text message of about 4 KiB, the same every run.
/// Every third one replies to the one before, so delivery also does thread lookups.
fn message(i: usize) -> Vec<u8> {
    let mut rng = Rng(i as u64);
    let sender = NAMES[rng.below(NAMES.len())];
    let address = sender.to_lowercase().replace(' ', ".") + "@example.net";
    let mut subject: Vec<String> = (0..3 + rng.below(5)).map(|_| rng.word()).collect();
    if planted(i, SUBJECT_WORD.1) {
        subject.insert(rng.below(subject.len()), SUBJECT_WORD.0.into());
    }
    let date = format!(
        "{} {} 2026 {:02}:{:02}:{:02} +0000",
        1 + i % 28,
        MONTHS[i / 28 % 12],
        i / 3600 % 24,
        i / 60 % 60,
        i % 60
    );
    let mut text = format!(
        "Return-Path: <{address}>\r\n\
         Received: from mail.example.net (mail.example.net [192.0.2.{}])\r\n\
         \tby mx.example.org with ESMTPS id {:016x}\r\n\
         \tfor <alice@example.org>; {date}\r\n\
         Date: {date}\r\n\
         From: {sender} <{address}>\r\n\
         To: Alice Example <alice@example.org>\r\n\
         Subject: {}\r\n\
         Message-ID: <{i}@example.net>\r\n",
        1 + i % 254,
        rng.next(),
        subject.join(" "),
    );
    if i % 3 == 1 {
        let parent = i - 1;
        text += &format!(
            "In-Reply-To: <{parent}@example.net>\r\nReferences: <{parent}@example.net>\r\n"
        );
    }
    text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 7bit\r\n\r\n";
    text += &body(&mut rng, i, BLOCK - text.len());
    text.into_bytes()
}

/// Sentences wrapped at 72 columns filling about `size` bytes, with the planted words.
fn body(rng: &mut Rng, i: usize, size: usize) -> String {
    let mut words = Vec::new();
    for (word, every) in [BODY_WORD_1PCT, BODY_WORD_01PCT] {
        if planted(i, every) {
            words.push(word.to_string());
        }
    }
    let signature = "-- \r\nSent from the benchmark\r\n";
    let (mut body, mut line) = (String::new(), String::new());
    let mut sentence_left = 0;
    loop {
        let mut word = words.pop().unwrap_or_else(|| rng.word());
        if sentence_left == 0 {
            sentence_left = 6 + rng.below(10);
            word[..1].make_ascii_uppercase();
        }
        sentence_left -= 1;
        if sentence_left == 0 {
            word.push('.');
        }
        if line.len() + word.len() + 1 > 72 {
            body += line.trim_end();
            body += "\r\n";
            line.clear();
        }
        if body.len() + line.len() + word.len() + signature.len() + 4 > size {
            break;
        }
        line += &word;
        line.push(' ');
    }
    body + line.trim_end() + "\r\n" + signature
}

/// Whether message `i` is one of the one in `every` that get a planted word or flag.
fn planted(i: usize, every: usize) -> bool {
    i % every == every / 2
}

/// How many of messages `0..n` are [`planted`] for `every`.
fn planted_count(n: usize, every: usize) -> usize {
    (n + every - 1 - every / 2) / every
}

// ---- figures ----

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `12345.6` as `12,346`: rates are easier to compare with separators.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The summary printed at the end; each line is also printed as it is measured, so a
/// long run shows progress.
#[derive(Default)]
struct Table {
    lines: Vec<String>,
}

impl Table {
    fn push(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }

    fn rate(&mut self, label: &str, rate: f64, unit: &str) {
        self.push(format!("{label:<44} {:>10} {unit}", thousands(rate)));
    }

    fn search(&mut self, label: &str, median: Duration, hits: usize, expected: usize) {
        let check = if hits == expected { "" } else { "  UNEXPECTED" };
        self.push(format!(
            "search {label:<37} {:>10.1} ms   {hits} hits (expected {expected}){check}",
            ms(median)
        ));
    }

    fn print(&self) {
        println!("\n==> summary");
        for line in &self.lines {
            println!("{line}");
        }
    }
}
