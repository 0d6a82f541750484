//! Which account (or accounts, for an alias) an address is delivered to, from
//! domains.toml: full addresses, bare local parts, `@domain` catchalls, the domain's
//! local-part catchall separators ("+"), its case rule, and aliases. Addresses are
//! compared in their normalized form: domains as lowercase A-labels (so U-label and
//! A-label forms match), local parts lowercased unless the domain is case-sensitive.

use std::collections::{BTreeMap, BTreeSet};

use crate::address::{Address, Domain, Host};
use crate::config::DomainsConfig;
use crate::leniency::Leniencies;

/// Where an address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// One account.
    Account(String),
    /// An alias: its local member accounts, and remote members (for the queue).
    Alias {
        accounts: BTreeSet<String>,
        remote: Vec<Address>,
    },
}

/// The delivery map, built once from a checked config.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    /// Per domain (A-label): its rules.
    domains: BTreeMap<String, DomainRules>,
    /// (domain, normalized local part) to account.
    addresses: BTreeMap<(String, String), String>,
    /// Domain to the account that catches its unknown addresses.
    catchalls: BTreeMap<String, String>,
    aliases: BTreeMap<(String, String), Alias>,
    /// Accounts that send each message with a MAIL FROM of its own.
    unique_mail_from: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Alias {
    members: Vec<Address>,
    /// Members may send with the alias as sender.
    allow_msg_from: bool,
}

#[derive(Debug, Clone, Default)]
struct DomainRules {
    separators: Vec<char>,
    case_sensitive: bool,
}

impl Recipients {
    /// Builds the map. The config was checked when loaded, so entries that do not
    /// parse cannot occur; any that did would be left out.
    pub fn new(config: &DomainsConfig) -> Recipients {
        let mut r = Recipients::default();
        for (name, d) in &config.domains {
            if let Ok(domain) = Domain::parse(name, Leniencies::PEDANTIC) {
                let rules = DomainRules {
                    separators: d.localpart_catchall_separators.clone(),
                    case_sensitive: d.localpart_case_sensitive,
                };
                r.domains.insert(domain.ascii().to_string(), rules);
            }
        }
        for (account, a) in &config.accounts {
            if a.unique_mail_from {
                r.unique_mail_from.insert(account.clone());
            }
            for dest in &a.destinations {
                if let Some(domain) = dest.strip_prefix('@') {
                    if let Ok(d) = Domain::parse(domain, Leniencies::PEDANTIC) {
                        r.catchalls.insert(d.ascii().to_string(), account.clone());
                    }
                    continue;
                }
                let full = if dest.contains('@') {
                    dest.clone()
                } else {
                    format!("{dest}@{}", a.domain)
                };
                if let Some(key) = Address::parse(&full, Leniencies::PEDANTIC)
                    .ok()
                    .and_then(|addr| r.key(&addr))
                {
                    r.addresses.insert(key, account.clone());
                }
            }
        }
        for (address, alias) in &config.aliases {
            let members = alias
                .members
                .iter()
                .filter_map(|m| Address::parse(m, Leniencies::PEDANTIC).ok())
                .collect();
            if let Some(key) = Address::parse(address, Leniencies::PEDANTIC)
                .ok()
                .and_then(|a| r.key(&a))
            {
                let allow_msg_from = alias.allow_msg_from;
                r.aliases.insert(
                    key,
                    Alias {
                        members,
                        allow_msg_from,
                    },
                );
            }
        }
        r
    }

    /// The lookup key of an address at a configured domain: domain and local part
    /// with the domain's case rule applied.
    fn key(&self, address: &Address) -> Option<(String, String)> {
        let Host::Domain(domain) = &address.host else {
            return None;
        };
        let rules = self.domains.get(domain.ascii())?;
        let local = address.localpart.as_str();
        let local = if rules.case_sensitive {
            local.to_string()
        } else {
            local.to_lowercase()
        };
        Some((domain.ascii().to_string(), local))
    }

    /// For an account with `unique_mail_from`, a MAIL FROM for one message from
    /// `from`: its local part, the domain's first catchall separator and a
    /// random id, which delivers to the same account. Returns the address and
    /// the id; none for other accounts, or a domain without separators.
    pub fn unique_sender(&self, account: &str, from: &Address) -> Option<(Address, String)> {
        if !self.unique_mail_from.contains(account) {
            return None;
        }
        let Host::Domain(domain) = &from.host else {
            return None;
        };
        let separator = *self.domains.get(domain.ascii())?.separators.first()?;
        let id: String = (0..16)
            .map(|_| {
                let n = rand::random_range(0..36u32);
                char::from_digit(n, 36).unwrap_or('0')
            })
            .collect();
        let local = from.localpart.as_str();
        let unique = format!("{local}{separator}{id}@{}", domain.unicode());
        let address = Address::parse(&unique, Leniencies::PEDANTIC).ok()?;
        Some((address, id))
    }

    /// Whether mail for this domain is ours.
    pub fn is_local_domain(&self, host: &Host) -> bool {
        matches!(host, Host::Domain(d) if self.domains.contains_key(d.ascii()))
    }

    /// Where mail to `address` goes; `None` for an unknown address (or a domain that
    /// is not ours).
    pub fn resolve(&self, address: &Address) -> Option<Destination> {
        let (domain, local) = self.key(address)?;
        if let Some(dest) = self.lookup(&domain, &local) {
            return Some(dest);
        }
        // With separator "+", alice+news@ is delivered as alice@.
        let rules = &self.domains[&domain];
        if let Some(base) = rules
            .separators
            .iter()
            .filter_map(|s| local.split_once(*s).map(|(b, _)| b))
            .next()
            && let Some(dest) = self.lookup(&domain, base)
        {
            return Some(dest);
        }
        self.catchalls
            .get(&domain)
            .map(|a| Destination::Account(a.clone()))
    }

    /// The account whose configured address `address` is, exactly: not through a
    /// catchall, a separator or an alias. Login names are such addresses.
    pub fn account_of(&self, address: &Address) -> Option<&str> {
        let key = self.key(address)?;
        self.addresses.get(&key).map(String::as_str)
    }

    /// Whether `account` may send as `address` (MAIL FROM, From): mail to the
    /// address reaches the account alone (its own address, with a separator, or
    /// by its catchall), or the address is an alias that lets members send as it
    /// and the account is a member.
    pub fn may_send_as(&self, account: &str, address: &Address) -> bool {
        match self.resolve(address) {
            Some(Destination::Account(a)) => a == account,
            Some(Destination::Alias { accounts, .. }) => {
                let allowed = self
                    .key(address)
                    .and_then(|k| self.aliases.get(&k))
                    .is_some_and(|alias| alias.allow_msg_from);
                allowed && accounts.contains(account)
            }
            None => false,
        }
    }

    fn lookup(&self, domain: &str, local: &str) -> Option<Destination> {
        let key = (domain.to_string(), local.to_string());
        if let Some(account) = self.addresses.get(&key) {
            return Some(Destination::Account(account.clone()));
        }
        let alias = self.aliases.get(&key)?;
        let mut accounts = BTreeSet::new();
        let mut remote = Vec::new();
        for m in &alias.members {
            match self.key(m).and_then(|(d, l)| self.addresses.get(&(d, l))) {
                Some(account) => {
                    accounts.insert(account.clone());
                }
                None => remote.push(m.clone()),
            }
        }
        Some(Destination::Alias { accounts, remote })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipients() -> Recipients {
        let toml = r#"
            [domains."example.org"]
            localpart_catchall_separators = ["+"]
            [domains."bücher.example"]
            [domains."strict.example"]
            localpart_case_sensitive = true
            [accounts.alice]
            domain = "example.org"
            destinations = ["alice", "Alice.Smith@example.org", "info@xn--bcher-kva.example"]
            [accounts.bob]
            domain = "strict.example"
            destinations = ["Bob", "@bücher.example"]
            [aliases."team@example.org"]
            members = ["alice@example.org", "Bob@strict.example", "carol@remote.example"]
            allow_msg_from = true
            [aliases."news@example.org"]
            members = ["alice@example.org"]
        "#;
        Recipients::new(&toml::from_str(toml).unwrap())
    }

    fn resolve(s: &str) -> Option<Destination> {
        recipients().resolve(&s.parse().unwrap())
    }

    fn account(a: &str) -> Option<Destination> {
        Some(Destination::Account(a.to_string()))
    }

    #[test]
    fn addresses_resolve_with_case_separator_idna_and_catchall_rules() {
        assert_eq!(resolve("alice@example.org"), account("alice"));
        assert_eq!(
            resolve("ALICE@Example.ORG"),
            account("alice"),
            "case-insensitive by default"
        );
        assert_eq!(resolve("alice.smith@example.org"), account("alice"));
        assert_eq!(
            resolve("alice+lists@example.org"),
            account("alice"),
            "catchall separator"
        );
        assert_eq!(resolve("nobody@example.org"), None);
        assert_eq!(
            resolve("info@bücher.example"),
            account("alice"),
            "U-label matches the configured A-label"
        );
        assert_eq!(
            resolve("anything@xn--bcher-kva.example"),
            account("bob"),
            "domain catchall"
        );
        assert_eq!(resolve("Bob@strict.example"), account("bob"));
        assert_eq!(resolve("bob@strict.example"), None, "case-sensitive domain");
        assert_eq!(resolve("alice@elsewhere.example"), None);
    }

    #[test]
    fn aliases_expand_to_local_accounts_and_remote_members() {
        let Some(Destination::Alias { accounts, remote }) = resolve("team@example.org") else {
            panic!("an alias")
        };
        assert_eq!(accounts.into_iter().collect::<Vec<_>>(), ["alice", "bob"]);
        assert_eq!(
            remote.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["carol@remote.example"]
        );
    }

    #[test]
    fn logins_are_configured_addresses_only() {
        let r = recipients();
        let account_of = |s: &str| r.account_of(&s.parse().unwrap()).map(str::to_string);
        assert_eq!(
            account_of("Alice.Smith@EXAMPLE.org").as_deref(),
            Some("alice")
        );
        assert_eq!(account_of("info@bücher.example").as_deref(), Some("alice"));
        assert_eq!(account_of("alice+x@example.org"), None, "separator");
        assert_eq!(account_of("x@bücher.example"), None, "catchall");
        assert_eq!(account_of("team@example.org"), None, "alias");
    }

    #[test]
    fn senders_are_own_addresses_and_aliases_that_allow_it() {
        let r = recipients();
        let may = |account: &str, s: &str| r.may_send_as(account, &s.parse().unwrap());
        assert!(may("alice", "alice@example.org"));
        assert!(may("alice", "alice+lists@example.org"));
        assert!(!may("bob", "alice@example.org"));
        assert!(may("bob", "anyone@bücher.example"), "catchall");
        assert!(
            may("bob", "team@example.org"),
            "member of an alias with allow_msg_from"
        );
        assert!(
            !may("alice", "news@example.org"),
            "alias without allow_msg_from"
        );
        assert!(!may("alice", "alice@elsewhere.example"));
    }
}
