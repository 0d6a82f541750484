//! Starts `gannet localserve` in a temporary directory for `conformance imaptest
//! --gannet PATH`, and stops it again.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The standard ports localserve adds its offset to.
const LOCALSERVE_PORTS: [u16; 6] = [25, 587, 465, 143, 993, 80];
/// localserve's account.
pub const GANNET_USER: &str = "gannet@localhost";
pub const GANNET_PASSWORD: &str = "gannetgannet";

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether every port in `ports` can be bound on loopback right now.
pub fn ports_free(ports: &[u16]) -> bool {
    ports
        .iter()
        .all(|&p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok())
}

/// Waits until `addr` accepts connections; false when `within` passes first.
/// `alive` is asked between tries so a server that exited is not waited for.
pub fn wait_for_port(addr: SocketAddr, within: Duration, mut alive: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        if !alive() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Sends SIGTERM (through kill(1), keeping the crate free of libc), waits up
/// to `grace`, then kills.
pub fn terminate(child: &mut Child, grace: Duration) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let end = Instant::now() + grace;
    while Instant::now() < end {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A running `gannet localserve`; stopped with SIGTERM when dropped.
pub struct Gannet {
    child: Child,
    pub imap: SocketAddr,
    dir: TempDir,
}

impl Gannet {
    /// Starts `binary localserve --dir TEMP --port-offset N` with a free offset
    /// near 20000 + pid % 1000, and waits up to `within` for its IMAP port.
    pub fn start(binary: &Path, within: Duration) -> Result<Gannet, String> {
        let dir =
            TempDir::new("gannet-imaptest").map_err(|e| format!("temporary directory: {e}"))?;
        let base = 20000 + (std::process::id() % 1000) as u16;
        let offset = (0..100u16)
            .map(|k| base + k * 7)
            .find(|&off| ports_free(&LOCALSERVE_PORTS.map(|p| p + off)))
            .ok_or("no free port offset for localserve")?;
        let log = |name: &str| {
            std::fs::File::create(dir.path().join(name))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null())
        };
        let child = Command::new(binary)
            .arg("localserve")
            .arg("--dir")
            .arg(dir.path().join("localserve"))
            .arg("--port-offset")
            .arg(offset.to_string())
            .stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"))
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut gannet = Gannet {
            child,
            imap: SocketAddr::from((Ipv4Addr::LOCALHOST, 143 + offset)),
            dir,
        };
        let child = &mut gannet.child;
        let up = wait_for_port(gannet.imap, within, || matches!(child.try_wait(), Ok(None)));
        if !up {
            let status = match gannet.child.try_wait() {
                Ok(Some(s)) => format!("it exited with {s}"),
                _ => format!("the port did not open within {} s", within.as_secs()),
            };
            return Err(format!(
                "gannet localserve's IMAP port {} is not available: {status}\n{}",
                gannet.imap,
                gannet.output()
            ));
        }
        Ok(gannet)
    }

    /// The server's output so far, for error messages.
    pub fn output(&self) -> String {
        let mut out = String::new();
        for name in ["stdout.log", "stderr.log"] {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Gannet {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(10));
    }
}

/// A Dovecot 2.3 in a temporary directory (see PEERS.md), for checking the
/// runner against the server imaptest was written for; stopped when dropped.
/// Every user logs in with the password `pass`.
pub struct Dovecot {
    child: Child,
    pub imap: SocketAddr,
    dir: TempDir,
}

impl Dovecot {
    pub const PASSWORD: &str = "pass";

    /// Starts `binary -F -c CONF` on a free loopback port and waits up to
    /// `within` for it. Must run as root (Dovecot drops to `nobody` for mail).
    pub fn start(binary: &Path, within: Duration) -> Result<Dovecot, String> {
        let dir =
            TempDir::new("dovecot-imaptest").map_err(|e| format!("temporary directory: {e}"))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let d = dir.path().display();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.path().join(sub)).map_err(|e| e.to_string())?;
        }
        // The mail processes run as nobody and create the users' folders.
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: PathBuf, mode| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        mode(dir.path().to_path_buf(), 0o755)?;
        mode(dir.path().join("mail"), 0o777)?;
        let conf = format!(
            "listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
mail_location = maildir:{d}/mail/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
mail_max_userip_connections = 1000
# URLAUTH for the urlauth scripts: their URLs name the server as the test
# user's domain, which is the address for users without one; the keys live
# in mailbox attributes, so those need a dictionary.
imap_urlauth_host = 127.0.0.1
mail_attribute_dict = file:%h/dovecot-attributes
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
",
            password = Self::PASSWORD
        );
        let conf_path = dir.path().join("dovecot.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.path().join("stderr.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut dovecot = Dovecot {
            child,
            imap: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            dir,
        };
        let child = &mut dovecot.child;
        if !wait_for_port(dovecot.imap, within, || {
            matches!(child.try_wait(), Ok(None))
        }) {
            let log = |name: &str| {
                std::fs::read_to_string(dovecot.dir.path().join(name)).unwrap_or_default()
            };
            return Err(format!(
                "dovecot did not listen on {}:\n{}{}",
                dovecot.imap,
                log("stderr.log"),
                log("dovecot.log")
            ));
        }
        Ok(dovecot)
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(10));
    }
}
