//! Configuration: `gannet.toml` (static settings) and `domains.toml` (domains,
//! accounts, aliases) beside it, parsed into typed structs with defaults.
//!
//! Loading reports every problem at once, each with its file, key path and, where
//! useful, a hint: bad TOML, values of the wrong type, unknown keys, and what the
//! types cannot say (invalid addresses, unconfigured domains, port conflicts).
//! `gannet config describe` prints the reference generated from these types.

mod check_domains;
mod check_static;
mod decode;
pub mod describe;
mod domains_config;
mod error;
pub mod example;
mod static_config;

use std::path::{Path, PathBuf};

pub use domains_config::{AccountConfig, AliasConfig, DomainConfig, DomainsConfig};
pub use error::{ConfigError, KeyPath};
pub use static_config::{Limits, Listener, LogConfig, Service, ServiceKind, StaticConfig, Tls};

/// The static config file's usual name; `domains.toml` is looked up beside it.
pub const STATIC_FILE: &str = "gannet.toml";
pub const DOMAINS_FILE: &str = "domains.toml";

/// A loaded and checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory of gannet.toml; relative paths in the config are relative to it.
    pub dir: PathBuf,
    pub static_config: StaticConfig,
    pub domains: DomainsConfig,
}

impl Config {
    /// Loads `path` (a gannet.toml) and the domains.toml beside it, and checks both.
    /// On failure, returns every error found in either file.
    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let domains_path = dir.join(DOMAINS_FILE);
        let mut errors = Vec::new();
        let static_config = read_and_decode::<StaticConfig>(path, &mut errors);
        if let Some(cfg) = &static_config {
            check_static::check(&path.display().to_string(), cfg, &dir, &mut errors);
        }
        let domains = read_and_decode::<DomainsConfig>(&domains_path, &mut errors);
        if let Some(cfg) = &domains {
            check_domains::check(&domains_path.display().to_string(), cfg, &mut errors);
        }
        match (static_config, domains) {
            (Some(static_config), Some(domains)) if errors.is_empty() => Ok(Config {
                dir,
                static_config,
                domains,
            }),
            _ => Err(errors),
        }
    }

    /// The data directory, resolved against the config directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(&self.static_config.data_dir)
    }
}

fn read_and_decode<T: serde::de::DeserializeOwned>(
    path: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => decode::decode(&file, &text, errors),
        Err(e) => {
            errors.push(
                ConfigError::new(&file, KeyPath::root(), format!("cannot read: {e}"))
                    .hint("`gannet config example --write DIR` writes a commented starting point"),
            );
            None
        }
    }
}
