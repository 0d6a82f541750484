//! `gannet serve` with a configuration the test writes: one domain and account
//! on an IP and ports of the test's choosing, DNS from a zone file, and the
//! outgoing queue managed with `gannet queue`. For tests where gannet is a host
//! of the Internet rather than localserve: two servers delivering to each other,
//! or the queue delivering to a peer MTA.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::require;
use crate::server::gannet_binary;
use crate::store::{StoredMessage, read_maildir_tree};

pub const PASSWORD: &str = "a password for the test";

/// One server's configuration directory and where it listens.
pub struct Host {
    dir: PathBuf,
    pub ip: &'static str,
    pub smtp_port: u16,
    pub submission_port: u16,
}

impl Host {
    /// Writes the configuration of `domain` with `account` (password
    /// [`PASSWORD`]) into `root/domain`, served on `ip`, with `extra` appended
    /// to gannet.toml and DNS answered from `zone`.
    pub fn new(
        root: &Path,
        (domain, account): (&str, &str),
        (ip, smtp_port, submission_port): (&'static str, u16, u16),
        extra: &str,
        zone: &str,
    ) -> Host {
        let dir = root.join(domain);
        std::fs::create_dir_all(&dir).unwrap();
        let gannet = format!(
            "hostname = \"mx.{domain}\"\n\
             data_dir = \"data\"\n\
             {extra}\n\
             [listeners.main]\n\
             ips = [\"{ip}\"]\n\
             allow_plaintext_auth = true\n\
             [listeners.main.smtp]\n\
             port = {smtp_port}\n\
             [listeners.main.submission]\n\
             port = {submission_port}\n"
        );
        let domains = format!(
            "[domains.\"{domain}\"]\n\
             [accounts.{account}]\n\
             domain = \"{domain}\"\n\
             destinations = [\"{account}\"]\n"
        );
        std::fs::write(dir.join("gannet.toml"), gannet).unwrap();
        std::fs::write(dir.join("domains.toml"), domains).unwrap();
        std::fs::write(dir.join("zone"), zone).unwrap();
        let host = Host {
            dir,
            ip,
            smtp_port,
            submission_port,
        };
        let mut set = host.gannet(&["setaccountpassword", account]);
        let mut child = set.stdin(Stdio::piped()).spawn().unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(child.wait().unwrap().success(), "setaccountpassword");
        host
    }

    /// `gannet -c gannet.toml --dns-zone zone ARGS`.
    pub fn gannet(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gannet_binary());
        cmd.arg("-c")
            .arg(self.dir.join("gannet.toml"))
            .arg("--dns-zone")
            .arg(self.dir.join("zone"))
            .args(args)
            .env_remove("GANNET_CONFIG");
        cmd
    }

    /// Starts `gannet serve`, once its SMTP port answers; its log goes to
    /// serve.log beside the configuration.
    pub fn serve(&self) -> Server {
        let log = std::fs::File::create(self.dir.join("serve.log")).unwrap();
        let child = self
            .gannet(&["serve"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Server { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((self.ip, self.smtp_port)).is_err() {
            assert!(Instant::now() < deadline, "{} did not start", self.ip);
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Submits a message from `from` (logging in as it) to `to`.
    pub fn submit(&self, from: &str, to: &str, subject: &str) {
        let script = format!(
            "import smtplib\n\
             s = smtplib.SMTP('{ip}', {port})\n\
             s.login('{from}', '{PASSWORD}')\n\
             s.sendmail('{from}', ['{to}'], 'From: {from}\\r\\nTo: {to}\\r\\n'\n\
                 'Subject: {subject}\\r\\n\\r\\nthrough the queue\\r\\n')\n\
             s.quit()\n",
            ip = self.ip,
            port = self.submission_port,
        );
        let out = Command::new(require("python3", "python3"))
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `gannet queue ARGS` against the running server: its output.
    pub fn queue(&self, args: &[&str]) -> String {
        let out = self.gannet(&[&["queue"], args].concat()).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Waits (up to 30 s) until `gannet queue ARGS` prints something `done`
    /// accepts, and returns it.
    pub fn wait_for_queue(&self, args: &[&str], done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = self.queue(args);
            if done(&listed) {
                return listed;
            }
            assert!(Instant::now() < deadline, "queue {args:?}: {listed}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 30 s) until `account` holds a message with `subject`;
    /// returns all it holds.
    pub fn wait_for(&self, account: &str, subject: &str) -> Vec<StoredMessage> {
        let deadline = Instant::now() + Duration::from_secs(30);
        for n in 0.. {
            let target = self.dir.join(format!("export-{n}"));
            let out = self
                .gannet(&["export", "maildir", account])
                .arg(&target)
                .output()
                .unwrap();
            let stored = match out.status.success() {
                true => read_maildir_tree(&target),
                false => Vec::new(),
            };
            if stored.iter().any(|m| m.subject() == subject) {
                return stored;
            }
            assert!(
                Instant::now() < deadline,
                "no {subject:?} for {account}; queue: {}",
                self.queue(&["list"])
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        unreachable!("the loop returns or panics")
    }
}

/// A running server, stopped with SIGTERM however the test ends.
pub struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill sends a signal to our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
