//! Crash safety: a child process delivers a stream of messages and acknowledges each
//! committed batch on stdout; the parent kills it with SIGKILL at a random moment,
//! reopens the store, and checks that every acknowledged message is present and
//! intact, that nothing half-written is visible, and that verify reports clean.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use gannet::store::{Account, NewMessage};

/// Bounds: iterations and total time, whichever ends first.
const ITERATIONS: usize = 40;
const TIME_LIMIT: Duration = Duration::from_secs(20);
const CHILD_ENV: &str = "GANNET_CRASH_CHILD_DIR";

/// Message `n`: its Message-ID names it, its size varies, so a torn or mixed-up file
/// cannot pass for another.
fn message(n: u64) -> Vec<u8> {
    let filler =
        format!("line {n} of the body, padded to vary sizes\r\n").repeat((n % 50 + 1) as usize);
    format!("Message-ID: <{n}@crash.test>\r\nSubject: crash test {n}\r\n\r\n{filler}").into_bytes()
}

/// The child: delivers batches forever (until killed), printing `ack FIRST LAST` after
/// each batch is committed. Run by the parent only.
#[test]
#[ignore = "the child process of every_acknowledged_delivery_survives_sigkill"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut account = Account::open(Path::new(&dir), "crash").unwrap();
    let inbox = account.mailbox("Inbox").unwrap().id;
    let start: u64 = std::env::var("GANNET_CRASH_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    let mut n = start;
    loop {
        let size = n % 4 + 1;
        let batch = (n..n + size)
            .map(|i| (account.stage(&message(i)).unwrap(), NewMessage::default()))
            .collect();
        account.deliver(inbox, batch).unwrap();
        println!("ack {n} {}", n + size - 1);
        n += size;
    }
}

/// Runs one child on `dir` for a random moment and returns the acknowledged range end.
fn run_child(dir: &Path, first: u64, kill_after: Duration) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env("GANNET_CRASH_FIRST", first.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("ack ") {
                let last: u64 = rest.split(' ').nth(1).unwrap().parse().unwrap();
                let _ = tx.send(last);
            }
        }
    });
    thread::sleep(kill_after);
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap();
    rx.try_iter().last().unwrap_or(first.saturating_sub(1))
}

#[test]
fn every_acknowledged_delivery_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("crash");
    let started = Instant::now();
    // Highest acknowledged message number so far; every number up to it must exist.
    let mut acked: u64 = 0;
    let mut next_first = 1;
    let mut iterations = 0;
    while iterations < ITERATIONS && started.elapsed() < TIME_LIMIT {
        // Vary the moment of death, from before the first commit to well into the run.
        let kill_after = Duration::from_millis(20 + (iterations as u64 * 37) % 250);
        acked = acked.max(run_child(&store, next_first, kill_after));
        let account = Account::open(&store, "crash").unwrap();
        let problems = account.verify().unwrap();
        assert!(problems.is_empty(), "after kill {iterations}: {problems:?}");
        let inbox = account.mailbox("Inbox").unwrap().id;
        let present: HashMap<String, Vec<u8>> = account
            .messages(inbox)
            .unwrap()
            .into_iter()
            .map(|m| (m.message_id.clone(), account.read(m.id).unwrap()))
            .collect();
        for n in 1..=acked {
            let id = format!("{n}@crash.test");
            let got = present
                .get(&id)
                .unwrap_or_else(|| panic!("acknowledged message {n} is missing"));
            assert_eq!(got, &message(n), "message {n} is not intact");
        }
        for (id, bytes) in &present {
            // Committed but perhaps not yet acknowledged: must still be whole.
            let n: u64 = id.split('@').next().unwrap().parse().unwrap();
            assert_eq!(bytes, &message(n), "message {n} is half-written");
        }
        // The next child continues after everything that exists, acknowledged or not.
        next_first = present
            .keys()
            .map(|id| id.split('@').next().unwrap().parse::<u64>().unwrap())
            .max()
            .unwrap_or(0)
            + 1;
        iterations += 1;
    }
    assert!(iterations >= 5, "only {iterations} iterations ran");
    assert!(
        acked > 0,
        "no delivery was ever acknowledged: the child did not run"
    );
    println!(
        "crash test: {iterations} kills, {acked} messages acknowledged, all present and intact"
    );
}
