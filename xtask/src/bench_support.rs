//! What the benchmarks share: their temporary directory, reading server logs,
//! installing a peer with apt, and the error that ends a load client's session.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

use crate::bench_smtp::tail;

/// The benchmark's temporary directory, removed when dropped.
pub struct WorkDir {
    pub path: PathBuf,
}

impl WorkDir {
    /// Creates `PREFIX-PID` in `parent` for this process, first removing the
    /// `PREFIX-*` directories that runs killed before they could clean up left there
    /// (named after a process that no longer runs).
    pub fn create(parent: &Path, prefix: &str) -> Result<WorkDir> {
        let path = &parent.join(format!("{prefix}-{}", std::process::id()));
        let prefix = format!("{prefix}-");
        for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix(prefix.as_str()));
            if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        if path.exists() {
            fs::remove_dir_all(path)?;
        }
        fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir {
            path: path.to_owned(),
        })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.path) {
            eprintln!("could not remove {}: {e}", self.path.display());
        }
    }
}

/// The last `n` lines of a log file that look like trouble (a server under load logs
/// every message; the refusals would scroll out of a plain tail), or else its tail.
pub fn trouble(path: &Path, n: usize) -> String {
    const WORDS: [&str; 8] = [
        "warn", "error", "fatal", "panic", "refused", "reject", "fail", "too many",
    ];
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            WORDS.iter().any(|w| l.contains(w))
        })
        .collect();
    if lines.is_empty() {
        return tail(path, n);
    }
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| format!("    {l}\n")).collect()
}

/// Why a benchmark client's session cannot go on.
pub struct Lost(pub String);

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<io::Error> for Lost {
    fn from(e: io::Error) -> Lost {
        Lost(format!("connection lost: {e}"))
    }
}

/// Installs `package` with apt-get unless `installed` exists; fails saying why it
/// cannot (not root, or the end of apt's output).
pub fn apt_install(package: &str, installed: &Path) -> Result<()> {
    if installed.exists() {
        return Ok(());
    }
    require_root(package)?;
    println!("{package} is not installed; installing it with apt-get");
    // --no-remove: never take out a conflicting package (another MTA) to make room.
    let install = |cmd: &mut Command| {
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args([
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "--no-remove",
            package,
        ]);
        println!("$ {}", crate::shown(cmd));
        output(cmd)
    };
    let mut out = install(&mut Command::new("apt-get"))?;
    if !out.status.success() {
        // Stale package lists are the usual reason; refresh them once.
        println!("$ apt-get update -q");
        output(Command::new("apt-get").args(["update", "-q"]))?;
        out = install(&mut Command::new("apt-get"))?;
    }
    if !out.status.success() || !installed.exists() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let last: Vec<&str> = text.lines().rev().take(8).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        bail!(
            "apt-get install {package} failed ({}):\n    {}",
            out.status,
            last.join("\n    ")
        );
    }
    Ok(())
}

/// Fails unless this process may install `package` (runs as root).
pub fn require_root(package: &str) -> Result<()> {
    let uid = output(Command::new("id").arg("-u"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("{package} is not installed, and installing it with apt needs root");
    }
    Ok(())
}

/// Runs `cmd` to completion, with its output.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .with_context(|| format!("could not run `{}`", crate::shown(cmd)))
}
