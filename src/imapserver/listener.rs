//! The IMAP listener: accepts connections and moves bytes between the socket (plain,
//! after STARTTLS, or TLS from the first byte) and a [`Session`]. Session steps run
//! on the blocking pool, as they use the store (SQLite, files). While a session
//! idles, the listener also waits on the account's change feed and lets the session
//! push what changed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

use super::session::{Action, Services, Session, Settings};
use crate::connection::{self, Tls, tls_accept, write};
use crate::connlimit::ConnectionLimiter;
use crate::store::ChangeSet;

/// Reads while bytes stream in (an APPEND) take up to this much at a time.
const READ_BUFFER: usize = 64 * 1024;
/// A connection that waits for its next command holds only this much: with
/// thousands of idle clients the read buffers would be most of their memory.
const IDLE_READ_BUFFER: usize = 1024;
/// RFC 9051 5.4: a logged-in client may stay silent for 30 minutes (IDLE clients
/// renew their IDLE within that).
const AUTOLOGOUT: Duration = Duration::from_secs(30 * 60);

/// What every connection of a listener shares.
pub struct Shared {
    pub settings: Settings,
    pub tls: Tls,
    pub services: Services,
    pub limiter: Arc<ConnectionLimiter>,
    /// How long a client that has not logged in may stay silent, and how long any
    /// client may take to read what is sent.
    pub command_timeout: Duration,
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let limiter = Arc::clone(&shared.limiter);
    let refusal = |why: &str| format!("* BYE {why}\r\n");
    connection::accept_loop(listener, limiter, "imap", refusal, move |stream, peer| {
        let shared = Arc::clone(&shared);
        async move { connection(stream, peer, &shared).await }
    })
    .await
}

/// Runs a session over the connection, with TLS as the listener says.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    match &shared.tls {
        Tls::Implicit(config) => {
            let (tls, info) = tls_accept(stream, config).await?;
            let session = new_session(shared, peer, false, Some(info)).await?;
            start(tls, session, shared).await
        }
        Tls::StartTls(config) => {
            let mut stream = stream;
            let session = new_session(shared, peer, true, None).await?;
            let Some(session) = greet_and_run(&mut stream, session, shared.command_timeout).await?
            else {
                return Ok(());
            };
            let (mut tls, info) = tls_accept(stream, config).await?;
            let (session, ()) = blocking(session, move |s| s.tls_started(info)).await?;
            run(&mut tls, session, shared.command_timeout)
                .await
                .map(drop)
        }
        Tls::None => {
            let session = new_session(shared, peer, false, None).await?;
            start(stream, session, shared).await
        }
    }
}

/// A session for a new connection. Made on the blocking pool: a TLS client key is
/// looked up in the authentication database.
async fn new_session(
    shared: &Arc<Shared>,
    peer: SocketAddr,
    starttls: bool,
    tls: Option<crate::tls::ConnectionInfo>,
) -> std::io::Result<Session> {
    let mut settings = shared.settings.clone();
    settings.starttls = starttls;
    let services = shared.services.clone();
    tokio::task::spawn_blocking(move || Session::new(settings, services, peer.ip(), tls))
        .await
        .map_err(|e| std::io::Error::other(format!("starting the session failed: {e}")))
}

/// Greets and serves a connection that will not change to TLS.
async fn start<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    session: Session,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    greet_and_run(&mut stream, session, shared.command_timeout)
        .await
        .map(drop)
}

/// Greets and serves any byte stream: a connection, or stdin and stdout (see
/// [`super::stdio`]). `command_timeout` is [`Shared::command_timeout`].
pub(super) async fn greet_and_run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    session: Session,
    command_timeout: Duration,
) -> std::io::Result<Option<Session>> {
    // The greeting may log in by client certificate, which reads the auth database.
    let (session, greeting) = blocking(session, |s| s.greeting()).await?;
    write(stream, &greeting, command_timeout).await?;
    run(stream, session, command_timeout).await
}

type Feed = broadcast::Receiver<Arc<ChangeSet>>;

/// A new login's epoch and its account's feed (none after UNAUTHENTICATE).
type Watch = (u32, Option<Feed>);

/// Moves bytes until the session ends; returns the session when it asks for
/// STARTTLS (the caller does the handshake on the plain stream).
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    mut session: Session,
    command_timeout: Duration,
) -> std::io::Result<Option<Session>> {
    let mut buf = Vec::new();
    let mut streaming = false;
    let mut wake: Option<Feed> = None;
    // The login `wake` follows (see [`Session::login_epoch`]).
    let mut wake_epoch = 0;
    let mut action = Action::Continue;
    // Changes between the session's last look at the feed and the listener's
    // subscription to it would wake no one: an idling session looks once more.
    let mut look_again = false;
    let (sink, mut progress) = mpsc::unbounded_channel();
    session.set_progress_sink(sink);
    loop {
        let timeout = match wake.is_some() {
            true => AUTOLOGOUT,
            false => command_timeout,
        };
        let size = if streaming {
            READ_BUFFER
        } else {
            IDLE_READ_BUFFER
        };
        if buf.len() != size {
            buf = vec![0u8; size];
        }
        let event = match action {
            Action::More => Event::More,
            Action::Idle if std::mem::take(&mut look_again) => Event::Changed,
            _ => tokio::select! {
                read = tokio::time::timeout(timeout, stream.read(&mut buf)) => Event::Read(read),
                () = changed(&mut wake), if action == Action::Idle => Event::Changed,
            },
        };
        let epoch = wake_epoch;
        let (out, next, subscribed) = match event {
            Event::Read(Err(_)) => {
                tracing::info!(
                    seconds = timeout.as_secs(),
                    "client silent too long; closing"
                );
                let (_, bye) = blocking(session, Session::timed_out).await?;
                write(stream, &bye, command_timeout).await?;
                return Ok(None);
            }
            Event::Read(Ok(read)) => {
                let n = read?;
                if n == 0 {
                    return Ok(None);
                }
                // A full buffer means more is probably waiting: read in bigger
                // pieces until a read comes back short.
                streaming = n == buf.len();
                let input = buf[..n].to_vec();
                let job = blocking(session, move |s| step(s, epoch, |s| s.feed(&input)));
                let result;
                (session, result) = sending(stream, job, &mut progress, command_timeout).await?;
                result
            }
            Event::More => {
                let job = blocking(session, move |s| step(s, epoch, |s| s.feed(&[])));
                let result;
                (session, result) = sending(stream, job, &mut progress, command_timeout).await?;
                result
            }
            Event::Changed => {
                let job = blocking(session, move |s| step(s, epoch, Session::changes_arrived));
                let result;
                (session, result) = sending(stream, job, &mut progress, command_timeout).await?;
                result
            }
        };
        if let Some((epoch, feed)) = subscribed {
            (wake_epoch, wake) = (epoch, feed);
            look_again = true;
        }
        let delay = session.take_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        write(stream, &out, command_timeout).await?;
        match next {
            Action::Close => return Ok(None),
            Action::StartTls => return Ok(Some(session)),
            _ => action = next,
        }
    }
}

enum Event {
    Read(Result<std::io::Result<usize>, tokio::time::error::Elapsed>),
    /// The session has commands waiting (after [`Action::More`]).
    More,
    Changed,
}

/// Runs `f` on the session; when its login changed since `epoch` (a login, or
/// UNAUTHENTICATE), also the new login's epoch and its account's feed. Subscribing
/// takes the account's lock: so here, on the blocking pool.
fn step(
    session: &mut Session,
    epoch: u32,
    f: impl FnOnce(&mut Session) -> (Vec<u8>, Action),
) -> (Vec<u8>, Action, Option<Watch>) {
    let (out, action) = f(session);
    let now = session.login_epoch();
    let feed = (now != epoch).then(|| (now, session.subscribe()));
    (out, action, feed)
}

/// Waits for news on the account's feed, then takes all that is there (the
/// session reads the changes from its own subscription).
async fn changed(wake: &mut Option<broadcast::Receiver<Arc<ChangeSet>>>) {
    let Some(rx) = wake else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
        Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
    }
    while !matches!(
        rx.try_recv(),
        Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
    ) {}
}

/// Waits for a session step, writing what the session sends while it runs (INPROGRESS
/// responses of a long search) as it comes, and the rest of it before the step's
/// output.
async fn sending<S: AsyncWrite + Unpin, T>(
    stream: &mut S,
    job: impl std::future::Future<Output = std::io::Result<(Session, T)>>,
    progress: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    timeout: Duration,
) -> std::io::Result<(Session, T)> {
    let mut job = std::pin::pin!(job);
    loop {
        tokio::select! {
            biased;
            done = &mut job => {
                while let Ok(bytes) = progress.try_recv() {
                    write(stream, &bytes, timeout).await?;
                }
                return done;
            }
            Some(bytes) = progress.recv() => write(stream, &bytes, timeout).await?,
        }
    }
}

/// Runs `step` on the session on the blocking pool. A panic in the step ends only
/// this connection, with an error that is logged.
async fn blocking<T: Send + 'static>(
    mut session: Session,
    step: impl FnOnce(&mut Session) -> T + Send + 'static,
) -> std::io::Result<(Session, T)> {
    tokio::task::spawn_blocking(move || {
        let result = step(&mut session);
        (session, result)
    })
    .await
    .map_err(|e| std::io::Error::other(format!("the session failed: {e}")))
}
