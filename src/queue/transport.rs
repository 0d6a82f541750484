//! The ways out of the queue at run time: direct delivery, an SMTP server that
//! takes everything (smarthost, submission service), or direct delivery through
//! a SOCKS5 proxy. Built from `[transports.NAME]` once at start: passwords read,
//! TLS configs made.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;

use crate::config::{ConfigError, KeyPath, STATIC_FILE, TransportConfig, TransportKind};
use crate::sasl::ClientCredentials;
use crate::smtpclient::Tls;
use crate::socks5;

/// How the queue reaches the servers that take the mail.
#[derive(Debug, Clone)]
pub enum Transport {
    /// To each recipient domain's MX hosts, on port 25.
    Direct,
    /// Everything to one SMTP server.
    Relay(Relay),
    /// As `Direct`, each connection made through a SOCKS5 proxy.
    Socks5(Proxy),
}

/// An SMTP server that takes all mail routed to it: a smarthost, a submission
/// service, or localserve's own SMTP port.
#[derive(Clone)]
pub struct Relay {
    /// Looked up with the system's resolver, as an operator would test it.
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub auth: Option<ClientCredentials>,
}

impl Relay {
    /// A server without login, STARTTLS where offered with any certificate.
    pub fn opportunistic(host: &str, port: u16) -> Relay {
        Relay {
            host: host.to_string(),
            port,
            tls: opportunistic(),
            auth: None,
        }
    }
}

/// The TLS of direct delivery, where no policy says which certificate to expect.
pub(super) fn opportunistic() -> Tls {
    Tls::StartTls {
        config: crate::tls::opportunistic_client_config(),
        required: false,
    }
}

/// The TLS config itself is not worth showing; how TLS is used is.
impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = match &self.tls {
            Tls::Off => "off",
            Tls::StartTls {
                required: false, ..
            } => "starttls",
            Tls::StartTls { required: true, .. } => "starttls required",
            Tls::Immediate(_) => "immediate",
        };
        f.debug_struct("Relay")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &tls)
            .field("auth", &self.auth)
            .finish()
    }
}

/// A SOCKS5 proxy, looked up like a relay's host.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    pub credentials: Option<socks5::Credentials>,
}

/// A transport as routes know it.
#[derive(Debug)]
pub struct Named {
    pub name: String,
    /// Its kind as configured ("relay", "submission", ...), for the history.
    pub kind: &'static str,
    pub transport: Transport,
}

impl Named {
    pub fn direct() -> Named {
        Named {
            name: crate::config::DIRECT.into(),
            kind: crate::config::DIRECT,
            transport: Transport::Direct,
        }
    }

    /// How the history names the transport ("relay smarthost"); none for
    /// direct delivery.
    pub fn description(&self) -> Option<String> {
        match self.transport {
            Transport::Direct => None,
            _ => Some(format!("{} {}", self.kind, self.name)),
        }
    }

    /// The transport `name` of gannet.toml (in `dir`). `verified` makes the TLS
    /// config of transports that check certificates, when one needs it.
    pub fn from_config(
        name: &str,
        config: &TransportConfig,
        dir: &Path,
        verified: &mut dyn FnMut() -> Result<Arc<ClientConfig>, String>,
    ) -> Result<Named, String> {
        let key = KeyPath::root().key("transports").key(name);
        let error = |field: &str, message: String| {
            ConfigError::new(STATIC_FILE, key.key(field), message).to_string()
        };
        let login = crate::config::login(dir, config).map_err(|(field, e)| error(field, e))?;
        let (host, port) = (config.host.clone(), config.port());
        let transport = match config.kind {
            TransportKind::Socks5 => {
                let credentials = login
                    .map(|(username, password)| socks5::Credentials::new(&username, &password))
                    .transpose()
                    .map_err(|e| error("username", e.to_string()))?;
                Transport::Socks5(Proxy {
                    host,
                    port,
                    credentials,
                })
            }
            kind => {
                let tls = match kind {
                    TransportKind::Relay if !config.require_tls => opportunistic(),
                    TransportKind::Submissions => Tls::Immediate(verified()?),
                    _ => Tls::StartTls {
                        config: verified()?,
                        required: true,
                    },
                };
                let auth = login.map(|(username, password)| ClientCredentials {
                    username,
                    password,
                    authzid: None,
                });
                Transport::Relay(Relay {
                    host,
                    port,
                    tls,
                    auth,
                })
            }
        };
        Ok(Named {
            name: name.to_string(),
            kind: config.kind.name(),
            transport,
        })
    }
}
