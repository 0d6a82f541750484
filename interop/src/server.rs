//! `gannet localserve` as a child process, on ports no other test uses, stopped with
//! SIGTERM when the test ends however it ends.

use std::cell::Cell;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::store::{self, StoredMessage};
use crate::tempdir::TempDir;

pub const LOGIN: &str = "gannet@localhost";
pub const PASSWORD: &str = "gannetgannet";

/// The standard ports localserve adds its offset to (SMTP, HTTP, IMAP, submissions,
/// submission, IMAPS).
const STANDARD_PORTS: [u16; 6] = [25, 80, 143, 465, 587, 993];

/// Offsets are `2000 + 1000 * a + b` with `b < 25`. The standard ports differ pairwise
/// by at least 55 and at most 968, so two different offsets never share a port; the
/// highest port (31017) stays below Linux's ephemeral range, where clients' own
/// connections would collide with it.
const SLOTS_PER_THOUSAND: usize = 25;
const SLOTS: usize = 29 * SLOTS_PER_THOUSAND;

fn offset(slot: usize) -> u16 {
    (2000 + (slot / SLOTS_PER_THOUSAND) * 1000 + slot % SLOTS_PER_THOUSAND) as u16
}

/// A different slot on every call within this process (97 is prime to SLOTS), and a
/// different starting point per process, so concurrent test binaries rarely meet.
fn next_offset() -> u16 {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id() as usize;
    offset((pid.wrapping_mul(37) + n * 97) % SLOTS)
}

fn ports_free(offset: u16) -> bool {
    STANDARD_PORTS
        .iter()
        .all(|p| TcpListener::bind(("127.0.0.1", p + offset)).is_ok())
}

/// The gannet binary next to this test executable (target/PROFILE/deps/TEST), built
/// once if missing: `cargo test -p interop` does not build other packages' binaries.
/// `GANNET_BIN` overrides it.
pub fn gannet_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("GANNET_BIN") {
            return PathBuf::from(path);
        }
        let exe = std::env::current_exe().expect("the test executable's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/PROFILE/deps");
        let binary = profile_dir.join("gannet");
        if !binary.exists() {
            build_gannet(profile_dir);
            assert!(
                binary.exists(),
                "cargo build did not produce {}",
                binary.display()
            );
        }
        binary
    })
}

fn build_gannet(profile_dir: &Path) {
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(String::from))
        .unwrap_or_else(|| "cargo".to_string());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("interop is inside the workspace");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "-p", "gannet", "--bin", "gannet"]);
    if let Some(target_dir) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target_dir);
    }
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
    }
    eprintln!("building gannet: {cmd:?}");
    // Waiting on the build lock while other builds run can take long.
    crate::run(&mut cmd, Duration::from_secs(1800)).assert_success();
}

/// A running `gannet localserve`.
pub struct Gannet {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
    offset: u16,
    exports: Cell<u32>,
}

impl Gannet {
    /// Starts localserve in `tmp`/server on free ports and waits until it serves.
    pub fn start(tmp: &TempDir) -> Gannet {
        let binary = gannet_binary();
        let dir = tmp.path().join("server");
        let out = tmp.path().join("gannet.out");
        let log = tmp.path().join("gannet.log");
        let mut last_error = String::new();
        for _attempt in 0..20 {
            let offset = next_offset();
            if !ports_free(offset) {
                last_error = format!("a port of offset {offset} is in use");
                continue;
            }
            // The config written on a failed attempt has that attempt's ports.
            let _ = std::fs::remove_dir_all(&dir);
            let child = Command::new(binary)
                .args(["localserve", "--dir"])
                .arg(&dir)
                .args(["--port-offset", &offset.to_string()])
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&out).expect("create gannet.out"))
                .stderr(std::fs::File::create(&log).expect("create gannet.log"))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = Gannet {
                child,
                dir: dir.clone(),
                log: log.clone(),
                offset,
                exports: Cell::new(0),
            };
            match server.wait_until_serving(&out) {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
            drop(server);
            // Another process took one of the ports between the probe and the bind.
            if !last_error.contains("Address already in use") {
                break;
            }
        }
        panic!("gannet localserve did not start:\n{last_error}");
    }

    /// localserve prints "serving" once every listener is bound.
    fn wait_until_serving(&mut self, out: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let printed = std::fs::read_to_string(out).unwrap_or_default();
            if printed.lines().any(|l| l.starts_with("serving")) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().expect("waitpid") {
                return Err(format!("exited with {status}:\n{printed}\n{}", self.log()));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not serving after 30 s:\n{printed}\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Delivers a message with `subject` and `body` to the test account over SMTP,
    /// as a sender on the internet would.
    pub fn deliver(&self, subject: &str, body: &str) {
        crate::smtp::deliver(
            self.smtp_port(),
            "sender@example.org",
            &[LOGIN],
            &crate::message(subject, body),
        );
    }

    pub fn smtp_port(&self) -> u16 {
        25 + self.offset
    }

    pub fn submission_port(&self) -> u16 {
        587 + self.offset
    }

    pub fn imap_port(&self) -> u16 {
        143 + self.offset
    }

    pub fn imaps_port(&self) -> u16 {
        993 + self.offset
    }

    /// The self-signed certificate (for localhost and 127.0.0.1) clients must trust.
    pub fn cert(&self) -> PathBuf {
        self.dir.join("tls/localhost.crt")
    }

    /// The server's log so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every message of the test account as the store has it, read with `gannet
    /// export maildir`: what arrived, independent of any IMAP client's view.
    pub fn stored(&self) -> Vec<StoredMessage> {
        self.stored_in("gannet")
    }

    /// Every message of `account` as the store has it (see [`Gannet::stored`]);
    /// none for an account that never had mail.
    pub fn stored_in(&self, account: &str) -> Vec<StoredMessage> {
        if !self.dir.join("data/accounts").join(account).exists() {
            return Vec::new();
        }
        let n = self.exports.get();
        self.exports.set(n + 1);
        let target = self.dir.with_file_name(format!("export-{n}"));
        let output = crate::run(
            Command::new(gannet_binary())
                .arg("-c")
                .arg(self.dir.join("gannet.toml"))
                .args(["export", "maildir", account])
                .arg(&target),
            Duration::from_secs(30),
        );
        output.assert_success();
        store::read_maildir_tree(&target)
    }

    /// Stops the server with SIGTERM and returns how it exited.
    pub fn stop(mut self) -> ExitStatus {
        self.terminate()
    }

    fn terminate(&mut self) -> ExitStatus {
        if let Some(status) = self.child.try_wait().expect("waitpid") {
            return status;
        }
        // SAFETY: kill(2) on our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("waitpid") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("gannet ignored SIGTERM for 10 s; killing it");
        let _ = self.child.kill();
        self.child.wait().expect("waitpid")
    }
}

impl Drop for Gannet {
    fn drop(&mut self) {
        self.terminate();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of gannet's log ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}
