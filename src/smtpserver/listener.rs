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
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use super::delivery::LocalDelivery;
use super::session::{Action, Session, Settings};
use crate::auth::Authenticator;
use crate::connlimit::ConnectionLimiter;
use crate::recipients::Recipients;
use crate::store::Store;
use crate::tls::ConnectionInfo;

const READ_BUFFER: usize = 64 * 1024;
/// A TLS handshake that takes longer is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a listener's connections start.
#[derive(Clone)]
pub enum Tls {
    None,
    /// STARTTLS is offered with this config.
    StartTls(Arc<ServerConfig>),
    /// TLS from the first byte (RFC 8314: submissions, port 465).
    Implicit(Arc<ServerConfig>),
}

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
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a little, go on.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let cid = format!("{:08x}", rand::random::<u32>());
        let span = tracing::info_span!("smtp", cid, remote = %peer);
        tokio::spawn(
            async move {
                let _admitted = match shared.limiter.admit(peer.ip()) {
                    Ok(a) => a,
                    Err(refusal) => {
                        tracing::info!(%refusal, "connection refused");
                        let _ = refuse(stream, &refusal.to_string(), &shared).await;
                        return;
                    }
                };
                match connection(stream, peer, &shared).await {
                    Ok(()) => tracing::debug!("connection closed"),
                    Err(e) => tracing::info!(error = %e, "connection ended"),
                }
            }
            .instrument(span),
        );
    }
}

async fn refuse(mut stream: TcpStream, why: &str, shared: &Shared) -> std::io::Result<()> {
    let line = format!("421 4.7.0 {why}\r\n");
    write(&mut stream, line.as_bytes(), shared.command_timeout).await
}

/// Writes all of `bytes` to the client within `timeout`. A client that does not
/// take them in time (it pipelines commands and never reads the replies) gets an
/// error of kind `TimedOut`, which ends the connection (and is logged there).
async fn write<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    timeout: Duration,
) -> std::io::Result<()> {
    match tokio::time::timeout(timeout, stream.write_all(bytes)).await {
        Ok(written) => written,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("client not reading replies for {timeout:?}; closing"),
        )),
    }
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
    let accept = TlsAcceptor::from(Arc::clone(config)).accept(stream);
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, accept)
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
    let info = ConnectionInfo::from_connection(tls.get_ref().1, config)
        .ok_or_else(|| std::io::Error::other("TLS handshake did not finish"))?;
    tracing::debug!(tls = info.summary(), "TLS started");
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
        }
    }
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
        };
        let result = step(&mut session, &mut backend);
        (session, result)
    })
    .await
    .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_the_client_does_not_read_times_out() {
        // The client end is kept open but never read: the pipe fills up.
        let (mut server, _client) = tokio::io::duplex(16);
        let e = write(&mut server, &[b'x'; 64], Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(
            e.to_string(),
            "client not reading replies for 50ms; closing"
        );
    }

    #[tokio::test]
    async fn a_write_the_client_reads_succeeds() {
        let (mut server, mut client) = tokio::io::duplex(16);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.map(|_| got)
        });
        write(&mut server, &[b'x'; 64], Duration::from_secs(10))
            .await
            .unwrap();
        drop(server);
        assert_eq!(reader.await.unwrap().unwrap(), vec![b'x'; 64]);
    }
}
