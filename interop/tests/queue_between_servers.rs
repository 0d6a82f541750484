//! Two `gannet serve` instances deliver to each other through their queues, as
//! two hosts of the Internet would: a.example on 127.0.0.2 and b.example on
//! 127.0.0.3, both on port 25, with MX records from a static zone. They run in a
//! network namespace of their own (the test thread enters it), so port 25 and
//! those addresses are theirs whatever the machine runs.
//!
//! What is checked: delivery by MX, a temporary failure (b.example down) retried
//! until it succeeds, a permanent failure (an unknown user at b.example) coming
//! back to the sender's Inbox as a DSN and onto the suppression list, and a reply
//! the other way.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use interop::server::gannet_binary;
use interop::store::{StoredMessage, read_maildir_tree};
use interop::{TempDir, require};

const PASSWORD: &str = "two servers, one test";

const ZONE: &str = "$ORIGIN example.\n\
    a     MX 10 mx.a.example.\n\
    mx.a  A  127.0.0.2\n\
    b     MX 10 mx.b.example.\n\
    mx.b  A  127.0.0.3\n";

/// Moves the calling thread, and so the processes and sockets it makes, into a
/// new network namespace with its loopback up.
fn enter_network_namespace() {
    // SAFETY: unshare changes only this thread's namespace; no memory is involved.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET) needs root (CAP_SYS_ADMIN): {}",
        std::io::Error::last_os_error()
    );
    let ip = require("ip", "iproute2");
    let up = Command::new(ip)
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(up.success(), "ip link set lo up");
}

/// One server's configuration directory.
struct Host {
    dir: PathBuf,
    ip: &'static str,
}

impl Host {
    /// Writes the configuration of `domain` with `account`, served on `ip`.
    fn new(root: &Path, domain: &str, account: &str, ip: &'static str) -> Host {
        let dir = root.join(domain);
        std::fs::create_dir_all(&dir).unwrap();
        let gannet = format!(
            "hostname = \"mx.{domain}\"\n\
             data_dir = \"data\"\n\
             [queue]\n\
             first_retry_seconds = 1\n\
             [listeners.main]\n\
             ips = [\"{ip}\"]\n\
             allow_plaintext_auth = true\n\
             [listeners.main.smtp]\n\
             [listeners.main.submission]\n"
        );
        let domains = format!(
            "[domains.\"{domain}\"]\n\
             [accounts.{account}]\n\
             domain = \"{domain}\"\n\
             destinations = [\"{account}\"]\n"
        );
        std::fs::write(dir.join("gannet.toml"), gannet).unwrap();
        std::fs::write(dir.join("domains.toml"), domains).unwrap();
        std::fs::write(root.join("zone"), ZONE).unwrap();
        let host = Host { dir, ip };
        let mut set = host.gannet(&["setaccountpassword", account]);
        let mut child = set.stdin(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(child.wait().unwrap().success(), "setaccountpassword");
        host
    }

    fn gannet(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gannet_binary());
        cmd.arg("-c")
            .arg(self.dir.join("gannet.toml"))
            .arg("--dns-zone")
            .arg(self.dir.parent().unwrap().join("zone"))
            .args(args)
            .env_remove("GANNET_CONFIG");
        cmd
    }

    /// Starts `gannet serve`, once port 25 answers.
    fn serve(&self) -> Server {
        let log = std::fs::File::create(self.dir.join("serve.log")).unwrap();
        let child = self
            .gannet(&["serve"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Server { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((self.ip, 25)).is_err() {
            assert!(Instant::now() < deadline, "{} did not start", self.ip);
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Submits a message from `from` (logging in as it) to `to`.
    fn submit(&self, from: &str, to: &str, subject: &str) {
        let script = format!(
            "import smtplib\n\
             s = smtplib.SMTP('{ip}', 587)\n\
             s.login('{from}', '{PASSWORD}')\n\
             s.sendmail('{from}', ['{to}'], 'From: {from}\\r\\nTo: {to}\\r\\n'\n\
                 'Subject: {subject}\\r\\n\\r\\nbetween servers\\r\\n')\n\
             s.quit()\n",
            ip = self.ip,
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
    fn queue(&self, args: &[&str]) -> String {
        let out = self.gannet(&[&["queue"], args].concat()).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// Waits until `account` holds a message with `subject`; all it holds.
    fn wait_for(&self, account: &str, subject: &str) -> Vec<StoredMessage> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut n = 0;
        loop {
            n += 1;
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
    }
}

/// A running server, stopped with SIGTERM however the test ends.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill sends a signal to our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

#[test]
fn two_servers_deliver_to_each_other_by_mx_with_retries_and_dsns() {
    enter_network_namespace();
    let root = TempDir::new("queue-between-servers");
    let a = Host::new(root.path(), "a.example", "alice", "127.0.0.2");
    let b = Host::new(root.path(), "b.example", "bob", "127.0.0.3");

    // b.example is down: the first attempt fails and is retried.
    let a_server = a.serve();
    a.submit("alice@a.example", "bob@b.example", "while b was down");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !a.queue(&["list"]).contains("last: temporary failure") {
        assert!(Instant::now() < deadline, "{}", a.queue(&["list"]));
        std::thread::sleep(Duration::from_millis(100));
    }
    let b_server = b.serve();
    let bobs = b.wait_for("bob", "while b was down");
    let got = bobs
        .iter()
        .find(|m| m.subject() == "while b was down")
        .unwrap();
    assert!(
        got.content.contains("Return-Path: <alice@a.example>"),
        "{}",
        got.content
    );
    assert!(
        got.content.contains("Received: from mx.a.example (")
            && got.content.contains("by mx.b.example with ESMTP"),
        "{}",
        got.content
    );
    let retired = a.queue(&["list", "--retired"]);
    assert!(
        retired.contains("bob@b.example  from <alice@a.example>  account alice  delivered"),
        "{retired}"
    );
    assert!(retired.contains("after 2 attempts"), "{retired}");

    // An unknown user: b.example refuses, the DSN comes back to alice, and the
    // address goes on her suppression list.
    a.submit("alice@a.example", "nobody@b.example", "to nobody");
    let alices = a.wait_for("alice", "Delivery failed: nobody@b.example");
    let dsn = alices
        .iter()
        .find(|m| m.subject() == "Delivery failed: nobody@b.example")
        .unwrap();
    for expected in [
        "Final-Recipient: rfc822; nobody@b.example",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.b.example",
        "550 5.1.1",
    ] {
        assert!(
            dsn.content.contains(expected),
            "{expected:?}: {}",
            dsn.content
        );
    }
    let suppressed = a.queue(&["suppress", "list"]);
    assert!(
        suppressed.starts_with("alice  nobody@b.example  automatic"),
        "{suppressed}"
    );

    // And back: bob replies through his own server.
    b.submit("bob@b.example", "alice@a.example", "the reply");
    a.wait_for("alice", "the reply");
    drop((a_server, b_server));
}
