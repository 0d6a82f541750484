//! The SMTP listener: accepts connections and moves bytes between the socket and a
//! [`Session`]. Session steps run on the blocking pool because delivery writes to the
//! store (synchronous SQLite and fsync). A panic while handling one connection closes
//! that connection and is logged; the server goes on.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;

use super::delivery::LocalDelivery;
use super::recipients::Recipients;
use super::session::{Action, Session, Settings};
use crate::store::Store;

/// How long a client may stay silent (RFC 5321 4.5.3.2.7: at least 5 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const READ_BUFFER: usize = 64 * 1024;

/// What every connection of a listener shares.
pub struct Shared {
    pub settings: Settings,
    pub recipients: Recipients,
    pub store: Arc<Store>,
    pub max_connections_per_ip: usize,
    /// Open connections per remote IP.
    connections: Mutex<HashMap<IpAddr, usize>>,
}

impl Shared {
    pub fn new(
        settings: Settings,
        recipients: Recipients,
        store: Arc<Store>,
        max_connections_per_ip: usize,
    ) -> Self {
        Shared {
            settings,
            recipients,
            store,
            max_connections_per_ip,
            connections: Mutex::default(),
        }
    }

    /// Counts a new connection from `ip`; false when it is over the limit.
    fn admit(&self, ip: IpAddr) -> bool {
        let mut open = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_default();
        if *n >= self.max_connections_per_ip {
            return false;
        }
        *n += 1;
        true
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
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
                if !shared.admit(peer.ip()) {
                    tracing::info!("refused: too many connections from this address");
                    let _ = refuse(stream).await;
                    return;
                }
                match connection(stream, peer, &shared).await {
                    Ok(()) => tracing::debug!("connection closed"),
                    Err(e) => tracing::info!(error = %e, "connection ended"),
                }
                shared.release(peer.ip());
            }
            .instrument(span),
        );
    }
}

async fn refuse(mut stream: TcpStream) -> std::io::Result<()> {
    stream
        .write_all(b"421 4.7.0 too many connections from your address\r\n")
        .await
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    let mut session = Session::new(shared.settings.clone(), peer.ip());
    stream.write_all(&session.greeting()).await?;
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        let n = match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => {
                stream
                    .write_all(b"421 4.4.2 idle too long; closing\r\n")
                    .await?;
                return Ok(());
            }
        };
        if n == 0 {
            return Ok(());
        }
        let input = buf[..n].to_vec();
        let step_shared = Arc::clone(shared);
        let step = tokio::task::spawn_blocking(move || {
            let mut backend = LocalDelivery {
                recipients: &step_shared.recipients,
                store: &step_shared.store,
                hostname: &step_shared.settings.hostname,
            };
            let (out, action) = session.feed(&input, &mut backend);
            (session, out, action)
        });
        let (back, out, action) = match step.await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the session failed; closing the connection");
                let _ = stream
                    .write_all(b"421 4.3.0 internal error; closing\r\n")
                    .await;
                return Ok(());
            }
        };
        session = back;
        stream.write_all(&out).await?;
        match action {
            Action::Continue => {}
            Action::Close => return Ok(()),
            // STARTTLS is offered only with a certificate, which comes with TLS support.
            Action::StartTls => return Ok(()),
        }
    }
}
