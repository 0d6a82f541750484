//! A private Dovecot instance for the IMAP benchmark: its own config, runtime
//! directory, state, log and Maildirs in a temporary directory, one IMAP listener
//! on a loopback port, run in the foreground by its master and stopped with it.
//! The system's Dovecot (/etc/dovecot, /run/dovecot, port 143) is not touched.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::bench_smtp::Server;
use crate::bench_support::{apt_install, output};

/// Whether the benchmark runs Dovecot beside gannet.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DovecotMode {
    /// Install it with apt if missing and measure it in the same run.
    Run,
    /// Measure gannet alone.
    None,
}

const DOVECOT: &str = "/usr/sbin/dovecot";
/// The IMAP server binary that dovecot-imapd adds to dovecot-core.
const IMAP: &str = "/usr/lib/dovecot/imap";
/// The system user that owns the Maildirs and runs the imap processes.
const MAIL_USER: &str = "nobody";

/// Installs dovecot-imapd with apt unless it is there; fails saying why it cannot.
pub fn ensure_installed() -> Result<()> {
    apt_install("dovecot-imapd", Path::new(IMAP))
}

/// The installed Dovecot's version.
pub fn version() -> Result<String> {
    let out = output(Command::new(DOVECOT).arg("--version"))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || version.is_empty() {
        bail!("`dovecot --version` gave nothing");
    }
    Ok(version)
}

/// A configured private instance.
pub struct Dovecot {
    dir: PathBuf,
}

impl Dovecot {
    /// Writes dovecot.conf into `dir`, with everything the instance writes under
    /// `dir` too. `connections` is how many IMAP connections it must hold at once.
    pub fn configure(dir: &Path, port: u16, password: &str, connections: usize) -> Result<Dovecot> {
        let dc = Dovecot {
            dir: dir.to_owned(),
        };
        for d in [&dc.dir, &dc.base(), &dc.state(), &dc.mail()] {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            // The login processes run as dovenull, the imap processes as nobody.
            fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
        }
        let group = output(Command::new("id").args(["-gn", MAIL_USER]))?;
        let group = String::from_utf8_lossy(&group.stdout).trim().to_string();
        if group.is_empty() {
            bail!("the user {MAIL_USER} has no group");
        }
        let chown = output(
            Command::new("chown")
                .arg(format!("{MAIL_USER}:{group}"))
                .arg(dc.mail()),
        )?;
        if !chown.status.success() {
            bail!("could not give {} to {MAIL_USER}", dc.mail().display());
        }
        // Headroom over the benchmark's own connections for the ones still
        // closing from the previous phase.
        let limit = connections + 100;
        let conf = format!(
            "# Private instance for `cargo xtask bench imap`.\n\
             protocols = imap\n\
             listen = 127.0.0.1\n\
             ssl = no\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login cram-md5\n\
             base_dir = {base}\n\
             state_dir = {state}\n\
             log_path = {log}\n\
             info_log_path = {log}\n\
             mail_location = maildir:{mail}/%u\n\
             mail_uid = {MAIL_USER}\n\
             mail_gid = {group}\n\
             mail_max_userip_connections = {limit}\n\
             default_process_limit = {limit}\n\
             default_client_limit = {clients}\n\
             passdb {{\n\
             \x20 driver = static\n\
             \x20 args = password={password}\n\
             }}\n\
             userdb {{\n\
             \x20 driver = static\n\
             \x20 args = uid={MAIL_USER} gid={group} home={mail}/%u\n\
             }}\n\
             # The defaults otherwise: one login process per connection that hands\n\
             # it over to one imap process per connection.\n\
             service imap-login {{\n\
             \x20 process_limit = {limit}\n\
             \x20 client_limit = {limit}\n\
             \x20 inet_listener imap {{\n\
             \x20   address = 127.0.0.1\n\
             \x20   port = {port}\n\
             \x20 }}\n\
             \x20 inet_listener imaps {{\n\
             \x20   port = 0\n\
             \x20 }}\n\
             }}\n\
             service imap {{\n\
             \x20 process_limit = {limit}\n\
             }}\n",
            base = dc.base().display(),
            state = dc.state().display(),
            log = dc.log().display(),
            mail = dc.mail().display(),
            // auth and anvil take a connection from every login and imap process.
            clients = 4 * limit,
        );
        fs::write(dc.conf(), conf)?;
        Ok(dc)
    }

    /// Starts the master in the foreground; stopping the returned server stops it
    /// and, with it, every Dovecot process of this instance.
    pub fn start(&self) -> Result<Server> {
        let mut cmd = Command::new(DOVECOT);
        cmd.arg("-F").arg("-c").arg(self.conf());
        Server::start("dovecot", &mut cmd, &self.dir.join("master.log"))
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    fn base(&self) -> PathBuf {
        self.dir.join("run")
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn mail(&self) -> PathBuf {
        self.dir.join("mail")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }
}
