//! The SMTP listener: accepts connections and moves bytes between the socket (plain,
//! after STARTTLS, or TLS from the first byte) and a [`Session`]. Session steps run
//! on the blocking pool because delivery and authentication use the store
//! (synchronous SQLite and fsync). A panic while handling one connection closes that
//! connection and is logged; the server goes on.
//!
//! Every read and every write has a timeout (the command timeout, or the data
//! timeout while a message is coming), so a client that stops sending, or stops
//! reading its replies, cannot hold a connection (and its place in the
//! [`ConnectionLimiter`]) for ever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use super::delivery::LocalDelivery;
use super::session::{Action, Session, Settings};
use crate::auth::Authenticator;
use crate::connection::{self, Tls, write};
use crate::connlimit::ConnectionLimiter;
use crate::dkim::SigningKeys;
use crate::dns::Resolver;
use crate::localserve::Policy;
use crate::localserve::failures::MAX_SILENCE;
use crate::queue::Queue;
use crate::recipients::Recipients;
use crate::store::Store;

const READ_BUFFER: usize = 64 * 1024;

/// What every connection of a listener shares.
pub struct Shared {
    pub settings: Settings,
    pub tls: Tls,
    pub recipients: Recipients,
    pub store: Arc<Store>,
    pub authenticator: Option<Arc<Authenticator>>,
    pub limiter: Arc<ConnectionLimiter>,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    /// Under `gannet localserve`: its mail policy.
    pub local: Option<Arc<Policy>>,
    /// For message authentication of incoming mail; none on submission and under
    /// localserve.
    pub resolver: Option<Arc<dyn Resolver>>,
    /// On submission: the keys that sign mail from each domain.
    pub dkim: Option<Arc<SigningKeys>>,
    /// The outgoing queue: submission queues mail for other domains, and DSNs
    /// that come in are matched to its deliveries.
    pub queue: Option<Arc<Queue>>,
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let limiter = Arc::clone(&shared.limiter);
    connection::accept_loop(
        listener,
        limiter,
        "smtp",
        |why| format!("421 4.7.0 {why}\r\n"),
        move |stream, peer| {
            let shared = Arc::clone(&shared);
            async move { connection(stream, peer, &shared).await }
        },
    )
    .await
}

/// How long the client may take to send its next bytes, or to read ours.
fn timeout_of(session: &Session, shared: &Shared) -> Duration {
    match session.in_data() {
        true => shared.data_timeout,
        false => shared.command_timeout,
    }
}

/// Runs a session over the connection, with TLS as the listener says.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    let session = Session::new(shared.settings.clone(), peer.ip());
    match &shared.tls {
        Tls::Implicit(config) => {
            let (mut tls, session) = handshake(stream, config, session, shared).await?;
            write(&mut tls, &session.greeting(), timeout_of(&session, shared)).await?;
            run(&mut tls, session, shared).await.map(drop)
        }
        Tls::StartTls(config) => {
            write(
                &mut stream,
                &session.greeting(),
                timeout_of(&session, shared),
            )
            .await?;
            let Some(session) = run(&mut stream, session, shared).await? else {
                return Ok(());
            };
            let (mut tls, session) = handshake(stream, config, session, shared).await?;
            run(&mut tls, session, shared).await.map(drop)
        }
        Tls::None => {
            write(
                &mut stream,
                &session.greeting(),
                timeout_of(&session, shared),
            )
            .await?;
            run(&mut stream, session, shared).await.map(drop)
        }
    }
}

/// Does the server side of a TLS handshake and tells the session about it.
async fn handshake(
    stream: TcpStream,
    config: &Arc<ServerConfig>,
    session: Session,
    shared: &Arc<Shared>,
) -> std::io::Result<(tokio_rustls::server::TlsStream<TcpStream>, Session)> {
    let (tls, info) = connection::tls_accept(stream, config).await?;
    let (session, ()) = blocking(shared, session, move |session, backend| {
        session.tls_started(info, backend);
    })
    .await?;
    Ok((tls, session))
}

/// Moves bytes until the session ends; returns the session when it asks for
/// STARTTLS (the caller does the handshake on the plain stream).
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    mut session: Session,
    shared: &Arc<Shared>,
) -> std::io::Result<Option<Session>> {
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        let timeout = timeout_of(&session, shared);
        let n = match tokio::time::timeout(timeout, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => {
                tracing::info!(
                    seconds = timeout.as_secs(),
                    "client silent too long; closing"
                );
                write(stream, b"421 4.4.2 idle too long; closing\r\n", timeout).await?;
                return Ok(None);
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let input = buf[..n].to_vec();
        let step = blocking(shared, session, move |session, backend| {
            session.feed(&input, backend)
        });
        let (out, action);
        (session, (out, action)) = match step.await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the session failed; closing the connection");
                let line = b"421 4.3.0 internal error; closing\r\n";
                let _ = write(stream, line, timeout).await;
                return Ok(None);
            }
        };
        let delay = session.take_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        write(stream, &out, timeout_of(&session, shared)).await?;
        match action {
            Action::Continue => {}
            Action::Close => return Ok(None),
            Action::StartTls => return Ok(Some(session)),
            Action::Silence => {
                silence(stream).await;
                return Ok(None);
            }
        }
    }
}

/// Reads and drops what the client sends until it closes the connection, or
/// [`MAX_SILENCE`] has passed: a server that stopped answering, as the client
/// sees it.
async fn silence<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = vec![0u8; 4096];
    let _ = tokio::time::timeout(MAX_SILENCE, async {
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Runs `step` on the session with a backend, on the blocking pool.
async fn blocking<F, T>(
    shared: &Arc<Shared>,
    mut session: Session,
    step: F,
) -> std::io::Result<(Session, T)>
where
    F: FnOnce(&mut Session, &mut LocalDelivery<'_>) -> T + Send + 'static,
    T: Send + 'static,
{
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let mut backend = LocalDelivery {
            recipients: &shared.recipients,
            store: &shared.store,
            hostname: &shared.settings.hostname,
            authenticator: shared.authenticator.as_deref(),
            local: shared.local.as_deref(),
            resolver: shared.resolver.as_deref(),
            dkim: shared.dkim.as_deref(),
            queue: shared.queue.as_deref(),
        };
        let result = step(&mut session, &mut backend);
        (session, result)
    })
    .await
    .map_err(std::io::Error::other)
}
