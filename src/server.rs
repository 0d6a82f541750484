//! Running the configured services: binds every listener's sockets (so a port that
//! cannot be had is an error before anything is served), starts them, and says which
//! configured services are not available yet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::address::Domain;
use crate::auth::Authenticator;
use crate::config::{Config, Listener, ServiceKind, load_dkim_key};
use crate::connection::Tls;
use crate::connlimit::ConnectionLimiter;
use crate::ctl;
use crate::dkim::{SigningKey, SigningKeys};
use crate::dns::Resolver;
use crate::imapserver;
use crate::leniency::Leniencies;
use crate::localserve::{self, Policy};
use crate::queue::{Named, Queue, Relay, Routes, Settings as QueueSettings, Transport};
use crate::recipients::Recipients;
use crate::smtpserver::{self, Inboxes, Settings, Shared};
use crate::store::outbox::Outbox;
use crate::store::{Quota, Store, StoreError};
use crate::tls::{self, TlsError};

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
    #[error("listener {listener}: {source}")]
    Tls { listener: String, source: TlsError },
    #[error("opening the authentication database: {0}")]
    AuthDb(StoreError),
    #[error("localserve's shared password: {0}")]
    OpenLogins(crate::auth::PasswordError),
    #[error("domain {domain}, DKIM selector {selector}: {problem}")]
    DkimKey {
        domain: String,
        selector: String,
        problem: String,
    },
    #[error("opening the outgoing queue: {0}")]
    Queue(StoreError),
    #[error("the outgoing queue's transports: {0}")]
    Transports(String),
    #[error("the control socket {path} (for `gannet queue`): {source}")]
    Control {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("creating {path} (for IMAP literals being received): {source}")]
    SpoolDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Where IMAP spools large literals while they arrive, next to the data so the
/// bytes stay on the same disk: `DATA_DIR/tmp`, owner-only.
fn spool_dir(config: &Config) -> Result<std::path::PathBuf, ServeError> {
    let path = config.data_dir().join("tmp");
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&path)
        .map_err(|source| ServeError::SpoolDir {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// What is being served, and what is configured but not available yet.
#[derive(Debug, Default)]
pub struct Started {
    pub serving: Vec<(&'static str, SocketAddr)>,
    pub not_available: Vec<(&'static str, SocketAddr)>,
}

/// What all listeners share.
struct Common {
    core: Core,
    recipients: Recipients,
    limiter: Arc<ConnectionLimiter>,
    recent: Arc<imapserver::RecentClaims>,
    local: Option<Arc<Policy>>,
    resolver: Option<Arc<dyn Resolver>>,
    dkim: Arc<SigningKeys>,
    queue: Arc<Queue>,
}

/// The DKIM keys of domains.toml that sign, loaded.
fn signing_keys(config: &Config) -> Result<SigningKeys, ServeError> {
    let mut keys = SigningKeys::default();
    for (name, domain) in &config.domains.domains {
        let ascii = Domain::parse(name, Leniencies::PEDANTIC)
            .map_or_else(|_| name.clone(), |d| d.ascii().to_string());
        for (selector, dkim) in domain.dkim.iter().filter(|(_, d)| d.sign) {
            let key = load_dkim_key(&config.dir, &dkim.key_file).map_err(|problem| {
                ServeError::DkimKey {
                    domain: name.clone(),
                    selector: selector.clone(),
                    problem,
                }
            })?;
            let key = SigningKey {
                selector: selector.clone(),
                key,
                lifetime: dkim.expire_seconds,
            };
            keys.add(&ascii, key);
        }
    }
    Ok(keys)
}

/// What every way of serving a protocol needs, built from the configuration: the
/// listeners, and `gannet admin imapserve`.
pub struct Core {
    pub hostname: Domain,
    /// The accounts, with their quotas from domains.toml.
    pub store: Arc<Store>,
    pub authenticator: Arc<Authenticator>,
    /// Where big IMAP literals are spooled.
    pub spool_dir: std::path::PathBuf,
}

impl Core {
    pub fn new(config: &Config) -> Result<Core, ServeError> {
        let sc = &config.static_config;
        let hostname = Domain::parse(&sc.hostname, Leniencies::PEDANTIC)
            .map_err(|_| ServeError::Hostname(sc.hostname.clone()))?;
        let authenticator = Authenticator::new(
            &config.data_dir(),
            &config.domains,
            sc.limits.max_auth_failures_per_hour,
            hostname.ascii(),
        )
        .map_err(ServeError::AuthDb)?;
        // localserve: name@localhost logs in with the shared password.
        let authenticator = match &sc.localserve {
            Some(_) => authenticator
                .with_open_logins(&localserve::domain(), localserve::PASSWORD)
                .map_err(ServeError::OpenLogins)?,
            None => authenticator,
        };
        let quotas = config
            .domains
            .accounts
            .iter()
            .map(|(name, a)| {
                let quota = Quota {
                    bytes: a.quota_bytes,
                    messages: a.quota_messages,
                };
                (name.clone(), quota)
            })
            .collect();
        Ok(Core {
            spool_dir: spool_dir(config)?,
            hostname,
            store: Arc::new(Store::new(config.data_dir()).with_quotas(quotas)),
            authenticator: Arc::new(authenticator),
        })
    }
}

/// Binds and starts the listeners of `config` on the current tokio runtime. With a
/// `resolver`, incoming SMTP checks SPF, DKIM, DMARC and iprev (not under
/// localserve, which takes all mail).
pub async fn start(
    config: &Config,
    resolver: Option<Arc<dyn Resolver>>,
) -> Result<Started, ServeError> {
    let sc = &config.static_config;
    let core = Core::new(config)?;
    let local = sc
        .localserve
        .as_ref()
        .map(|l| Arc::new(Policy::new(l, Arc::clone(&core.authenticator))));
    let recipients = Recipients::new(&config.domains);
    let queue = outgoing_queue(config, &core, &recipients, local.clone(), resolver.clone())?;
    // The socket first: a second server on this data directory fails here,
    // before its queue could deliver what the first one's delivers.
    let path = ctl::socket_path(&config.data_dir());
    let socket = ctl::listen(&path).map_err(|source| ServeError::Control { path, source })?;
    tokio::spawn(Arc::clone(&queue).run());
    let control = Arc::new(ctl::Control {
        queue: Arc::clone(&queue),
    });
    let common = Common {
        core,
        recipients,
        limiter: ConnectionLimiter::new(&sc.limits),
        recent: Arc::default(),
        resolver: resolver.filter(|_| local.is_none()),
        local,
        dkim: Arc::new(signing_keys(config)?),
        queue,
    };
    let mut started = Started::default();
    for (name, listener) in &sc.listeners {
        let tls =
            match &listener.tls {
                Some(t) => Some(tls::listener_config(t, &config.dir).map_err(|source| {
                    ServeError::Tls {
                        listener: name.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        for (kind, port) in listener.services() {
            let serve = match service(config, listener, kind, tls.clone(), &common) {
                Some(serve) => serve,
                None => {
                    for ip in &listener.ips {
                        started
                            .not_available
                            .push((kind.name(), SocketAddr::new(*ip, port)));
                    }
                    continue;
                }
            };
            for ip in &listener.ips {
                let address = SocketAddr::new(*ip, port);
                let socket = listen(address).map_err(|source| ServeError::Bind {
                    address,
                    service: kind.name(),
                    source,
                })?;
                tracing::info!(%address, service = kind.name(), "listening");
                let bound = socket.local_addr().unwrap_or(address);
                started.serving.push((kind.name(), bound));
                match &serve {
                    Serve::Smtp(shared) => {
                        tokio::spawn(smtpserver::serve(socket, Arc::clone(shared)))
                    }
                    Serve::Imap(shared) => {
                        tokio::spawn(imapserver::serve(socket, Arc::clone(shared)))
                    }
                };
            }
        }
    }
    tokio::spawn(control.serve(socket));
    Ok(started)
}

/// The outgoing queue. Under localserve every message goes to its own SMTP
/// port, where the catchall and the failures asked for by address take it.
fn outgoing_queue(
    config: &Config,
    core: &Core,
    recipients: &Recipients,
    local: Option<Arc<Policy>>,
    resolver: Option<Arc<dyn Resolver>>,
) -> Result<Arc<Queue>, ServeError> {
    let sc = &config.static_config;
    let routes = match &sc.localserve {
        // A developer's test server sends nothing out: everything goes to its own
        // SMTP port, whatever routes the config has.
        Some(_) => own_smtp_port(config).map_or_else(Routes::default, |address| {
            let relay = Relay::opportunistic(&address.ip().to_string(), address.port());
            Routes::all_through(Named {
                name: "localserve".into(),
                kind: "relay",
                transport: Transport::Relay(relay),
            })
        }),
        None => Routes::from_config(config, &tls::system_client_config)
            .map_err(ServeError::Transports)?,
    };
    let settings = QueueSettings {
        hostname: core.hostname.ascii().to_string(),
        routes,
        config: sc.queue.clone(),
        direct_port: 25,
        client_timeout: None,
    };
    let inboxes = Inboxes {
        recipients: recipients.clone(),
        store: Arc::clone(&core.store),
        hostname: core.hostname.clone(),
        local,
    };
    let outbox = Outbox::open(&config.data_dir()).map_err(ServeError::Queue)?;
    Ok(Queue::new(outbox, settings, resolver, Arc::new(inboxes)))
}

/// The first address a listener serves SMTP (port 25's service) on; a wildcard
/// address is reached through loopback.
fn own_smtp_port(config: &Config) -> Option<SocketAddr> {
    let listeners = config.static_config.listeners.values();
    listeners.into_iter().find_map(|listener| {
        let (_, port) = listener
            .services()
            .into_iter()
            .find(|(kind, _)| *kind == ServiceKind::Smtp)?;
        let ip = *listener.ips.first()?;
        let ip = match ip {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        Some(SocketAddr::new(ip, port))
    })
}

/// Listens on `address`. An IPv6 socket takes IPv6 connections only
/// (IPV6_V6ONLY): otherwise, where that is the system default (Linux with
/// net.ipv6.bindv6only=0), "::" also takes the IPv4 port and cannot be listened
/// on together with "0.0.0.0".
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // As tokio does: on Windows SO_REUSEADDR would let another socket take the port.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// A service of a listener, with what its connections share.
enum Serve {
    Smtp(Arc<Shared>),
    Imap(Arc<imapserver::Shared>),
}

/// The service `kind` of a listener; `None` for services not available yet.
fn service(
    config: &Config,
    listener: &Listener,
    kind: ServiceKind,
    tls: Option<Arc<rustls::ServerConfig>>,
    common: &Common,
) -> Option<Serve> {
    // The config check makes sure implicit-TLS services have a certificate.
    let tls = match (kind, tls) {
        (ServiceKind::Submissions | ServiceKind::Imaps | ServiceKind::Https, Some(t)) => {
            Tls::Implicit(t)
        }
        (_, Some(t)) => Tls::StartTls(t),
        (_, None) => Tls::None,
    };
    match kind {
        ServiceKind::Imap | ServiceKind::Imaps => Some(Serve::Imap(Arc::new(imap_shared(
            config, listener, tls, common,
        )))),
        ServiceKind::Smtp | ServiceKind::Submission | ServiceKind::Submissions => {
            let submission = kind != ServiceKind::Smtp;
            let shared = smtp_shared(config, listener, submission, tls, common);
            Some(Serve::Smtp(Arc::new(shared)))
        }
        ServiceKind::Http | ServiceKind::Https => None,
    }
}

/// The shared state of an IMAP service of a listener.
fn imap_shared(
    config: &Config,
    listener: &Listener,
    tls: Tls,
    common: &Common,
) -> imapserver::Shared {
    let limits = &config.static_config.limits;
    let hostname = listener
        .hostname
        .clone()
        .unwrap_or_else(|| common.core.hostname.ascii().to_string());
    let settings = imapserver::Settings {
        hostname,
        starttls: matches!(tls, Tls::StartTls(_)),
        plaintext_auth: listener.allow_plaintext_auth,
        limits: crate::imap::Limits::new(common.core.spool_dir.clone(), limits.max_message_size),
        max_errors: limits.max_errors,
        progress: imapserver::Progress::default(),
    };
    imapserver::Shared {
        settings,
        tls,
        services: imapserver::Services {
            store: Arc::clone(&common.core.store),
            authenticator: Arc::clone(&common.core.authenticator),
            recent: Arc::clone(&common.recent),
        },
        limiter: Arc::clone(&common.limiter),
        command_timeout: Duration::from_secs(limits.command_timeout.into()),
    }
}

/// The shared state of an SMTP service of a listener; `None` for the services
/// that are not SMTP.
fn smtp_shared(
    config: &Config,
    listener: &Listener,
    submission: bool,
    tls: Tls,
    common: &Common,
) -> Shared {
    let limits = &config.static_config.limits;
    let hostname = listener
        .hostname
        .as_deref()
        .and_then(|h| Domain::parse(h, Leniencies::PEDANTIC).ok())
        .unwrap_or_else(|| common.core.hostname.clone());
    let settings = Settings {
        hostname,
        max_message_size: limits.max_message_size,
        max_recipients: limits.max_recipients as usize,
        lenient: listener.lenient.iter().copied().collect(),
        starttls: matches!(tls, Tls::StartTls(_)),
        max_errors: limits.max_errors,
        max_commands_before_mail: limits.max_commands_before_mail,
        submission,
        plaintext_auth: listener.allow_plaintext_auth,
    };
    Shared {
        settings,
        tls,
        recipients: common.recipients.clone(),
        store: Arc::clone(&common.core.store),
        authenticator: submission.then(|| Arc::clone(&common.core.authenticator)),
        limiter: Arc::clone(&common.limiter),
        command_timeout: Duration::from_secs(limits.command_timeout.into()),
        data_timeout: Duration::from_secs(limits.data_timeout.into()),
        local: common.local.clone(),
        resolver: common.resolver.clone().filter(|_| !submission),
        dkim: submission.then(|| Arc::clone(&common.dkim)),
        // Submission queues mail; every listener matches DSNs that come back.
        queue: Some(Arc::clone(&common.queue)),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ipv4_and_ipv6_wildcards_listen_on_the_same_port() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            println!("skipped: this machine has no IPv6");
            return;
        }
        let v4 = listen("0.0.0.0:0".parse().unwrap()).unwrap();
        let port = v4.local_addr().unwrap().port();
        let v6 = listen(SocketAddr::new("::".parse().unwrap(), port))
            .expect("listening on [::] after 0.0.0.0 on the same port");
        assert_eq!(v6.local_addr().unwrap().port(), port);
        assert!(v6.local_addr().unwrap().is_ipv6());
    }
}
