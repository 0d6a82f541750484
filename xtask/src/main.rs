//! `cargo xtask`: the project's tasks, so that CI and developers run the same steps
//! in the same way. Every command runs from the workspace root, so the tasks work
//! from any directory inside the repository.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};

mod bench_imap;
mod bench_smtp;
mod bench_support;
mod containers;
mod dovecot;
mod postfix;

/// Project tasks for Gannet.
#[derive(Parser)]
#[command(bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every CI check, stopping at the first failure.
    ///
    /// The steps, in order: rustfmt, clippy (warnings are errors), the tests, the
    /// conformance harness, Dovecot's imaptest scripts against a live gannet, then
    /// each fuzz target for a short time. Prints a summary
    /// of the steps and their durations at the end.
    Ci {
        /// How long to run each fuzz target, in seconds.
        #[arg(long, value_name = "N", default_value_t = 20)]
        fuzz_seconds: u64,
    },
    /// Run the conformance harness and print its per-RFC table.
    ///
    /// Fails if a case fails, or if the harness prints no table at all.
    Conformance {
        /// Passed through to the conformance binary.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run fuzz targets for a bounded time each; fails if any finds a crash.
    ///
    /// Runs on stable Rust (`cargo fuzz run -s none`). The seeds in
    /// fuzz/seeds/TARGET are copied into the working corpus fuzz/corpus/TARGET
    /// first, and fuzz/dict/TARGET.dict is used as the dictionary where it exists.
    Fuzz {
        /// How long to run each target, in seconds.
        #[arg(long, value_name = "N", default_value_t = 60)]
        seconds: u64,
        /// Targets to run (default: all, as listed by `cargo fuzz list`).
        #[arg(value_name = "TARGET")]
        targets: Vec<String>,
    },
    /// Drive real mail clients against a live `gannet localserve`: the interop crate's
    /// tests (Python imaplib and smtplib, curl, mbsync, neomutt, fetchmail, msmtp,
    /// s-nail; `.ci/run` installs them), and Postfix and Dovecot in containers.
    ///
    /// Sets up podman (apt-get, as root), a Debian base image (debootstrap) and the
    /// images of interop/images/ first, keeping what exists; without them the
    /// container tests say they were skipped. Also part of `cargo xtask ci`, through
    /// `cargo test --workspace`, where a container engine that cannot be set up
    /// fails the run when CI is set.
    Interop,
    /// Replace the built-in Public Suffix List (src/psl/public_suffix_list.dat) with
    /// a newer one, then run the conformance table, whose PSL rows must still pass.
    ///
    /// FILE defaults to Debian's copy (`apt-get install publicsuffix` puts it in
    /// /usr/share/publicsuffix/). The file must have the list's ICANN and private
    /// sections. Rebuild gannet afterwards: the list is compiled in.
    Psl {
        #[arg(
            value_name = "FILE",
            default_value = "/usr/share/publicsuffix/public_suffix_list.dat"
        )]
        file: PathBuf,
    },
    /// Run a benchmark (store, smtp, imap) and print its figures; never a timed assertion.
    ///
    /// Without the name of one, lists the benchmarks (exit status 2: nothing ran).
    #[command(arg_required_else_help = true)]
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// The store, optimized (cargo's bench profile): raw fsync baselines, durable
    /// appends, flag changes and search over a generated mailbox.
    ///
    /// Arguments go to the benchmark, e.g. `cargo xtask bench store -- --quick` or
    /// `-- --messages 20000`.
    Store {
        /// Passed through to the benchmark.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// SMTP: messages/s and latency per message for gannet localserve and for Postfix
    /// on loopback, side by side in one run, with the same load generator.
    ///
    /// Builds gannet in release mode and starts `gannet localserve` with its data in
    /// a temporary directory under target/tmp; installs Postfix with apt if it is
    /// missing and runs a private instance (its own config, queue and log in the
    /// same temporary directory, one smtpd on a free loopback port). Each client is
    /// one persistent SMTP session: EHLO, one untimed warm-up message, then MAIL,
    /// RCPT, DATA, the message, and the 250, again and again. A 250 after DATA means
    /// stored durably in both servers. Prints server, messages, seconds, messages/s,
    /// p50 and p99 latency, then the ratio gannet/postfix.
    ///
    /// Fails if gannet cannot be measured or refuses a message; a Postfix that
    /// cannot be installed or started is reported, and gannet's figures are printed
    /// all the same.
    Smtp(bench_smtp::Options),
    /// IMAP: commands/s and latency per command, and memory per idle connection, for
    /// gannet localserve and for Dovecot on loopback, side by side in one run, with
    /// the same load generator.
    ///
    /// Builds gannet in release mode and starts `gannet localserve` with its data in
    /// a temporary directory under target/tmp, its connection limits raised for the
    /// idle connections; installs dovecot-imapd with apt if it is missing and runs a
    /// private instance (its own config, runtime directory, log and Maildirs in the
    /// same temporary directory, on a free loopback port). Each server gets INBOX
    /// filled with APPEND, then the idle connections (AUTHENTICATE CRAM-MD5 or LOGIN,
    /// SELECT INBOX, IDLE) with its memory read before and after (RSS and PSS, summed
    /// over all its processes), then N clients, each one persistent session on the shared INBOX,
    /// running a weighted mix after imaptest's default profile: UID FETCH of flags,
    /// headers and whole messages, UID STORE, APPEND, EXPUNGE, SEARCH and NOOP. Prints per command
    /// count, commands/s, p50 and p99 latency, the ratio gannet/dovecot, and the
    /// memory per idle connection.
    ///
    /// Fails if gannet cannot be measured or refuses a command; a Dovecot that
    /// cannot be installed or started is reported, and gannet's figures are printed
    /// all the same.
    Imap(bench_imap::Options),
}

fn main() -> ExitCode {
    let root = workspace_root();
    let result = match Cli::parse().task {
        Task::Ci { fuzz_seconds } => ci(&root, fuzz_seconds),
        Task::Conformance { args } => conformance(&root, &args),
        Task::Fuzz { seconds, targets } => fuzz(&root, seconds, &targets),
        Task::Interop => with_containers(&root, &["test", "-p", "interop"]),
        Task::Psl { file } => refresh_psl(&root, &file),
        Task::Bench { what } => match what {
            Bench::Store { args } => bench(&root, "store", &args),
            Bench::Smtp(options) => bench_smtp::run(&root, &options),
            Bench::Imap(options) => bench_imap::run(&root, &options),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// xtask lives one level below the workspace root.
fn workspace_root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask
        .parent()
        .expect("xtask is inside the workspace")
        .to_owned()
}

fn cargo(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(dir).args(args);
    cmd
}

/// The command as one would type it (`Command`'s Debug form quotes every word).
fn shown(cmd: &Command) -> String {
    let words = std::iter::once(cmd.get_program()).chain(cmd.get_args());
    let words: Vec<_> = words.map(|w| w.to_string_lossy()).collect();
    words.join(" ")
}

/// Prints the command as a header, runs it with its output shown as it comes, and
/// returns its standard output; fails naming the command unless it succeeds.
fn run(cmd: &mut Command) -> Result<String> {
    let shown = shown(cmd);
    println!("$ {shown}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let captured = tee(child.stdout.take().expect("stdout is piped"))
        .with_context(|| format!("reading the output of `{shown}`"))?;
    let status = child.wait()?;
    ensure!(status.success(), "`{shown}` failed ({status})");
    Ok(captured)
}

/// Copies `from` to our stdout while keeping it: the conformance step needs to know
/// whether anything was printed, `fuzz` needs the target list.
fn tee(mut from: impl Read) -> Result<String> {
    let mut kept = Vec::new();
    let mut buf = [0; 8192];
    let mut out = std::io::stdout();
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(String::from_utf8_lossy(&kept).into_owned());
        }
        out.write_all(&buf[..n])?;
        out.flush()?;
        kept.extend_from_slice(&buf[..n]);
    }
}

type Step<'a> = Box<dyn Fn() -> Result<()> + 'a>;

fn cargo_step<'a>(root: &'a Path, args: &'a [&'a str]) -> Step<'a> {
    Box::new(move || run(&mut cargo(root, args)).map(drop))
}

/// Runs `cargo ARGS` with the container engine set up for the interop suite's
/// peers in containers. Where it cannot be set up (no root, no apt), the
/// container tests say they were skipped, unless this is CI (`CI` is set), which
/// must run them.
fn with_containers(root: &Path, args: &[&str]) -> Result<()> {
    let mut cmd = cargo(root, args);
    let engine = match containers::setup(root) {
        Ok(engine) => Some(engine),
        Err(e) if std::env::var_os("CI").is_some() => {
            return Err(e.context("setting up the container engine, which CI needs"));
        }
        Err(e) => {
            println!("containers: not available, their tests are skipped: {e:#}");
            None
        }
    };
    if let Some(engine) = &engine {
        cmd.env("DOCKER_HOST", engine.docker_host());
    }
    run(&mut cmd).map(drop)
}

fn ci(root: &Path, fuzz_seconds: u64) -> Result<()> {
    let clippy = &[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ];
    let steps: [(&str, Step); 6] = [
        ("fmt", cargo_step(root, &["fmt", "--all", "--", "--check"])),
        ("clippy", cargo_step(root, clippy)),
        (
            "test",
            Box::new(|| with_containers(root, &["test", "--workspace"])),
        ),
        ("conformance", Box::new(|| conformance(root, &[]))),
        ("imaptest", Box::new(|| imaptest(root))),
        ("fuzz", Box::new(|| fuzz(root, fuzz_seconds, &[]))),
    ];
    // Per step: how long it took and whether it passed; None once an earlier one failed.
    let mut report: Vec<(&str, Option<(Duration, bool)>)> = Vec::new();
    let mut outcome = Ok(());
    for (i, (name, step)) in steps.iter().enumerate() {
        if outcome.is_err() {
            report.push((name, None));
            continue;
        }
        println!("\n==> [{}/{}] {name}", i + 1, steps.len());
        let start = Instant::now();
        outcome = step().with_context(|| format!("CI step `{name}` failed"));
        report.push((name, Some((start.elapsed(), outcome.is_ok()))));
    }
    println!("\n==> summary");
    for (name, result) in report {
        let line = match result {
            Some((time, ok)) => {
                let status = if ok { "ok" } else { "FAILED" };
                format!("{status:<8} {name:<12} {:>7.1} s", time.as_secs_f64())
            }
            None => format!("{:<8} {name}", "skipped"),
        };
        println!("  {line}");
    }
    outcome
}

fn conformance(root: &Path, args: &[String]) -> Result<()> {
    let mut cmd = cargo(
        root,
        // The dev profile optimizes dependencies and reuses the test build.
        &["run", "--quiet", "-p", "conformance", "--"],
    );
    let table = run(cmd.args(args))?;
    // A harness that prints no table ran no cases; passing it would hide that.
    ensure!(
        !table.trim().is_empty(),
        "the conformance harness printed no results table (is it still a stub?)"
    );
    Ok(())
}

/// Copies a newer Public Suffix List over the built-in one and checks it with the
/// conformance table (test_psl.txt runs against the list compiled in).
fn refresh_psl(root: &Path, file: &Path) -> Result<()> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    for marker in ["===BEGIN ICANN DOMAINS===", "===END PRIVATE DOMAINS==="] {
        ensure!(
            text.contains(marker),
            "{} is not a Public Suffix List: it has no {marker} line",
            file.display()
        );
    }
    let target = root.join("src/psl/public_suffix_list.dat");
    fs::write(&target, &text).with_context(|| format!("writing {}", target.display()))?;
    println!("copied {} to {}", file.display(), target.display());
    conformance(root, &[])
}

/// Runs Dovecot's imaptest scripts (rfc-vectors/imaptest) against a gannet
/// localserve started from the debug build.
fn imaptest(root: &Path) -> Result<()> {
    run(&mut cargo(
        root,
        &["build", "--quiet", "-p", "gannet", "--bin", "gannet"],
    ))?;
    let gannet = root.join("target/debug/gannet");
    let gannet = gannet.to_str().context("the target path is not UTF-8")?;
    let args = [
        "imaptest".to_string(),
        "--gannet".to_string(),
        gannet.to_string(),
    ];
    conformance(root, &args)
}

/// `cargo bench` builds with the bench profile (release settings) and passes `--bench`
/// to the binary, which the benchmark ignores. `target` is a `[[bench]]` target of the
/// root package.
fn bench(root: &Path, target: &str, args: &[String]) -> Result<()> {
    let mut cmd = cargo(root, &["bench", "--bench", target, "--"]);
    run(cmd.args(args)).map(drop)
}

fn fuzz(root: &Path, seconds: u64, wanted: &[String]) -> Result<()> {
    let dir = root.join("fuzz");
    let listed = run(&mut cargo(&dir, &["fuzz", "list"]))?;
    let available: Vec<&str> = listed.lines().map(str::trim).collect();
    if let Some(unknown) = wanted.iter().find(|t| !available.contains(&t.as_str())) {
        bail!("no fuzz target {unknown:?}; the targets are: {available:?}");
    }
    let targets: Vec<&str> = match wanted {
        [] => available,
        _ => wanted.iter().map(String::as_str).collect(),
    };
    // One build for all targets first: the runs below then only start binaries, and
    // a build failure is reported as one, not as a failing fuzz target.
    let mut build = cargo(&dir, &["fuzz", "build", "-s", "none", "--release"]);
    if let [target] = targets.as_slice() {
        build.arg(target);
    }
    run(&mut build).context("building the fuzz targets failed")?;
    for target in targets {
        fuzz_target(&dir, target, seconds)?;
    }
    Ok(())
}

/// Runs one target from its seeds and dictionary (where they exist) on stable: `-s
/// none` needs no nightly sanitizer. A crash leaves an artifact, which is reported.
fn fuzz_target(dir: &Path, target: &str, seconds: u64) -> Result<()> {
    let corpus = dir.join("corpus").join(target);
    copy_seeds(&dir.join("seeds").join(target), &corpus)?;
    let time = format!("-max_total_time={seconds}");
    let mut cmd = cargo(dir, &["fuzz", "run", "-s", "none", "--release", target]);
    cmd.args(["--", &time]);
    let dict = dir.join("dict").join(format!("{target}.dict"));
    if dict.exists() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    let started = SystemTime::now();
    let Err(failure) = run(&mut cmd) else {
        return Ok(());
    };
    let artifacts = new_files(&dir.join("artifacts").join(target), started);
    for artifact in &artifacts {
        eprintln!("fuzz target {target} failing input: {}", artifact.display());
    }
    let what = match artifacts.len() {
        0 => "failed without saving a failing input (see the output above)",
        _ => "found a failing input",
    };
    Err(failure.context(format!("fuzz target {target} {what}")))
}

/// The working corpus is git-ignored and grows as the fuzzer finds new inputs; the
/// committed seeds are copied in so that every run starts at least from them.
fn copy_seeds(seeds: &Path, corpus: &Path) -> Result<()> {
    fs::create_dir_all(corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let Ok(entries) = fs::read_dir(seeds) else {
        return Ok(());
    };
    for entry in entries {
        let from = entry?.path();
        let to = corpus.join(from.file_name().expect("a directory entry has a name"));
        fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Files in `dir` modified since `since`: the artifacts of the run that just failed.
fn new_files(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let is_new = |e: &fs::DirEntry| {
        e.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since)
    };
    entries.flatten().filter(is_new).map(|e| e.path()).collect()
}
