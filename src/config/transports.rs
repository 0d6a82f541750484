//! Transports and routes: other ways out for the outgoing queue than direct
//! delivery to each recipient domain's MX hosts, and which mail takes them.
//! Transports are named in gannet.toml; routes are in gannet.toml (for all mail)
//! and in domains.toml (for mail from a domain or an account).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The transport every route may name without defining it.
pub const DIRECT: &str = "direct";

/// One `[transports.NAME]` section, which routes name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransportConfig {
    /// What the transport does.
    #[schemars(example = TransportKind::Relay)]
    pub kind: TransportKind,
    /// The server connected to: the smarthost, the submission service, or the SOCKS5
    /// proxy. A host name (looked up with the system's resolver) or an IP address.
    #[schemars(example = "smtp.example.net")]
    pub host: String,
    /// TCP port on `host`. Without it: 25 for relay, 587 for submission, 465 for
    /// submissions, 1080 for socks5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = 587)]
    pub port: Option<u16>,
    /// For relay only: STARTTLS must succeed and the certificate must verify for
    /// `host` against the system's trust store, or the attempt fails (and is retried).
    /// Without it, STARTTLS is used where offered with any certificate, and the
    /// message goes in plain text when the handshake fails, as in direct delivery.
    /// Submission and submissions always require TLS and verify.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_tls: bool,
    /// Log in with this name: SMTP AUTH (RFC 4954) for relay (optional), submission
    /// and submissions (required); a SOCKS5 login (RFC 1929) for socks5 (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = "mail@example.org")]
    pub username: Option<String>,
    /// The file holding the password for `username`, relative to the config
    /// directory; one final line break is not part of it. Read at start. Keeping the
    /// secret out of the config lets the config be shared and the file be readable by
    /// the server only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = "secrets/smarthost-password")]
    pub password_file: Option<PathBuf>,
}

impl TransportConfig {
    /// The port to connect to: the configured one or the kind's standard one.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.kind {
            TransportKind::Relay => 25,
            TransportKind::Submission => 587,
            TransportKind::Submissions => 465,
            TransportKind::Socks5 => 1080,
        })
    }
}

/// The kinds of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// SMTP to a smarthost that relays for this server, port 25 by default.
    Relay,
    /// Message submission (RFC 6409) to a mail service where this server has an
    /// account, port 587: STARTTLS required, certificate verified, login required.
    Submission,
    /// Like submission, with TLS from the first byte (RFC 8314), port 465.
    Submissions,
    /// Direct delivery to each recipient domain's MX hosts, with every connection made
    /// through the SOCKS5 proxy (RFC 1928) at host and port.
    Socks5,
}

impl TransportKind {
    /// The name in the config, and in the delivery history.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Relay => "relay",
            TransportKind::Submission => "submission",
            TransportKind::Submissions => "submissions",
            TransportKind::Socks5 => "socks5",
        }
    }
}

/// One route: which transport takes which mail. Routes are checked for each
/// message's recipients at one domain: the sending account's routes first, then
/// those of the sender's domain, then those of gannet.toml, each list in order;
/// the first route that matches wins, and mail no route matches is delivered
/// directly to the recipient domain's MX hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteConfig {
    /// Sender (MAIL FROM) domains the route is for; any when empty. "example.org"
    /// matches that domain only, ".example.org" its subdomains only (list both for
    /// both). Mail from the null sender (DSNs) matches only routes without
    /// from_domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = vec!["example.org"])]
    pub from_domains: Vec<String>,
    /// Recipient domains the route is for, written as for from_domains; any when
    /// empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = vec!["example.com", ".example.com"])]
    pub to_domains: Vec<String>,
    /// The route is taken from this attempt on: 1 (the default) is the first
    /// attempt, 3 the second retry. With it, mail that keeps failing one way can be
    /// tried another.
    #[serde(default = "first_attempt", skip_serializing_if = "is_first_attempt")]
    #[schemars(example = 3)]
    pub min_attempt: u32,
    /// The transport: the NAME of a [transports.NAME] section of gannet.toml, or
    /// "direct" for delivery to the recipient domain's MX hosts.
    #[schemars(example = &"smarthost")]
    pub transport: String,
}

fn first_attempt() -> u32 {
    1
}

fn is_first_attempt(n: &u32) -> bool {
    *n == 1
}
