//! IMAP on stdin and stdout, for `gannet admin imapserve`: one session, logged in
//! from the start, for a local client that runs a command instead of connecting
//! (mutt's `tunnel`, mbsync's `Tunnel`). The bytes move as on a connection: the
//! listener's loop runs over stdin and stdout joined into one stream, with the same
//! timeouts.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, Join};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::listener;
use super::session::{Services, Session, Settings};
use crate::config::Config;
use crate::imap::Limits;
use crate::server::{Core, ServeError};

/// Bytes held between the session and the threads that read stdin and write
/// stdout: as much as the listener reads at a time while a message streams in.
const PIPE: usize = 64 * 1024;

/// Why the session could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// What `gannet serve` would fail on too.
    #[error(transparent)]
    Setup(#[from] ServeError),
    /// An unknown login name, or an account that cannot be opened.
    #[error("{0}")]
    Login(String),
}

/// A session for stdin and stdout, logged in and ready to greet.
pub struct StdioSession {
    session: Session,
    command_timeout: Duration,
}

impl StdioSession {
    /// Opens the account of `login` (one of its addresses, or its name: what IMAP
    /// LOGIN takes) in the data directory of `config`, as `gannet serve` would.
    pub fn open(config: &Config, login: &str) -> Result<StdioSession, StdioError> {
        let sc = &config.static_config;
        let core = Core::new(config)?;
        let settings = Settings {
            hostname: core.hostname.ascii().to_string(),
            // There is no TLS to start on a pipe, and the session is logged in
            // already: no login is offered after UNAUTHENTICATE either.
            starttls: false,
            plaintext_auth: false,
            limits: Limits::new(core.spool_dir, sc.limits.max_message_size),
            max_errors: sc.limits.max_errors,
            progress: super::Progress::default(),
        };
        let services = Services {
            store: core.store,
            authenticator: core.authenticator,
            recent: Arc::default(),
        };
        let session =
            Session::preauthenticated(settings, services, login).map_err(StdioError::Login)?;
        Ok(StdioSession {
            session,
            command_timeout: Duration::from_secs(sc.limits.command_timeout.into()),
        })
    }

    /// Greets with PREAUTH and serves until LOGOUT, the end of stdin, the client
    /// closing stdout, or the autologout. Call on a tokio runtime. Its thread that
    /// reads stdin may still wait for input when this returns: shut the runtime
    /// down without waiting for it (`Runtime::shutdown_background`).
    pub async fn serve(self) -> io::Result<()> {
        let (mut stream, stdout) = stdio();
        let served = listener::greet_and_run(&mut stream, self.session, self.command_timeout).await;
        if let Err(e) = served {
            return client_gone_is_fine(e);
        }
        // Dropping the stream ends the stdout thread once it has written what is
        // left: the last response (LOGOUT's) must be out before the process exits.
        drop(stream);
        match tokio::time::timeout(self.command_timeout, stdout).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => client_gone_is_fine(e),
            Ok(Err(e)) => Err(io::Error::other(format!("writing stdout failed: {e}"))),
            Err(_) => Err(io::Error::new(
                ErrorKind::TimedOut,
                "the client did not read the last responses",
            )),
        }
    }
}

/// A client that closes stdout (or its end of a socket) has gone away, as a client
/// that closes its connection has: the session is over, nothing failed.
fn client_gone_is_fine(e: io::Error) -> io::Result<()> {
    match e.kind() {
        ErrorKind::BrokenPipe => {
            tracing::debug!("the client closed stdout");
            Ok(())
        }
        _ => Err(e),
    }
}

/// stdin and stdout as one stream for the listener's loop, and the thread that
/// writes stdout. Reading stdin and writing stdout block, so each has a thread of
/// the blocking pool that moves its bytes through an in-memory pipe, as tokio's own
/// stdin and stdout do (this crate builds tokio without them). Each pipe closes when
/// either end is dropped: end of input reaches the session, and a client that stops
/// reading fails the session's next write.
fn stdio() -> (Join<DuplexStream, DuplexStream>, JoinHandle<io::Result<()>>) {
    let (input, stdin_end) = tokio::io::duplex(PIPE);
    let (output, stdout_end) = tokio::io::duplex(PIPE);
    let handle = Handle::current();
    let stdin_handle = handle.clone();
    tokio::task::spawn_blocking(move || copy_stdin(&stdin_handle, stdin_end));
    let stdout = tokio::task::spawn_blocking(move || copy_stdout(&handle, stdout_end));
    (tokio::io::join(input, output), stdout)
}

/// Moves stdin to the session until the input ends or the session does.
fn copy_stdin(handle: &Handle, mut to: DuplexStream) {
    let mut buf = vec![0u8; PIPE];
    let mut stdin = io::stdin().lock();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::info!(error = %e, "reading stdin failed; ending the session");
                return;
            }
        };
        if handle.block_on(to.write_all(&buf[..n])).is_err() {
            return;
        }
    }
}

/// Moves the session's output to stdout, flushed as it comes, until the session
/// drops its end and all is written, or stdout fails.
fn copy_stdout(handle: &Handle, mut from: DuplexStream) -> io::Result<()> {
    let mut buf = vec![0u8; PIPE];
    let mut stdout = io::stdout().lock();
    loop {
        let n = handle.block_on(from.read(&mut buf))?;
        if n == 0 {
            return Ok(());
        }
        stdout.write_all(&buf[..n])?;
        stdout.flush()?;
    }
}
