//! `gannet localserve`: a complete local mail server for developers who test mail
//! clients and applications. This module owns its generated configuration (one
//! listener on loopback with the standard ports plus an offset, the domain
//! `localhost`, the account `gannet` that catches all mail), the failures a test
//! can ask for ([`failures`]) and the run-time mail policy ([`policy`]).

pub mod failures;
pub mod policy;

pub use policy::Policy;

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::auth;
use crate::config::{
    AccountConfig, DOMAINS_FILE, DkimSelector, DomainConfig, DomainsConfig, Limits, Listener,
    LocalserveConfig, QueueConfig, STATIC_FILE, Service, StaticConfig, Tls,
};
use crate::dkim::PrivateKey;
use crate::store::AuthDb;
use crate::tls::TlsError;
use crate::tls::self_signed::{self, SelfSigned};

/// Added to the standard ports by default: SMTP on 1025, IMAP on 1143, HTTP on 1080.
pub const DEFAULT_PORT_OFFSET: u16 = 1000;

/// The account that gets all mail, its login and its password.
pub const ACCOUNT: &str = "gannet";
pub const LOGIN: &str = "gannet@localhost";
pub const PASSWORD: &str = "gannetgannet";

/// The domain of localserve's addresses and logins.
pub fn domain() -> crate::address::Domain {
    crate::address::Domain::parse(DOMAIN, crate::leniency::Leniencies::PEDANTIC)
        .expect("localhost is a domain")
}

const DOMAIN: &str = "localhost";

/// Where the self-signed certificate lives, relative to the localserve directory.
const TLS_DIR: &str = "tls";

/// Gives the account its password ([`PASSWORD`]) if it has none, as after the
/// first start or when the data directory was removed; returns whether it did.
/// A password changed with `gannet setaccountpassword` is kept.
pub fn ensure_password(data_dir: &Path) -> Result<bool, String> {
    let mut db = AuthDb::open(data_dir).map_err(|e| e.to_string())?;
    if db
        .credentials(ACCOUNT)
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(false);
    }
    auth::set_password(&mut db, ACCOUNT, PASSWORD).map_err(|e| e.to_string())?;
    Ok(true)
}

/// The self-signed certificate's file, for clients to trust.
pub fn certificate_file(dir: &Path) -> PathBuf {
    dir.join(TLS_DIR).join(self_signed::CERT_FILE)
}

/// Makes sure the self-signed certificate in `dir` exists and is not about to
/// expire (see [`self_signed::load_or_generate`]); call before loading the config.
pub fn ensure_certificate(dir: &Path) -> Result<SelfSigned, TlsError> {
    self_signed::load_or_generate(&dir.join(TLS_DIR), &[])
}

/// Where and how localserve listens.
#[derive(Debug, Clone)]
pub struct Options {
    pub ip: IpAddr,
    pub port_offset: u16,
}

impl Default for Options {
    /// As `gannet localserve` runs without options: 127.0.0.1, ports plus 1000.
    fn default() -> Options {
        Options {
            ip: IpAddr::from([127, 0, 0, 1]),
            port_offset: DEFAULT_PORT_OFFSET,
        }
    }
}

/// The default directory: `gannet-localserve` in the user's config directory.
pub fn default_dir() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("gannet-localserve")
}

/// The generated configuration: every service on loopback at its port plus the
/// offset, TLS with the self-signed certificate, logins allowed without TLS.
pub fn config(opts: &Options) -> Result<(StaticConfig, DomainsConfig), String> {
    let port = |standard: u16| {
        standard
            .checked_add(opts.port_offset)
            .map(|p| Some(Service { port: Some(p) }))
            .ok_or_else(|| {
                format!(
                    "port offset {} moves port {standard} past 65535",
                    opts.port_offset
                )
            })
    };
    let listener = Listener {
        tls: Some(Tls {
            cert_file: Path::new(TLS_DIR).join(self_signed::CERT_FILE),
            key_file: Path::new(TLS_DIR).join(self_signed::KEY_FILE),
        }),
        // Developers' clients on loopback: logins without TLS are fine here.
        allow_plaintext_auth: true,
        smtp: port(25)?,
        submission: port(587)?,
        submissions: port(465)?,
        imap: port(143)?,
        imaps: port(993)?,
        http: port(80)?,
        ..Listener::on(vec![opts.ip])
    };
    let static_config = StaticConfig {
        hostname: DOMAIN.to_string(),
        data_dir: "data".into(),
        log: Default::default(),
        // Test suites connect often and try wrong passwords on purpose.
        limits: Limits {
            max_connections_per_minute: [6000, 6000, 6000],
            max_auth_failures_per_hour: [1000, 1000, 1000],
            ..Limits::default()
        },
        // Every delivery goes to this server's own SMTP port, where the failures
        // asked for by address happen. Retries come quickly (5, 10, 20, 40, 80 s),
        // so a developer sees a "delayed" DSN within two minutes and a "failed"
        // one within three.
        queue: QueueConfig {
            first_retry_seconds: 5,
            max_attempts: 6,
            ..QueueConfig::default()
        },
        transports: BTreeMap::new(),
        routes: Vec::new(),
        listeners: BTreeMap::from([("local".to_string(), listener)]),
        localserve: Some(LocalserveConfig::default()),
    };
    let account = AccountConfig {
        domain: DOMAIN.to_string(),
        // Mail to other addresses comes here through the catchall of [`Policy`].
        destinations: vec![ACCOUNT.to_string()],
        full_name: Some("Gannet localserve".to_string()),
        login_disabled: None,
        quota_bytes: None,
        quota_messages: None,
        unique_mail_from: false,
        routes: Vec::new(),
    };
    let dkim = DkimSelector {
        key_file: Path::new(DKIM_KEY_FILE).to_path_buf(),
        sign: true,
        expire_seconds: None,
    };
    let domain = DomainConfig {
        dkim: BTreeMap::from([(DKIM_SELECTOR.to_string(), dkim)]),
        ..DomainConfig::default()
    };
    let domains = DomainsConfig {
        domains: BTreeMap::from([(DOMAIN.to_string(), domain)]),
        accounts: BTreeMap::from([(ACCOUNT.to_string(), account)]),
        aliases: BTreeMap::new(),
    };
    Ok((static_config, domains))
}

/// Writes the generated config into `dir` unless a gannet.toml is there already, so
/// that a developer's edits survive restarts. Returns whether it wrote.
pub fn write_config_if_missing(dir: &Path, opts: &Options) -> io::Result<bool> {
    if dir.join(STATIC_FILE).exists() {
        return Ok(false);
    }
    let (static_config, domains) = config(opts).map_err(io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    write_dkim_key(&dir.join(DKIM_KEY_FILE))?;
    write_toml(&dir.join(DOMAINS_FILE), &domains, "")?;
    // gannet.toml last: its presence marks a complete config.
    write_toml(&dir.join(STATIC_FILE), &static_config, CHAOS_EXAMPLE)?;
    Ok(true)
}

/// Ends the generated gannet.toml: how to add random failures.
const CHAOS_EXAMPLE: &str = "
# Random failures for chaos testing, one entry per rule (see gannet localserve --help):
# chaos_seed = 1                # the same failures on every run
#
# [[localserve.chaos]]
# stage = \"rcpt-to\"             # mail-from, rcpt-to or data
# probability = 0.1
# failure = \"451\"               # temperror, permerror, timeout, disconnect or 400-599
";

/// The DKIM key submitted mail from localhost is signed with, and its selector:
/// RSA, which every verifier knows.
pub const DKIM_KEY_FILE: &str = "dkim/localhost.pem";
pub const DKIM_SELECTOR: &str = "gannet";

/// A new RSA key at `path`, readable by its owner only.
fn write_dkim_key(path: &Path) -> io::Result<()> {
    let key = PrivateKey::generate_rsa()
        .and_then(|k| k.to_pem())
        .map_err(io::Error::other)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    io::Write::write_all(&mut options.open(path)?, key.as_bytes())
}

fn write_toml<T: serde::Serialize>(path: &Path, value: &T, trailer: &str) -> io::Result<()> {
    let text = toml::to_string_pretty(value).map_err(io::Error::other)?;
    let header =
        "# Generated by `gannet localserve`. Edits are kept; delete this file to regenerate.\n\n";
    std::fs::write(path, format!("{header}{text}{trailer}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn generated_config_loads_and_uses_offset_ports() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default();
        assert!(write_config_if_missing(dir.path(), &opts).unwrap());
        assert!(
            !write_config_if_missing(dir.path(), &opts).unwrap(),
            "an existing config is kept"
        );
        ensure_certificate(dir.path()).unwrap();
        let data = dir.path().join("data");
        assert!(ensure_password(&data).unwrap(), "set at the first start");
        assert!(!ensure_password(&data).unwrap(), "kept afterwards");
        let cfg = Config::load(&dir.path().join(STATIC_FILE)).unwrap();
        // A DKIM key of its own, which the config check has loaded.
        let dkim = &cfg.domains.domains[DOMAIN].dkim[DKIM_SELECTOR];
        assert_eq!(dkim.key_file, Path::new(DKIM_KEY_FILE));
        let key_file = dir.path().join(DKIM_KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let pem = std::fs::read_to_string(&key_file).unwrap();
        assert_eq!(
            PrivateKey::from_pem(&pem).unwrap().algorithm().name(),
            "rsa-sha256"
        );
        let ports: Vec<u16> = cfg.static_config.listeners["local"]
            .services()
            .iter()
            .map(|(_, p)| *p)
            .collect();
        assert_eq!(ports, [1025, 1587, 1465, 1143, 1993, 1080]);
        let auth = crate::auth::Authenticator::new(
            &cfg.data_dir(),
            &cfg.domains,
            [10, 50, 250],
            "localhost",
        )
        .unwrap();
        let client = crate::auth::Client {
            protocol: "submission",
            remote_ip: opts.ip,
            tls: None,
            key: None,
            user_agent: None,
        };
        let plain = format!("\0{LOGIN}\0{PASSWORD}");
        let (_, outcome) = auth.start(&client, "PLAIN", Some(plain.as_bytes()));
        assert!(
            matches!(&outcome, crate::auth::Outcome::Success { login, .. } if login.account == ACCOUNT),
            "{outcome:?}"
        );
    }

    #[test]
    fn the_chaos_example_loads_once_uncommented() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::default();
        write_config_if_missing(dir.path(), &opts).unwrap();
        ensure_certificate(dir.path()).unwrap();
        let path = dir.path().join(STATIC_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with(CHAOS_EXAMPLE), "{text}");
        // The example's settings, not its explanations.
        let uncommented: Vec<&str> = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(setting) if setting.starts_with('[') || setting.contains(" = ") => setting,
                _ => l,
            })
            .collect();
        std::fs::write(&path, uncommented.join("\n")).unwrap();
        let cfg = Config::load(&path).unwrap();
        let local = cfg.static_config.localserve.unwrap();
        assert_eq!(local.chaos_seed, Some(1));
        assert_eq!(
            local.chaos,
            [failures::ChaosRule {
                stage: failures::Stage::RcptTo,
                probability: 0.1,
                failure: failures::Failure::Reply(451, crate::smtp::Enhanced(4, 0, 0)),
            }]
        );
    }

    #[test]
    fn an_offset_past_the_last_port_is_an_error() {
        let opts = Options {
            port_offset: 65000,
            ..Options::default()
        };
        assert_eq!(
            config(&opts).unwrap_err(),
            "port offset 65000 moves port 587 past 65535"
        );
    }
}
