//! QRESYNC (RFC 7162) as a mail program like Thunderbird uses it, across reconnects:
//! `scripts/imap_qresync.py` keeps a cache of INBOX ({uid: flags}, UIDVALIDITY,
//! HIGHESTMODSEQ), resynchronizes it with SELECT (QRESYNC ...) after every
//! reconnect - some after a LOGOUT, some after the socket was dropped in the middle
//! of a response - while a second connection of the same account makes random
//! changes (APPEND, STORE of flags and keywords, EXPUNGE, MOVE, COPY), between the
//! client's commands, while it idles, while it is away, and from a thread. After
//! every resync the cache must equal what a fresh connection reads: no flag change
//! and no expunge lost.
//!
//! A property test: the script draws its changes from a seed. The fixed seeds run
//! every time, without the threaded rounds, so that they replay exactly; one more
//! seed, with them, is new on each run (or `GANNET_QRESYNC_SEED`) and is printed,
//! and any failure names its seed. To replay one against a running
//! `gannet localserve` with an empty INBOX:
//! `python3 interop/scripts/imap_qresync.py IMAP_PORT --seed N --rounds N`
//! (`GANNET_QRESYNC_THREADS=0` leaves out the rounds whose interleaving depends on
//! timing; `GANNET_QRESYNC_SILENT=0` makes the client's STOREs all non-silent).

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use interop::{Gannet, TempDir, require, run, script};

const TIMEOUT: Duration = Duration::from_secs(90);
const ROUNDS: u32 = 25;

/// Runs the script with `seed` against a fresh server (an empty INBOX, as the
/// replay instructions assume). With `threads`, some rounds make changes from a
/// thread while the client works, and the run depends on timing as well.
fn resync_loses_nothing(name: &str, seed: u64, threads: bool) {
    let tmp = TempDir::new(name);
    let server = Gannet::start(&tmp);
    let threads = if threads { "1" } else { "0" };
    let out = run(
        Command::new(require("python3", "python3"))
            .arg(script("imap_qresync.py"))
            .arg(server.imap_port().to_string())
            .args(["--seed", &seed.to_string()])
            .args(["--rounds", &ROUNDS.to_string()])
            .env("GANNET_QRESYNC_THREADS", threads),
        TIMEOUT,
    );
    assert!(
        out.status.success(),
        "the QRESYNC client's cache diverged from the server with seed {seed} \
         (GANNET_QRESYNC_THREADS={threads}); replay with GANNET_QRESYNC_SEED={seed} cargo test \
         -p interop --test imap_qresync random_seed, or the script as this file's doc says\n{out}"
    );
    assert!(out.stdout.contains("no change lost"), "{out}");
    // The run did what it is for: resyncs after changes made while away, live
    // changes, expunges told as VANISHED, and dropped connections.
    for what in [
        "verified: after the resync: ",
        "QRESYNC SELECTs: ",
        "VANISHED: ",
        "B expunge: ",
        "B store: ",
        "abrupt closes mid-response: ",
    ] {
        assert!(out.stdout.contains(what), "{what}missing:\n{out}");
    }
    println!("{}", out.stdout);
}

#[test]
fn qresync_resync_across_reconnects_loses_nothing_seed_1() {
    resync_loses_nothing("qresync-1", 1, false);
}

#[test]
fn qresync_resync_across_reconnects_loses_nothing_seed_7162() {
    resync_loses_nothing("qresync-7162", 7162, false);
}

#[test]
fn qresync_resync_across_reconnects_loses_nothing_random_seed() {
    let seed = match std::env::var("GANNET_QRESYNC_SEED") {
        Ok(s) => s.parse().expect("GANNET_QRESYNC_SEED is a number"),
        Err(_) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            (now.as_nanos() as u64 ^ u64::from(std::process::id())) % (1 << 32)
        }
    };
    eprintln!("QRESYNC property test seed: {seed} (set GANNET_QRESYNC_SEED={seed} to replay)");
    resync_loses_nothing("qresync-random", seed, true);
}
