//! Configuration: `gannet.toml` (static settings) and `domains.toml` (domains,
//! accounts, aliases) beside it, parsed into typed structs with defaults.
//!
//! Loading reports every problem at once, each with its file, key path and, where
//! useful, a hint: bad TOML, values of the wrong type, unknown keys, and what the
//! types cannot say (invalid addresses, unconfigured domains, port conflicts).
//! `gannet config describe` prints the reference generated from these types.

mod check_domains;
mod check_static;
mod check_transports;
mod decode;
pub mod describe;
mod domains_config;
mod error;
pub mod example;
mod static_config;
mod transports;

use std::path::{Path, PathBuf};

pub use check_domains::load_dkim_key;
pub use check_transports::login;
pub use domains_config::{AccountConfig, AliasConfig, DkimSelector, DomainConfig, DomainsConfig};
pub use error::{ConfigError, KeyPath};
pub use static_config::{
    Limits, Listener, LocalserveConfig, LogConfig, QueueConfig, Service, ServiceKind, StaticConfig,
    Tls,
};
pub use transports::{DIRECT, RouteConfig, TransportConfig, TransportKind};

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
        let static_text = std::fs::read_to_string(path);
        let domains_text = std::fs::read_to_string(&domains_path);
        check(
            dir,
            Source::new(path, static_text.as_deref()),
            Source::new(&domains_path, domains_text.as_deref()),
        )
    }

    /// Checks a configuration given as text: `static_text` as the gannet.toml and
    /// `domains_text` as the domains.toml of `dir`, exactly as [`Config::load`] checks
    /// those files. Errors name the files `dir/gannet.toml` and `dir/domains.toml`.
    ///
    /// It reads no config file. The one thing it looks up on disk is what the config
    /// names: each listener's TLS `cert_file` and `key_file`, relative to `dir`, must
    /// exist (their metadata is read, never their contents).
    pub fn from_text(
        dir: &Path,
        static_text: &str,
        domains_text: &str,
    ) -> Result<Config, Vec<ConfigError>> {
        check(
            dir.to_path_buf(),
            Source::new(&dir.join(STATIC_FILE), Ok(static_text)),
            Source::new(&dir.join(DOMAINS_FILE), Ok(domains_text)),
        )
    }

    /// The data directory, resolved against the config directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(&self.static_config.data_dir)
    }
}

/// One config file: the name errors give it, and its text or why it could not be read.
struct Source<'a> {
    file: String,
    text: Result<&'a str, &'a std::io::Error>,
}

impl<'a> Source<'a> {
    fn new(path: &Path, text: Result<&'a str, &'a std::io::Error>) -> Self {
        Source {
            file: path.display().to_string(),
            text,
        }
    }

    /// The file decoded into `T`, or `None` with the errors pushed onto `errors`.
    fn decode<T: serde::de::DeserializeOwned>(&self, errors: &mut Vec<ConfigError>) -> Option<T> {
        match self.text {
            Ok(text) => decode::decode(&self.file, text, errors),
            Err(e) => {
                errors.push(
                    ConfigError::new(&self.file, KeyPath::root(), format!("cannot read: {e}"))
                        .hint(
                            "`gannet config example --write DIR` writes a commented starting point",
                        ),
                );
                None
            }
        }
    }
}

/// Decodes and checks both files; on failure, every error found in either, the
/// static file's first.
fn check(
    dir: PathBuf,
    static_file: Source,
    domains_file: Source,
) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let static_config = static_file.decode::<StaticConfig>(&mut errors);
    if let Some(cfg) = &static_config {
        check_static::check(&static_file.file, cfg, &dir, &mut errors);
    }
    let domains = domains_file.decode::<DomainsConfig>(&mut errors);
    if let Some(cfg) = &domains {
        let transports = static_config.as_ref().map(|s| &s.transports);
        check_domains::check(&domains_file.file, &dir, cfg, transports, &mut errors);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(file: &str) -> String {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken-config");
        std::fs::read_to_string(dir.join(file)).unwrap()
    }

    #[test]
    fn from_text_reports_what_load_reports() {
        let dir = tempfile::tempdir().unwrap();
        let (static_text, domains_text) = (fixture(STATIC_FILE), fixture(DOMAINS_FILE));
        std::fs::write(dir.path().join(STATIC_FILE), &static_text).unwrap();
        std::fs::write(dir.path().join(DOMAINS_FILE), &domains_text).unwrap();
        let loaded = Config::load(&dir.path().join(STATIC_FILE)).unwrap_err();
        let checked = Config::from_text(dir.path(), &static_text, &domains_text).unwrap_err();
        assert_eq!(loaded.len(), 17);
        assert_eq!(checked, loaded);
        assert_eq!(
            checked[0].file,
            dir.path().join(STATIC_FILE).display().to_string()
        );
    }

    #[test]
    fn from_text_accepts_the_example() {
        let (static_config, domains) = example::example();
        let cfg = Config::from_text(
            Path::new("etc"),
            &toml::to_string(&static_config).unwrap(),
            &toml::to_string(&domains).unwrap(),
        )
        .unwrap();
        assert_eq!(cfg.dir, Path::new("etc"));
        assert_eq!((cfg.static_config, cfg.domains), (static_config, domains));
    }

    #[test]
    fn dkim_selectors_and_their_keys_are_checked_when_loading() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::dkim::PrivateKey::generate_ed25519().unwrap();
        std::fs::write(dir.path().join("good.pem"), key.to_pem().unwrap()).unwrap();
        std::fs::write(dir.path().join("bad.pem"), "not a key").unwrap();
        let (static_config, _) = example::example();
        let domains = r#"
            [domains."example.org".dkim.ok]
            key_file = "good.pem"
            [domains."example.org".dkim."bad_selector"]
            key_file = "good.pem"
            [domains."example.org".dkim.garbled]
            key_file = "bad.pem"
            [domains."example.org".dkim.missing]
            key_file = "missing.pem"
            sign = false
        "#;
        let errors: Vec<String> = Config::from_text(
            dir.path(),
            &toml::to_string(&static_config).unwrap(),
            domains,
        )
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains(
                "domains.\"example.org\".dkim.bad_selector: \"bad_selector\" is not a DKIM selector"
            ),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("dkim.garbled.key_file: ")
                && errors[1].contains("bad.pem is not a usable DKIM key"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("dkim.missing.key_file: cannot read "),
            "{errors:?}"
        );
    }

    #[test]
    fn from_text_reports_errors_in_both_texts() {
        let errors = Config::from_text(Path::new(""), "hostname = [", "[accounts.x]\n")
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("gannet.toml: not valid TOML: line 1"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("domains.toml: accounts.x: missing field"),
            "{errors:?}"
        );
    }
}
