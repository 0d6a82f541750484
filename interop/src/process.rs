//! Running client programs: bounded in time, output captured, and a missing program
//! reported with the Debian package that provides it.

use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Fails the test unless `program` is on PATH. Skipping instead would let CI pass
/// without having run the client at all.
#[track_caller]
pub fn require(program: &str, apt_package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    });
    let path = found.unwrap_or_else(|| {
        panic!(
            "`{program}` is not installed; install it with `apt-get install {apt_package}` \
             (.ci/run installs it in CI)"
        )
    });
    print_version_once(program, &path);
    path
}

/// Prints the version of each program a test binary runs, once: the suite's
/// output says which clients it tested against.
fn print_version_once(program: &str, path: &std::path::Path) {
    static SHOWN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut shown = SHOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if shown.iter().any(|p| p == program) {
        return;
    }
    shown.push(program.to_string());
    let flag = match program {
        "s-nail" => "-V",
        "neomutt" => "-v",
        _ => "--version",
    };
    let out = run(Command::new(path).arg(flag), Duration::from_secs(10));
    let text = if out.stdout.trim().is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    let first = text.lines().next().unwrap_or("(no version output)");
    println!("ran {program}: {first}");
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// What a finished program left behind.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics with the whole transcript unless the program exited with status 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Output {
        assert!(self.status.success(), "{self}");
        self
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\nexited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with no stdin and captured output. A program still running after
/// `timeout` is killed with everything it started, and the test fails: a hung
/// client must not hang CI.
#[track_caller]
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    run_fed(cmd, None, timeout)
}

/// [`run`] with the file `input` as stdin, when given.
#[track_caller]
pub fn run_fed(cmd: &mut Command, input: Option<&std::path::Path>, timeout: Duration) -> Output {
    let command = format!("{cmd:?}");
    let stdin = match input {
        Some(path) => std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
            .into(),
        None => Stdio::null(),
    };
    // Its own process group, so that helpers it forks (an MDA, a shell) die with it.
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    let pgid = child.id() as libc::pid_t;
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Also after a normal exit: a leftover helper holding the pipes would block the
    // readers below forever.
    // SAFETY: kill(2) on a process group this function created; no memory involved.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let timed_out = status.is_none();
    let status = status.unwrap_or_else(|| child.wait().expect("waitpid"));
    let output = Output {
        command,
        status,
        stdout: stdout.join().expect("reader thread"),
        stderr: stderr.join().expect("reader thread"),
    };
    assert!(!timed_out, "timed out after {timeout:?}, killed:\n{output}");
    output
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_are_captured() {
        let out = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("out\n", "err\n")
        );
        assert_eq!(out.code(), Some(3));
    }

    #[test]
    fn a_hung_program_and_what_it_started_are_killed_and_fail_the_test() {
        let started = Instant::now();
        // The background sleep keeps stdout open: without killing the whole group
        // the reader threads would wait for it.
        let result = std::panic::catch_unwind(|| {
            run(
                Command::new("sh").args(["-c", "sleep 60 & echo waiting; sleep 60"]),
                Duration::from_millis(300),
            )
        });
        let message = *result
            .expect_err("a timeout fails")
            .downcast::<String>()
            .expect("a formatted panic message");
        assert!(message.starts_with("timed out after 300ms"), "{message}");
        assert!(message.contains("waiting"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let result = std::panic::catch_unwind(|| require("no-such-client-xyz", "xyz-client"));
        let message = *result.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("`no-such-client-xyz` is not installed")
                && message.contains("apt-get install xyz-client"),
            "{message}"
        );
    }
}
