//! A recording TCP relay between a client and the server: every connection a client
//! makes through it is forwarded to the server and recorded byte for byte in both
//! directions. It shows what a client really sent and got, independent of the
//! client's own debug output and of the server's log level (localserve logs at
//! info, which leaves IMAP commands out): which commands, which responses, and
//! whether the bytes on the wire were compressed after COMPRESS DEFLATE (RFC 4978).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The relay: listens on a free loopback port, forwards to `127.0.0.1:target`.
pub struct Capture {
    port: u16,
    stopping: Arc<AtomicBool>,
    sessions: Arc<Mutex<Vec<Arc<Session>>>>,
}

#[derive(Default)]
struct Session {
    to_server: Mutex<Vec<u8>>,
    to_client: Mutex<Vec<u8>>,
    /// Directions that have ended (0 to 2).
    closed: AtomicUsize,
}

/// What one connection carried, as sent on the wire.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
}

/// One connection as IMAP text: inflated after a successful COMPRESS DEFLATE.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub to_server: String,
    pub to_client: String,
    /// Set when the session switched to DEFLATE.
    pub compressed: Option<Compressed>,
}

/// What followed the COMPRESS command's OK, as sent on the wire and inflated.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// The compressed bytes as sent, each direction.
    pub wire_to_server: Vec<u8>,
    pub wire_to_client: Vec<u8>,
    /// The same, inflated.
    pub plain_to_server: String,
    pub plain_to_client: String,
}

impl Capture {
    /// Starts relaying to the IMAP (or any TCP) port `target` on 127.0.0.1.
    pub fn start(target: u16) -> Capture {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the capture relay");
        let port = listener.local_addr().expect("relay address").port();
        let stopping = Arc::new(AtomicBool::new(false));
        let sessions: Arc<Mutex<Vec<Arc<Session>>>> = Arc::default();
        let (stop, all) = (stopping.clone(), sessions.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let server = match TcpStream::connect(("127.0.0.1", target)) {
                    Ok(server) => server,
                    Err(e) => {
                        eprintln!("capture relay: cannot connect to port {target}: {e}");
                        continue;
                    }
                };
                let session = Arc::new(Session::default());
                all.lock().unwrap().push(session.clone());
                relay(client, server, session);
            }
        });
        Capture {
            port,
            stopping,
            sessions,
        }
    }

    /// The port clients connect to instead of the server's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connections recorded since the last call, in the order they were
    /// accepted. Call it once the client has exited: it waits (up to 10 s) until
    /// each connection is closed both ways, so that nothing in flight is missed.
    pub fn take(&self) -> Vec<Recorded> {
        let sessions = std::mem::take(&mut *self.sessions.lock().unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && sessions.iter().any(|s| s.closed.load(Ordering::SeqCst) < 2)
        {
            thread::sleep(Duration::from_millis(10));
        }
        sessions
            .iter()
            .map(|s| Recorded {
                to_server: s.to_server.lock().unwrap().clone(),
                to_client: s.to_client.lock().unwrap().clone(),
            })
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn relay(client: TcpStream, server: TcpStream, session: Arc<Session>) {
    let pipe = |mut from: TcpStream, mut to: TcpStream, upstream: bool| {
        let session = session.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 16384];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let log = if upstream {
                    &session.to_server
                } else {
                    &session.to_client
                };
                log.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
            let _ = from.shutdown(Shutdown::Read);
            session.closed.fetch_add(1, Ordering::SeqCst);
        });
    };
    let (client2, server2) = (
        client.try_clone().expect("clone a socket"),
        server.try_clone().expect("clone a socket"),
    );
    pipe(client, server, true);
    pipe(server2, client2, false);
}

impl Recorded {
    /// The session as text. After `tag COMPRESS DEFLATE` and its `tag OK`, the rest
    /// of each direction is raw DEFLATE (RFC 4978); it is inflated with Python's
    /// zlib (not the server's implementation), and the test fails if it does not
    /// inflate.
    pub fn transcript(&self, scratch: &Path) -> Transcript {
        let Some((tag, client_split)) = compress_command(&self.to_server) else {
            return Transcript {
                to_server: String::from_utf8_lossy(&self.to_server).into_owned(),
                to_client: String::from_utf8_lossy(&self.to_client).into_owned(),
                compressed: None,
            };
        };
        let Some(server_split) = tagged_ok(&self.to_client, &tag) else {
            // COMPRESS refused: the session stayed plain.
            return Transcript {
                to_server: String::from_utf8_lossy(&self.to_server).into_owned(),
                to_client: String::from_utf8_lossy(&self.to_client).into_owned(),
                compressed: None,
            };
        };
        let (plain_up, wire_up) = self.to_server.split_at(client_split);
        let (plain_down, wire_down) = self.to_client.split_at(server_split);
        let inflated_up = inflate(wire_up, scratch, "to-server");
        let inflated_down = inflate(wire_down, scratch, "to-client");
        Transcript {
            to_server: format!("{}{inflated_up}", String::from_utf8_lossy(plain_up)),
            to_client: format!("{}{inflated_down}", String::from_utf8_lossy(plain_down)),
            compressed: Some(Compressed {
                wire_to_server: wire_up.to_vec(),
                wire_to_client: wire_down.to_vec(),
                plain_to_server: inflated_up,
                plain_to_client: inflated_down,
            }),
        }
    }
}

impl Transcript {
    /// The commands the client sent (`COMMAND ...`), without their tags and CRLF;
    /// lines of literal data and continuation responses are left out.
    pub fn commands(&self) -> Vec<&str> {
        self.to_server
            .split("\r\n")
            .filter(|l| {
                let mut words = l.split(' ');
                let tag = words.next().unwrap_or("");
                let command = words.next().unwrap_or("");
                !tag.is_empty()
                    && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
                    && !command.is_empty()
                    && command.bytes().all(|b| b.is_ascii_uppercase())
            })
            .filter_map(|l| l.split_once(' ').map(|(_, command)| command))
            .collect()
    }
}

/// The tag of a `COMPRESS DEFLATE` command and the offset just past its line.
fn compress_command(sent: &[u8]) -> Option<(String, usize)> {
    let mut offset = 0;
    for line in sent.split_inclusive(|&b| b == b'\n') {
        offset += line.len();
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_whitespace();
        if let (Some(tag), Some(cmd), Some(arg)) = (words.next(), words.next(), words.next())
            && cmd.eq_ignore_ascii_case("COMPRESS")
            && arg.eq_ignore_ascii_case("DEFLATE")
        {
            return Some((tag.to_string(), offset));
        }
    }
    None
}

/// The offset just past the line `tag OK ...`, if the server sent one.
fn tagged_ok(received: &[u8], tag: &str) -> Option<usize> {
    let prefix = format!("{tag} OK");
    let mut offset = 0;
    for line in received.split_inclusive(|&b| b == b'\n') {
        offset += line.len();
        if line.starts_with(prefix.as_bytes()) {
            return Some(offset);
        }
        if line.starts_with(format!("{tag} ").as_bytes()) {
            return None;
        }
    }
    None
}

/// Raw DEFLATE (wbits -15) inflated by Python's zlib.
fn inflate(wire: &[u8], scratch: &Path, name: &str) -> String {
    let file = scratch.join(format!("deflated-{name}-{}", std::process::id()));
    std::fs::write(&file, wire).expect("write the captured bytes");
    let out = crate::run(
        Command::new(crate::require("python3", "python3"))
            .arg("-c")
            .arg(
                "import sys, zlib\n\
                 d = zlib.decompressobj(-15)\n\
                 sys.stdout.buffer.write(d.decompress(open(sys.argv[1], 'rb').read()))\n",
            )
            .arg(&file),
        Duration::from_secs(30),
    );
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "the {} bytes after COMPRESS DEFLATE ({name}) are not raw DEFLATE:\n{out}",
        wire.len()
    );
    out.stdout
}
