//! Delivering what is due: the loop that starts deliveries, and one delivery —
//! a message's recipients at one domain, over one connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::failure::Failure;
use super::{Named, Proxy, Queue, Transport, mx, rcpt_params};
use crate::smtp::{Enhanced, Reply, Ret};
use crate::smtpclient::{Client, ClientError, Options, Outgoing, Tls};
use crate::socks5::{self, Socks5Error};
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
    /// The host that answered last (the DSN's Remote-MTA).
    pub host: String,
    /// The transport it was reached through, when not direct delivery.
    pub via: Option<String>,
    /// A delivery attempt gave these results; false for failures the operator
    /// or the suppression list decided.
    pub delivering: bool,
    pub results: Vec<Result<Reply, Failure>>,
    /// The server announced DSN, and so reports on delivery itself.
    pub remote_dsn: bool,
}

impl Queue {
    /// Delivers due messages until the runtime shuts down.
    pub async fn run(self: Arc<Self>) {
        self.blocking(|q| q.fail_stranded()).await;
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

    pub(super) fn lock_busy(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
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
                    via: None,
                    delivering: true,
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
        let via = self.route(group);
        let failed = |host: String, failure: Failure| Attempted {
            host,
            via: via.description(),
            delivering: true,
            results: vec![Err(failure); group.len()],
            remote_dsn: false,
        };
        let targets = match self.targets(&via.transport, &first.domain).await {
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
                match self.session(&via.transport, &host, address, &out).await {
                    Ok((results, remote_dsn)) => {
                        let results = results
                            .iter()
                            .map(|r| r.as_ref().cloned().map_err(Failure::from))
                            .collect();
                        return Attempted {
                            host,
                            via: via.description(),
                            delivering: true,
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

    /// The transport for `group`: by the message's account and sender, the
    /// recipients' domain, and which attempt this is.
    fn route(&self, group: &[Due]) -> &Arc<Named> {
        let first = &group[0];
        // Recipients of a message at one domain are tried together, so they are
        // on the same attempt, unless one was rescheduled: then the most-tried
        // decides, so that a route for later attempts is not held back.
        let attempt = group.iter().map(|d| d.attempts).max().unwrap_or(0) + 1;
        let from = crate::address::domain_of(&first.sender);
        let routes = &self.settings.routes;
        let via = routes.select(&first.account, from.as_deref(), &first.domain, attempt);
        tracing::debug!(
            queued = first.message,
            domain = first.domain,
            attempt,
            transport = via.name,
            "route"
        );
        via
    }

    /// The hosts to try for `domain` and, for each, its addresses or why it
    /// has none: the relay's host, or the domain's MX hosts.
    async fn targets(
        &self,
        transport: &Transport,
        domain: &str,
    ) -> Result<Vec<(String, Result<Vec<SocketAddr>, Failure>)>, Failure> {
        match transport {
            Transport::Relay(relay) => {
                let addresses = lookup(&relay.host, relay.port).await;
                Ok(vec![(relay.host.clone(), addresses)])
            }
            Transport::Direct | Transport::Socks5(_) => self.mx_targets(domain).await,
        }
    }

    async fn mx_targets(
        &self,
        domain: &str,
    ) -> Result<Vec<(String, Result<Vec<SocketAddr>, Failure>)>, Failure> {
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

    /// A session with one server: connect, set up, send, quit. TLS as the
    /// transport says; where that is opportunistic STARTTLS, a failed handshake
    /// is retried in plain text (RFC 7435) unless the message requires TLS.
    async fn session(
        &self,
        transport: &Transport,
        host: &str,
        address: SocketAddr,
        out: &Outgoing<'_>,
    ) -> Result<(Vec<Result<Reply, ClientError>>, bool), Failure> {
        let tls = match transport {
            Transport::Relay(relay) => relay.tls.clone(),
            Transport::Direct | Transport::Socks5(_) => super::transport::opportunistic(),
        };
        let tls = match tls {
            Tls::StartTls { config, required } => Tls::StartTls {
                config,
                required: required || out.requiretls,
            },
            other => other,
        };
        let fallback = matches!(
            tls,
            Tls::StartTls {
                required: false,
                ..
            }
        );
        let client = match self.connect(transport, host, address, tls).await {
            Err(ClientError::Tls(reason)) if fallback => {
                tracing::info!(host, %address, reason, "TLS failed; trying again without");
                self.connect(transport, host, address, Tls::Off).await
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
        transport: &Transport,
        host: &str,
        address: SocketAddr,
        tls: Tls,
    ) -> Result<Client, ClientError> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, open(transport, address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(reason)) => return Err(unreachable(host, address, reason)),
            Err(_) => return Err(unreachable(host, address, "timed out".into())),
        };
        let auth = match transport {
            Transport::Relay(relay) => relay.auth.clone(),
            Transport::Direct | Transport::Socks5(_) => None,
        };
        let options = Options {
            ehlo_name: self.settings.hostname.clone(),
            server_name: host.to_string(),
            tls,
            auth,
            timeout: self.settings.client_timeout,
        };
        Client::start(stream, options).await
    }
}

/// A TCP connection to `address`, through the transport's proxy if it has one.
async fn open(transport: &Transport, address: SocketAddr) -> Result<TcpStream, String> {
    match transport {
        Transport::Socks5(proxy) => through_proxy(proxy, address).await,
        Transport::Direct | Transport::Relay(_) => {
            TcpStream::connect(address).await.map_err(|e| e.to_string())
        }
    }
}

/// A connection to `address` through `proxy`, trying each of the proxy's
/// addresses that cannot be connected to; a proxy that answered decides.
async fn through_proxy(proxy: &Proxy, address: SocketAddr) -> Result<TcpStream, String> {
    let proxies = lookup(&proxy.host, proxy.port)
        .await
        .map_err(|f| f.reason)?;
    let target = socks5::Target::Ip(address);
    let mut last = format!("the SOCKS5 proxy {} has no addresses", proxy.host);
    for at in proxies {
        let why = |e| format!("through the SOCKS5 proxy {} ({at}): {e}", proxy.host);
        match socks5::connect(at, &target, proxy.credentials.as_ref()).await {
            Ok(stream) => return Ok(stream),
            Err(e @ Socks5Error::Connect(_)) => last = why(e),
            Err(e) => return Err(why(e)),
        }
    }
    Err(last)
}

/// The addresses of a relay or proxy, with the system's resolver (which knows
/// /etc/hosts, as an operator testing the name would expect).
async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, Failure> {
    tokio::net::lookup_host((host, port))
        .await
        .map(Iterator::collect)
        .map_err(|e| Failure::temporary(Enhanced(4, 4, 3), format!("resolving {host}: {e}")))
}

fn unreachable(host: &str, address: SocketAddr, reason: String) -> ClientError {
    ClientError::Connection {
        stage: crate::smtpclient::Stage::Connect,
        reason: format!("connecting to {host} ({address}): {reason}"),
    }
}
