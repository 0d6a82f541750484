//! A private Postfix instance for the SMTP benchmark: its own config directory,
//! queue and log in a temporary directory, one smtpd on a loopback port, run in the
//! foreground by its master and stopped with it. The system's Postfix (port 25,
//! /etc/postfix, /var/spool/postfix) is not touched.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::bench_smtp::{Server, tail};
use crate::bench_support::{apt_install, output, require_root};

/// What Postfix does with the mail it accepts.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostfixMode {
    /// Keep it in the hold queue: no delivery runs during the measurement.
    Hold,
    /// Deliver it to a Maildir while the load runs.
    Maildir,
    /// Do not run Postfix.
    None,
}

impl PostfixMode {
    pub fn describe(self) -> &'static str {
        match self {
            PostfixMode::Hold => "accepted mail kept in the hold queue",
            PostfixMode::Maildir => "accepted mail delivered to a Maildir",
            PostfixMode::None => "not run",
        }
    }

    /// How to read Postfix's figures, for the report.
    pub fn explain(self) -> &'static str {
        match self {
            PostfixMode::Hold => {
                "250 after cleanup fsyncs the queue file; accepted mail goes to the hold \
                 queue (check_recipient_access static:HOLD), so no delivery competes with \
                 acceptance; --postfix maildir delivers instead"
            }
            PostfixMode::Maildir => {
                "250 after cleanup fsyncs the queue file; virtual(8) delivers each message \
                 to a Maildir (fsync) while the load runs"
            }
            PostfixMode::None => "not run",
        }
    }
}

const POSTFIX: &str = "/usr/sbin/postfix";
const DEBCONF: &str = "postfix postfix/main_mailer_type select No configuration\n";

/// Installs Postfix with apt unless it is there; fails saying why it cannot.
pub fn ensure_installed() -> Result<()> {
    if Path::new(POSTFIX).exists() {
        return Ok(());
    }
    require_root("postfix")?;
    // The package asks how the system sends mail: answer "no configuration".
    let mut preseed = Command::new("debconf-set-selections");
    preseed.stdin(std::process::Stdio::piped());
    let mut child = preseed
        .spawn()
        .context("could not run debconf-set-selections")?;
    std::io::Write::write_all(&mut child.stdin.take().expect("piped"), DEBCONF.as_bytes())?;
    if !child.wait()?.success() {
        bail!("debconf-set-selections failed");
    }
    apt_install("postfix", Path::new(POSTFIX))
}

/// A configured private instance.
pub struct Postfix {
    dir: PathBuf,
    mode: PostfixMode,
}

impl Postfix {
    /// Writes main.cf and master.cf into `dir`/etc, with the queue, data, log and
    /// Maildir under `dir` too, and lets `postfix check` create the queue.
    pub fn configure(dir: &Path, port: u16, mode: PostfixMode) -> Result<Postfix> {
        let pf = Postfix {
            dir: dir.to_owned(),
            mode,
        };
        // `postfix check` creates what is inside the queue directory, not itself.
        for d in [&pf.dir, &pf.etc(), &pf.mail(), &pf.dir.join("queue")] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            // Postfix daemons run as the postfix user, virtual(8) as nobody.
            fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
        }
        let daemon_directory = postconf_default("daemon_directory")?;
        let mut main = format!(
            "# Private instance for `cargo xtask bench smtp`.\n\
             compatibility_level = 3.6\n\
             queue_directory = {dir}/queue\n\
             data_directory = {dir}/data\n\
             daemon_directory = {daemon_directory}\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             maillog_file = {log}\n\
             maillog_file_prefixes = /var, /dev/stdout, {dir}\n\
             myhostname = postfix.bench.invalid\n\
             mydomain = bench.invalid\n\
             myorigin = $myhostname\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             mydestination =\n\
             relay_domains =\n\
             mynetworks = 127.0.0.0/8\n\
             local_recipient_maps =\n\
             alias_maps =\n\
             alias_database =\n\
             biff = no\n\
             smtpd_peername_lookup = no\n\
             smtpd_relay_restrictions = permit_mynetworks, reject\n",
            dir = pf.dir.display(),
            log = pf.log().display(),
        );
        match mode {
            PostfixMode::Hold => main.push_str(
                "smtpd_recipient_restrictions = check_recipient_access static:HOLD, \
                 permit_mynetworks, reject\n",
            ),
            PostfixMode::Maildir => {
                let id = |flag: &str| -> Result<String> {
                    let out = output(Command::new("id").args([flag, "nobody"]))?;
                    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
                };
                let (uid, gid) = (id("-u")?, id("-g")?);
                let chown = output(
                    Command::new("chown")
                        .arg(format!("{uid}:{gid}"))
                        .arg(pf.mail()),
                )?;
                if !chown.status.success() {
                    bail!("could not give {} to nobody", pf.mail().display());
                }
                writeln!(
                    main,
                    "smtpd_recipient_restrictions = permit_mynetworks, reject\n\
                     virtual_mailbox_domains = localhost\n\
                     virtual_mailbox_base = {mail}\n\
                     virtual_mailbox_maps = static:maildir/\n\
                     virtual_uid_maps = static:{uid}\n\
                     virtual_gid_maps = static:{gid}",
                    mail = pf.mail().display()
                )?;
            }
            PostfixMode::None => bail!("postfix is not to be run"),
        }
        fs::write(pf.etc().join("main.cf"), main)?;
        fs::write(pf.etc().join("master.cf"), master_cf(port))?;
        let mut check = Command::new(POSTFIX);
        check.arg("-c").arg(pf.etc()).arg("check");
        println!("$ {}", crate::shown(&check));
        let out = output(&mut check)?;
        if !out.status.success() {
            // Postfix reports to its log, not to the terminal.
            bail!(
                "`postfix check` failed ({}): {}{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail(&pf.log(), 5)
            );
        }
        Ok(pf)
    }

    /// Starts the master in the foreground; stopping the returned server stops it
    /// and, with it, every Postfix process of this instance.
    pub fn start(&self) -> Result<Server> {
        let master = Path::new(&postconf_default("daemon_directory")?).join("master");
        let mut cmd = Command::new(master);
        cmd.arg("-c").arg(self.etc()).arg("-d");
        Server::start("postfix", &mut cmd, &self.dir.join("master.log"))
    }

    fn etc(&self) -> PathBuf {
        self.dir.join("etc")
    }

    fn mail(&self) -> PathBuf {
        self.dir.join("mail")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("postfix.log")
    }

    /// Messages stored so far: queue files on hold, or files in the Maildir.
    pub fn stored(&self) -> usize {
        match self.mode {
            PostfixMode::Hold => count_files(&self.dir.join("queue").join("hold")),
            PostfixMode::Maildir => count_files(&self.mail().join("maildir").join("new")),
            PostfixMode::None => 0,
        }
    }

    /// After the load: checks that the `warmed` + `acked` messages are stored (in
    /// Maildir mode, waits for the deliveries still queued). Returns a note for the
    /// report.
    pub fn check_stored(
        &self,
        before: usize,
        warmed: usize,
        acked: usize,
        load: Duration,
    ) -> Option<String> {
        let want = before + warmed + acked;
        let started = Instant::now();
        let limit = Duration::from_secs(120);
        while self.mode == PostfixMode::Maildir && self.stored() < want && started.elapsed() < limit
        {
            thread::sleep(Duration::from_millis(20));
        }
        let have = self.stored();
        let place = match self.mode {
            PostfixMode::Maildir => "in the Maildir",
            _ => "in the hold queue",
        };
        if have < want {
            println!("{}", tail(&self.log(), 10));
            return Some(format!(
                "postfix: only {} of the {} acknowledged messages (warm-up included) are \
                 {place}",
                have - before.min(have),
                warmed + acked
            ));
        }
        match self.mode {
            PostfixMode::Maildir => {
                let drained = started.elapsed();
                let total = load + drained;
                Some(format!(
                    "postfix: the last delivery to the Maildir came {:.2} s after the last \
                     250; {} messages delivered in {:.2} s = {:.0} messages/s delivered",
                    drained.as_secs_f64(),
                    acked,
                    total.as_secs_f64(),
                    acked as f64 / total.as_secs_f64()
                ))
            }
            _ => None,
        }
    }
}

/// The installed Postfix's version.
pub fn version() -> Result<String> {
    postconf_default("mail_version")
}

/// The default of a Postfix parameter (from the installed build, not a config).
fn postconf_default(name: &str) -> Result<String> {
    let out = output(Command::new("postconf").args(["-d", "-h", name]))?;
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || value.is_empty() {
        bail!("`postconf -d -h {name}` gave nothing");
    }
    Ok(value)
}

/// The services: one smtpd on the loopback port, the internal services it and the
/// queue manager need, none chrooted (the temporary queue has no chroot files).
fn master_cf(port: u16) -> String {
    let services = [
        format!("127.0.0.1:{port} inet n - n - - smtpd"),
        "cleanup unix n - n - 0 cleanup".into(),
        "qmgr unix n - n 300 1 qmgr".into(),
        "rewrite unix - - n - - trivial-rewrite".into(),
        "bounce unix - - n - 0 bounce".into(),
        "defer unix - - n - 0 bounce".into(),
        "trace unix - - n - 0 bounce".into(),
        "verify unix - - n - 1 verify".into(),
        "flush unix n - n 1000? 0 flush".into(),
        "proxymap unix - - n - - proxymap".into(),
        "anvil unix - - n - 1 anvil".into(),
        "scache unix - - n - 1 scache".into(),
        "postlog unix-dgram n - n - 1 postlogd".into(),
        "showq unix n - n - - showq".into(),
        "error unix - - n - - error".into(),
        "retry unix - - n - - error".into(),
        "discard unix - - n - - discard".into(),
        "local unix - n n - - local".into(),
        "virtual unix - n n - - virtual".into(),
        "smtp unix - - n - - smtp".into(),
        "relay unix - - n - - smtp".into(),
    ];
    let mut text = String::from("# Private instance for `cargo xtask bench smtp`.\n");
    for s in services {
        text.push_str(&s);
        text.push('\n');
    }
    text
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}
