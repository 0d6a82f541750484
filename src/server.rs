//! Running the configured services: binds every listener's sockets (so a port that
//! cannot be had is an error before anything is served), starts them, and says which
//! configured services are not available yet.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::address::Domain;
use crate::config::{Config, ServiceKind};
use crate::leniency::Leniencies;
use crate::smtpserver::{self, Recipients, Settings};
use crate::store::Store;

/// Protocol errors a client may make before the session is closed.
const MAX_ERRORS: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address} for {service}: {source}")]
    Bind {
        address: SocketAddr,
        service: &'static str,
        source: std::io::Error,
    },
    #[error("hostname {0:?} is not a valid domain")]
    Hostname(String),
}

/// What is being served, and what is configured but not available yet.
#[derive(Debug, Default)]
pub struct Started {
    pub serving: Vec<(&'static str, SocketAddr)>,
    pub not_available: Vec<(&'static str, SocketAddr)>,
}

/// Binds and starts the listeners of `config` on the current tokio runtime.
pub async fn start(config: &Config) -> Result<Started, ServeError> {
    let hostname = Domain::parse(&config.static_config.hostname, Leniencies::PEDANTIC)
        .map_err(|_| ServeError::Hostname(config.static_config.hostname.clone()))?;
    let store = Arc::new(Store::new(config.data_dir()));
    let recipients = Recipients::new(&config.domains);
    let limits = &config.static_config.limits;
    let mut started = Started::default();
    for listener in config.static_config.listeners.values() {
        for (kind, port) in listener.services() {
            for ip in &listener.ips {
                let address = SocketAddr::new(*ip, port);
                if kind != ServiceKind::Smtp {
                    started.not_available.push((kind.name(), address));
                    continue;
                }
                let socket =
                    TcpListener::bind(address)
                        .await
                        .map_err(|source| ServeError::Bind {
                            address,
                            service: kind.name(),
                            source,
                        })?;
                let settings = Settings {
                    hostname: hostname.clone(),
                    max_message_size: limits.max_message_size,
                    max_recipients: limits.max_recipients as usize,
                    lenient: listener.lenient.iter().copied().collect(),
                    // STARTTLS is offered once gannet has TLS (the authentication work).
                    starttls: false,
                    max_errors: MAX_ERRORS,
                };
                let shared = smtpserver::Shared::new(
                    settings,
                    recipients.clone(),
                    Arc::clone(&store),
                    limits.max_connections_per_ip as usize,
                );
                tracing::info!(%address, service = kind.name(), "listening");
                started
                    .serving
                    .push((kind.name(), socket.local_addr().unwrap_or(address)));
                tokio::spawn(smtpserver::serve(socket, Arc::new(shared)));
            }
        }
    }
    Ok(started)
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
