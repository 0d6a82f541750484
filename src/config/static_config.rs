//! `gannet.toml`: settings read at start. Changing them needs a restart.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::transports::{RouteConfig, TransportConfig};
use crate::leniency::Leniency;
use crate::localserve::failures::ChaosRule;
use crate::logging;

/// Settings of the server as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StaticConfig {
    /// Fully qualified host name of this server, as in its MX records. Used in SMTP
    /// greetings, in Received headers, and as the default name of each listener.
    #[schemars(example = "mail.example.org")]
    pub hostname: String,
    /// Directory for accounts, the queue and other state. A relative path is
    /// relative to the directory of gannet.toml.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// What is logged and how.
    #[serde(default)]
    pub log: LogConfig,
    /// Limits that protect the server from clients that ask too much.
    #[serde(default)]
    pub limits: Limits,
    /// Outgoing delivery: retries and how many deliveries run at once.
    #[serde(default)]
    pub queue: QueueConfig,
    /// Other ways out for the queue than direct delivery to the MX hosts, by name:
    /// a smarthost, a submission service with an account, or a SOCKS5 proxy. Routes
    /// pick them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transports: BTreeMap<String, TransportConfig>,
    /// Routes for all mail, checked after those of the sending account and of the
    /// sender's domain (in domains.toml); the first that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    /// Listeners by name. Each has the IP addresses to listen on and the services it
    /// serves there, for example one listener "public" for the internet and one
    /// "internal" on loopback.
    #[serde(default)]
    pub listeners: BTreeMap<String, Listener>,
    /// Only in configurations that `gannet localserve` writes, which runs them: makes
    /// the server a developer's test server (see `gannet localserve --help`).
    /// `gannet serve` refuses a configuration with this section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localserve: Option<LocalserveConfig>,
}

/// The `[localserve]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LocalserveConfig {
    /// Failures that happen at random, for chaos testing: each entry names an SMTP
    /// stage, a probability and a failure. Failures asked for by address (such as
    /// `rcptto451@localhost`) happen whatever these say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chaos: Vec<ChaosRule>,
    /// Seed for the chaos dice: the same commands then fail the same way each run.
    /// Without it, each start rolls differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos_seed: Option<u64>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

/// The `[log]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LogConfig {
    /// Level for every module without its own entry under modules.
    #[serde(default)]
    pub level: logging::Level,
    /// Line format.
    #[serde(default)]
    pub format: logging::Format,
    /// Level per module, for example `smtpserver = "trace"` to see SMTP sessions
    /// without raising the level everywhere.
    #[serde(default)]
    #[schemars(example = example_modules())]
    pub modules: BTreeMap<String, logging::Level>,
}

fn example_modules() -> BTreeMap<String, logging::Level> {
    BTreeMap::from([("address".to_string(), logging::Level::Debug)])
}

impl LogConfig {
    pub fn settings(&self) -> logging::Settings {
        logging::Settings {
            level: self.level,
            format: self.format,
            modules: self.modules.clone(),
        }
    }
}

/// The `[limits]` section. The SMTP and IMAP servers enforce these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Limits {
    /// Largest message accepted, in bytes (announced in the SMTP SIZE extension).
    pub max_message_size: u64,
    /// Recipients accepted in one SMTP transaction.
    pub max_recipients: u32,
    /// Connections open at once from one IPv4 address or IPv6 /64, over all services.
    pub max_connections_per_ip: u32,
    /// New connections per minute, over all services, from one IPv4 /32, /26 and /21
    /// (IPv6 /64, /48 and /32). A client over a limit is refused until the minute ends.
    pub max_connections_per_minute: [u32; 3],
    /// Failed authentications per hour from one IPv4 /32, /26 and /21 (IPv6 /64, /48
    /// and /32). Over a limit, logins from there are refused until failures age out;
    /// each failure is also answered a little later than the one before.
    pub max_auth_failures_per_hour: [u32; 3],
    /// Protocol errors a client may make in one SMTP session before it is closed.
    pub max_errors: u32,
    /// SMTP commands other than MAIL, RCPT, DATA and BDAT that a client may send
    /// before its next message (EHLO, NOOP, RSET, VRFY, ...). Stops sessions that
    /// never deliver anything.
    pub max_commands_before_mail: u32,
    /// Seconds an SMTP session waits for the client's next command (RFC 5321
    /// 4.5.3.2.7 asks for at least 5 minutes).
    pub command_timeout: u32,
    /// Seconds an SMTP session waits for the next bytes of a message (RFC 5321
    /// 4.5.3.2.5 suggests 3 minutes).
    pub data_timeout: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 100 * 1024 * 1024,
            max_recipients: 1000,
            max_connections_per_ip: 100,
            max_connections_per_minute: [300, 1200, 4800],
            max_auth_failures_per_hour: [10, 50, 250],
            max_errors: 10,
            max_commands_before_mail: 50,
            command_timeout: 300,
            data_timeout: 180,
        }
    }
}

/// The `[queue]` section: how the outgoing queue retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct QueueConfig {
    /// Seconds from a failed attempt to the first retry; each further wait is
    /// twice the one before.
    pub first_retry_seconds: u32,
    /// Attempts per recipient before the message fails and a DSN goes back to
    /// the sender.
    pub max_attempts: u32,
    /// After this many failed attempts the sender gets a "delayed" DSN (once).
    pub delay_dsn_after: u32,
    /// Deliveries running at once, over all destinations (one connection per
    /// destination domain at a time).
    pub max_concurrent: u32,
    /// Days the record of finished deliveries ("retired") is kept.
    pub retired_days: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            first_retry_seconds: 450,
            max_attempts: 8,
            delay_dsn_after: 5,
            max_concurrent: 20,
            retired_days: 30,
        }
    }
}

/// One `[listeners.NAME]` section: where to listen and what to serve there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Listener {
    /// IP addresses to listen on. "0.0.0.0" and "::" mean all addresses of that family.
    #[schemars(example = vec!["192.0.2.10", "2001:db8::10"])]
    pub ips: Vec<IpAddr>,
    /// Name used in greetings and to pick a TLS certificate. Defaults to hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = "mx1.example.org")]
    pub hostname: Option<String>,
    /// Certificates for STARTTLS and for the services that start with TLS
    /// (submissions, imaps, https). Without them only plain services can be enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// Documented exceptions to pedantic parsing, for peers that cannot be fixed.
    /// Each one is listed with what it allows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = vec![Leniency::DotLocalpart])]
    pub lenient: Vec<Leniency>,
    /// Allow logins (SMTP AUTH, IMAP LOGIN and AUTHENTICATE) before TLS, sending
    /// passwords in the clear. Only for loopback or a trusted network, as
    /// `gannet localserve` does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_plaintext_auth: bool,
    /// SMTP for incoming mail from other servers (RFC 5321), port 25.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Service>,
    /// Mail submission with STARTTLS and authentication (RFC 6409), port 587.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<Service>,
    /// Mail submission over TLS from the first byte (RFC 8314), port 465.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submissions: Option<Service>,
    /// IMAP with STARTTLS (RFC 9051), port 143.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<Service>,
    /// IMAP over TLS from the first byte (RFC 8314), port 993.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imaps: Option<Service>,
    /// Plain HTTP: web interfaces, autoconfig, redirects to HTTPS, port 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Service>,
    /// HTTPS: web interfaces, webapi, autoconfig, MTA-STS policy, port 443.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<Service>,
}

/// The services a listener can serve, with their standard ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Smtp,
    Submission,
    Submissions,
    Imap,
    Imaps,
    Http,
    Https,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 7] = [
        ServiceKind::Smtp,
        ServiceKind::Submission,
        ServiceKind::Submissions,
        ServiceKind::Imap,
        ServiceKind::Imaps,
        ServiceKind::Http,
        ServiceKind::Https,
    ];

    /// The key in a listener section.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Smtp => "smtp",
            ServiceKind::Submission => "submission",
            ServiceKind::Submissions => "submissions",
            ServiceKind::Imap => "imap",
            ServiceKind::Imaps => "imaps",
            ServiceKind::Http => "http",
            ServiceKind::Https => "https",
        }
    }

    pub fn standard_port(self) -> u16 {
        match self {
            ServiceKind::Smtp => 25,
            ServiceKind::Submission => 587,
            ServiceKind::Submissions => 465,
            ServiceKind::Imap => 143,
            ServiceKind::Imaps => 993,
            ServiceKind::Http => 80,
            ServiceKind::Https => 443,
        }
    }

    /// Whether the service speaks TLS from the first byte, so needs a certificate.
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            ServiceKind::Submissions | ServiceKind::Imaps | ServiceKind::Https
        )
    }
}

/// A service on a listener. An empty table enables it on its standard port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Service {
    /// TCP port; the service's standard port when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Listener {
    /// A listener on `ips` with no certificate, no leniencies and no services yet.
    pub fn on(ips: Vec<IpAddr>) -> Self {
        Listener {
            ips,
            hostname: None,
            tls: None,
            lenient: Vec::new(),
            allow_plaintext_auth: false,
            smtp: None,
            submission: None,
            submissions: None,
            imap: None,
            imaps: None,
            http: None,
            https: None,
        }
    }

    /// The enabled services with their ports.
    pub fn services(&self) -> Vec<(ServiceKind, u16)> {
        ServiceKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let service = match kind {
                    ServiceKind::Smtp => &self.smtp,
                    ServiceKind::Submission => &self.submission,
                    ServiceKind::Submissions => &self.submissions,
                    ServiceKind::Imap => &self.imap,
                    ServiceKind::Imaps => &self.imaps,
                    ServiceKind::Http => &self.http,
                    ServiceKind::Https => &self.https,
                };
                service
                    .as_ref()
                    .map(|s| (kind, s.port.unwrap_or(kind.standard_port())))
            })
            .collect()
    }
}

/// Certificate and key files, PEM encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tls {
    /// Certificate chain, leaf first. A relative path is relative to gannet.toml.
    #[schemars(example = "tls/mail.example.org.crt")]
    pub cert_file: PathBuf,
    /// Private key for the certificate. A relative path is relative to gannet.toml.
    #[schemars(example = "tls/mail.example.org.key")]
    pub key_file: PathBuf,
}
