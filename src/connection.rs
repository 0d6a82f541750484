//! What the SMTP and IMAP listeners share: the accept loop with connection
//! admission, writes with a timeout, and the server side of a TLS handshake.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::Instrument;

use crate::connlimit::ConnectionLimiter;
use crate::tls::ConnectionInfo;

/// How a listener's connections start.
#[derive(Clone)]
pub enum Tls {
    None,
    /// STARTTLS is offered with this config.
    StartTls(Arc<ServerConfig>),
    /// TLS from the first byte (RFC 8314: submissions on 465, IMAPS on 993).
    Implicit(Arc<ServerConfig>),
}

/// A TLS handshake that takes longer is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections until the task is dropped. Each admitted connection runs
/// `handle` in its own task, in a span named `protocol` with a connection id and
/// the remote address; a refused one gets `refusal(why)` written and is closed.
pub async fn accept_loop<H, F>(
    listener: TcpListener,
    limiter: Arc<ConnectionLimiter>,
    protocol: &'static str,
    refusal: fn(&str) -> String,
    handle: H,
) where
    H: Fn(TcpStream, SocketAddr) -> F,
    F: Future<Output = std::io::Result<()>> + Send + 'static,
{
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a little, go on.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let cid = format!("{:08x}", rand::random::<u32>());
        let span = tracing::info_span!("conn", protocol, cid, remote = %peer);
        let admitted = limiter.admit(peer.ip());
        let work = match &admitted {
            Ok(_) => Some(handle(stream, peer)),
            Err(refused) => {
                let line = refusal(&refused.to_string());
                span.in_scope(|| tracing::info!(%refused, "connection refused"));
                tokio::spawn(async move {
                    let _ = write(&mut stream, line.as_bytes(), Duration::from_secs(10)).await;
                });
                None
            }
        };
        let Some(work) = work else { continue };
        let admitted = admitted.ok();
        tokio::spawn(
            async move {
                let _admitted = admitted;
                match work.await {
                    Ok(()) => tracing::debug!("connection closed"),
                    Err(e) => tracing::info!(error = %e, "connection ended"),
                }
            }
            .instrument(span),
        );
    }
}

/// Bytes written per step of [`write`]: the timeout applies to each, so a slow
/// client fetching a big mailbox is fine as long as it keeps reading.
const WRITE_CHUNK: usize = 64 * 1024;

/// Writes all of `bytes` to the client, each [`WRITE_CHUNK`] within `timeout`. A
/// client that does not take them in time (it pipelines commands and never reads
/// the replies) gets an error of kind `TimedOut`, which ends the connection (and is
/// logged there).
pub async fn write<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    timeout: Duration,
) -> std::io::Result<()> {
    let stalled = || {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("client not reading replies for {timeout:?}; closing"),
        )
    };
    for chunk in bytes.chunks(WRITE_CHUNK) {
        tokio::time::timeout(timeout, stream.write_all(chunk))
            .await
            .map_err(|_| stalled())??;
    }
    tokio::time::timeout(timeout, stream.flush())
        .await
        .map_err(|_| stalled())?
}

/// The server side of a TLS handshake, with what the session needs to know of it.
pub async fn tls_accept(
    stream: TcpStream,
    config: &Arc<ServerConfig>,
) -> std::io::Result<(TlsStream<TcpStream>, ConnectionInfo)> {
    let accept = TlsAcceptor::from(Arc::clone(config)).accept(stream);
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, accept)
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
    let info = ConnectionInfo::from_connection(tls.get_ref().1, config)
        .ok_or_else(|| std::io::Error::other("TLS handshake did not finish"))?;
    tracing::debug!(tls = info.summary(), "TLS started");
    Ok((tls, info))
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

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
