//! Delivering what is due: the loop that starts deliveries, and one delivery —
//! a message's recipients at one domain, over one connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::failure::Failure;
use super::{Queue, Transport, mx, rcpt_params};
use crate::smtp::{Enhanced, Reply, Ret};
use crate::smtpclient::{Client, ClientError, Options, Outgoing, Tls};
use crate::store::outbox::Due;

/// Recipients read per pass of the loop.
const BATCH: usize = 1000;
/// How long a TCP connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The loop looks again at least this often (a clock change, a missed wake-up).
const IDLE: Duration = Duration::from_secs(60);

/// A delivery running: when it ends, even by a panic, its domain is free again
/// and the loop looks at the queue.
struct Running {
    queue: Arc<Queue>,
    domain: String,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.queue.lock_busy().remove(&self.domain);
        self.queue.wake.notify_one();
    }
}

/// What one attempt came to: the host that answered last, and per recipient
/// the reply that took the message or why not.
pub(super) struct Attempted {
    pub host: String,
    pub results: Vec<Result<Reply, Failure>>,
    /// The server announced DSN, and so reports on delivery itself.
    pub remote_dsn: bool,
}

impl Queue {
    /// Delivers due messages until the runtime shuts down.
    pub async fn run(self: Arc<Self>) {
        let mut pruned = 0;
        loop {
            let now = crate::message::now();
            if now - pruned >= 3600 {
                pruned = now;
                let before = now - i64::from(self.settings.config.retired_days) * 86400;
                if let Err(e) = self.blocking(move |q| q.outbox.prune_retired(before)).await {
                    tracing::error!(error = %e, "pruning retired deliveries");
                }
            }
            match self.blocking(move |q| q.outbox.due(now, BATCH)).await {
                Ok(due) => self.start(due).await,
                Err(e) => tracing::error!(error = %e, "reading the queue"),
            }
            let wait = match self.blocking(|q| q.outbox.next_due()).await {
                Ok(Some(next)) if next > now => Duration::from_secs((next - now) as u64).min(IDLE),
                _ => IDLE,
            };
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        }
    }

    /// Starts a delivery for each message and domain of `due`, but for
    /// domains that have one running: those wait for it to end.
    async fn start(self: &Arc<Self>, due: Vec<Due>) {
        let mut groups: BTreeMap<(i64, String), Vec<Due>> = BTreeMap::new();
        for d in due {
            groups
                .entry((d.message, d.domain.clone()))
                .or_default()
                .push(d);
        }
        for ((_, domain), group) in groups {
            if !self.lock_busy().insert(domain.clone()) {
                continue;
            }
            let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
                return;
            };
            let running = Running {
                queue: Arc::clone(self),
                domain,
                _permit: permit,
            };
            tokio::spawn(async move { running.queue.deliver(group).await });
        }
    }

    fn lock_busy(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One attempt for `group`: recipients of one message at one domain.
    async fn deliver(self: &Arc<Self>, group: Vec<Due>) {
        let message = group[0].message;
        let read = self.blocking(move |q| q.outbox.read(message)).await;
        let (attempted, data) = match read {
            Ok(data) => (self.attempt(&group, &data).await, data),
            Err(e) => {
                let failure = Failure::temporary(
                    Enhanced(4, 3, 0),
                    format!("reading the queued message: {e}"),
                );
                let attempted = Attempted {
                    host: "queue".into(),
                    results: vec![Err(failure); group.len()],
                    remote_dsn: false,
                };
                (attempted, Vec::new())
            }
        };
        self.blocking(move |q| q.finish(&group, attempted, &data))
            .await;
    }

    /// Runs `f` on the blocking pool: the queue's database and the accounts
    /// (DSNs) are written with fsyncs.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Queue) -> T + Send + 'static,
    ) -> T {
        let queue = Arc::clone(self);
        match tokio::task::spawn_blocking(move || f(&queue)).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(_) => std::future::pending().await,
        }
    }

    async fn attempt(&self, group: &[Due], data: &[u8]) -> Attempted {
        let first = &group[0];
        let recipients: Vec<_> = group
            .iter()
            .map(|d| (d.address.clone(), rcpt_params(&d.params)))
            .collect();
        let out = Outgoing {
            from: &first.sender,
            recipients: &recipients,
            message: data,
            smtputf8: first.smtputf8,
            ret: first.ret.as_deref().and_then(Ret::from_name),
            envid: first.envid.clone(),
            requiretls: first.requiretls,
        };
        let failed = |host: String, failure: Failure| Attempted {
            host,
            results: vec![Err(failure); group.len()],
            remote_dsn: false,
        };
        let targets = match self.targets(&first.domain).await {
            Ok(targets) => targets,
            Err(failure) => return failed("dns".into(), failure),
        };
        let mut last = (
            first.domain.clone(),
            Failure::temporary(
                Enhanced(4, 4, 4),
                format!("no host to deliver to for {}", first.domain),
            ),
        );
        for (host, addresses) in targets {
            let addresses = match addresses {
                Ok(addresses) => addresses,
                Err(failure) => {
                    last = (host, failure);
                    continue;
                }
            };
            for address in addresses {
                match self.session(&host, address, &out).await {
                    Ok((results, remote_dsn)) => {
                        let results = results
                            .iter()
                            .map(|r| r.as_ref().cloned().map_err(Failure::from))
                            .collect();
                        return Attempted {
                            host,
                            results,
                            remote_dsn,
                        };
                    }
                    Err(failure) => last = (host.clone(), failure),
                }
            }
        }
        failed(last.0, last.1)
    }

    /// The hosts to try for `domain` and, for each, its addresses or why it
    /// has none.
    async fn targets(
        &self,
        domain: &str,
    ) -> Result<Vec<(String, Result<Vec<SocketAddr>, Failure>)>, Failure> {
        if let Transport::Relay { host, port } = &self.settings.transport {
            let addresses = tokio::net::lookup_host((host.as_str(), *port))
                .await
                .map(Iterator::collect)
                .map_err(|e| {
                    Failure::temporary(Enhanced(4, 4, 3), format!("resolving {host}: {e}"))
                });
            return Ok(vec![(host.clone(), addresses)]);
        }
        let resolver = self.resolver.as_deref().ok_or_else(|| {
            Failure::temporary(
                Enhanced(4, 3, 5),
                "no DNS resolver is configured for direct delivery",
            )
        })?;
        let hosts = mx::hosts(resolver, domain).await?;
        let mut targets = Vec::new();
        for name in hosts.names {
            let addresses = match mx::addresses(resolver, &name).await {
                Ok(ips) if ips.is_empty() && hosts.implicit => {
                    return Err(Failure::permanent(
                        Enhanced(5, 1, 2),
                        format!("{domain} has neither MX nor address records"),
                    ));
                }
                Ok(ips) if ips.is_empty() => Err(Failure::temporary(
                    Enhanced(4, 4, 4),
                    format!("the MX host {name} has no address records"),
                )),
                Ok(ips) => Ok(ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, self.settings.direct_port))
                    .collect()),
                Err(failure) => Err(failure),
            };
            targets.push((name, addresses));
        }
        Ok(targets)
    }

    /// A session with one server: connect, set up, send, quit. STARTTLS is
    /// used where offered; a failed handshake is retried in plain text (RFC
    /// 7435) unless the message requires TLS.
    async fn session(
        &self,
        host: &str,
        address: SocketAddr,
        out: &Outgoing<'_>,
    ) -> Result<(Vec<Result<Reply, ClientError>>, bool), Failure> {
        let tls = Tls::StartTls {
            config: crate::tls::opportunistic_client_config(),
            required: out.requiretls,
        };
        let client = match self.connect(host, address, tls).await {
            Err(ClientError::Tls(reason)) if !out.requiretls => {
                tracing::info!(host, %address, reason, "TLS failed; trying again without");
                self.connect(host, address, Tls::Off).await
            }
            other => other,
        };
        let mut client = client.map_err(|e| Failure::from(&e))?;
        let remote_dsn = client.extensions().dsn;
        let results = client.send(out).await;
        client.quit().await;
        Ok((results, remote_dsn))
    }

    async fn connect(
        &self,
        host: &str,
        address: SocketAddr,
        tls: Tls,
    ) -> Result<Client, ClientError> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(unreachable(host, address, e.to_string())),
            Err(_) => return Err(unreachable(host, address, "timed out".into())),
        };
        let options = Options {
            ehlo_name: self.settings.hostname.clone(),
            server_name: host.to_string(),
            tls,
            auth: None,
            timeout: self.settings.client_timeout,
        };
        Client::start(stream, options).await
    }
}

fn unreachable(host: &str, address: SocketAddr, reason: String) -> ClientError {
    ClientError::Connection {
        stage: crate::smtpclient::Stage::Connect,
        reason: format!("connecting to {host} ({address}): {reason}"),
    }
}
