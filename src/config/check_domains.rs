//! Checks on `domains.toml` that its types cannot express: valid and configured
//! domains, valid addresses, and each address delivered to one place only.

use std::collections::BTreeMap;
use std::path::Path;

use super::check_transports::{Transports, check_routes};
use super::domains_config::{AccountConfig, DkimSelector, DomainConfig, DomainsConfig};
use super::error::{ConfigError, KeyPath};
use crate::address::{Address, Domain, Host};
use crate::leniency::Leniencies;

/// Account names become directory names and logins: keep them portable.
const ACCOUNT_NAME_HINT: &str =
    "use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters";

/// What an address matches for delivery: a local part (normalized as its domain says)
/// at a domain, or, for a catchall, every local part of the domain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct DeliveryKey {
    domain: String,
    localpart: Option<String>,
}

struct Checker<'a> {
    file: &'a str,
    /// The config directory, which relative key files are in.
    dir: &'a Path,
    errors: &'a mut Vec<ConfigError>,
    /// Configured domains by A-label form.
    domains: BTreeMap<String, &'a DomainConfig>,
    /// Which key claimed each delivery address first.
    claimed: BTreeMap<DeliveryKey, KeyPath>,
}

/// Checks domains.toml; `transports` are gannet.toml's, which routes name (`None`
/// when gannet.toml could not be decoded).
pub fn check(
    file: &str,
    dir: &Path,
    cfg: &DomainsConfig,
    transports: Option<&Transports>,
    errors: &mut Vec<ConfigError>,
) {
    let mut c = Checker {
        file,
        dir,
        errors,
        domains: BTreeMap::new(),
        claimed: BTreeMap::new(),
    };
    let root = KeyPath::root();
    for (name, domain) in &cfg.domains {
        let key = root.key("domains").key(name);
        c.domain(&key, name, domain);
        check_routes(
            file,
            &key.key("routes"),
            &domain.routes,
            transports,
            c.errors,
        );
    }
    for (name, account) in &cfg.accounts {
        let key = root.key("accounts").key(name);
        c.account(&key, name, account);
        check_routes(
            file,
            &key.key("routes"),
            &account.routes,
            transports,
            c.errors,
        );
    }
    for (address, alias) in &cfg.aliases {
        let key = root.key("aliases").key(address);
        if let Some(parsed) = c.address(&key, address) {
            c.claim(&key, &parsed);
        }
        if alias.members.is_empty() {
            c.error(key.key("members"), "an alias needs at least one member");
        }
        for (i, member) in alias.members.iter().enumerate() {
            if let Err(e) = Address::parse(member, Leniencies::PEDANTIC) {
                c.error(
                    key.key("members").index(i),
                    format!("{member:?} is not a valid address: {e}"),
                );
            }
        }
    }
}

impl<'a> Checker<'a> {
    fn error(&mut self, key: KeyPath, message: impl Into<String>) {
        self.errors.push(ConfigError::new(self.file, key, message));
    }

    fn domain(&mut self, key: &KeyPath, name: &str, config: &'a DomainConfig) {
        match Domain::parse(name, Leniencies::PEDANTIC) {
            Err(e) => self.error(
                key.clone(),
                format!("{name:?} is not a valid domain name: {e}"),
            ),
            Ok(d) if self.domains.contains_key(d.ascii()) => self.error(
                key.clone(),
                format!(
                    "domain {} is configured twice (names compare without case, as A-labels)",
                    d.ascii()
                ),
            ),
            Ok(d) => {
                self.domains.insert(d.ascii().to_string(), config);
            }
        }
        for (selector, dkim) in &config.dkim {
            self.dkim_selector(&key.key("dkim").key(selector), selector, dkim);
        }
    }

    /// A selector is one or more DNS labels; its key must load now, not at the first
    /// message it should sign.
    fn dkim_selector(&mut self, key: &KeyPath, selector: &str, config: &DkimSelector) {
        if let Err(e) = crate::dkim::check_selector(selector) {
            self.error(
                key.clone(),
                format!("{selector:?} is not a DKIM selector: {e}"),
            );
        }
        if let Err(e) = load_dkim_key(self.dir, &config.key_file) {
            self.error(key.key("key_file"), e);
        }
    }

    /// The configured domain `name` refers to, or an error at `key`.
    fn configured(&mut self, key: &KeyPath, name: &str) -> Option<Domain> {
        let domain = match Domain::parse(name, Leniencies::PEDANTIC) {
            Ok(d) => d,
            Err(e) => {
                self.error(
                    key.clone(),
                    format!("{name:?} is not a valid domain name: {e}"),
                );
                return None;
            }
        };
        if !self.domains.contains_key(domain.ascii()) {
            self.errors.push(
                ConfigError::new(
                    self.file,
                    key.clone(),
                    format!("domain {domain} is not configured"),
                )
                .hint(format!("add a [domains.\"{domain}\"] section")),
            );
            return None;
        }
        Some(domain)
    }

    fn account(&mut self, key: &KeyPath, name: &str, account: &AccountConfig) {
        let valid_name = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid_name {
            self.errors.push(
                ConfigError::new(
                    self.file,
                    key.clone(),
                    format!("{name:?} is not a valid account name"),
                )
                .hint(ACCOUNT_NAME_HINT),
            );
        }
        let domain = self.configured(&key.key("domain"), &account.domain);
        if account.destinations.is_empty() {
            self.error(
                key.key("destinations"),
                "an account needs at least one destination address",
            );
        }
        for (i, dest) in account.destinations.iter().enumerate() {
            let key = key.key("destinations").index(i);
            if let Some(catchall) = dest.strip_prefix('@') {
                if let Some(d) = self.configured(&key, catchall) {
                    self.claim_key(
                        &key,
                        DeliveryKey {
                            domain: d.ascii().to_string(),
                            localpart: None,
                        },
                    );
                }
            } else if dest.contains('@') {
                if let Some(address) = self.address(&key, dest) {
                    self.claim(&key, &address);
                }
            } else if let Some(address) = domain
                .as_ref()
                .and_then(|d| self.address(&key, &format!("{dest}@{}", d.ascii())))
            {
                self.claim(&key, &address);
            }
        }
    }

    /// Parses a delivery address, which must be at a configured domain and must not
    /// contain its domain's catchall separator (the part after it never matches).
    fn address(&mut self, key: &KeyPath, text: &str) -> Option<Address> {
        let address = match Address::parse(text, Leniencies::PEDANTIC) {
            Ok(a) => a,
            Err(e) => {
                self.error(key.clone(), format!("{text:?} is not a valid address: {e}"));
                return None;
            }
        };
        let Host::Domain(domain) = &address.host else {
            self.error(
                key.clone(),
                format!("{text:?}: an address literal cannot be a local address"),
            );
            return None;
        };
        let Some(config) = self.domains.get(domain.ascii()).copied() else {
            self.configured(key, domain.ascii()); // reports the unconfigured domain
            return None;
        };
        if let Some(sep) = config
            .localpart_catchall_separators
            .iter()
            .find(|s| address.localpart.as_str().contains(**s))
        {
            self.error(
                key.clone(),
                format!("{text:?} contains '{sep}', the catchall separator of its domain, so it could never receive mail"),
            );
            return None;
        }
        Some(address)
    }

    fn claim(&mut self, key: &KeyPath, address: &Address) {
        let Host::Domain(domain) = &address.host else {
            return;
        };
        let sensitive = self
            .domains
            .get(domain.ascii())
            .is_some_and(|d| d.localpart_case_sensitive);
        let localpart = address.localpart.as_str();
        let localpart = if sensitive {
            localpart.to_string()
        } else {
            localpart.to_lowercase()
        };
        self.claim_key(
            key,
            DeliveryKey {
                domain: domain.ascii().to_string(),
                localpart: Some(localpart),
            },
        );
    }

    fn claim_key(&mut self, key: &KeyPath, delivery: DeliveryKey) {
        if let Some(first) = self.claimed.get(&delivery) {
            let message = format!("delivers the same address as {first}");
            self.error(key.clone(), message);
        } else {
            self.claimed.insert(delivery, key.clone());
        }
    }
}

/// The DKIM key in `file` (relative to `dir`), or what is wrong with it.
pub fn load_dkim_key(dir: &Path, file: &Path) -> Result<crate::dkim::PrivateKey, String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    crate::dkim::PrivateKey::from_pem(&text)
        .map_err(|e| format!("{} is not a usable DKIM key: {e}", path.display()))
}
