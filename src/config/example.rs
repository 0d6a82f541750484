//! `gannet config example`: a small, valid configuration to start from.

use std::collections::BTreeMap;

use super::{
    AccountConfig, AliasConfig, DomainConfig, DomainsConfig, Listener, Service, StaticConfig,
};

/// One domain with two accounts and an alias: incoming SMTP on all addresses, and
/// submission and IMAP on loopback, where logins without TLS are acceptable until
/// a certificate is configured.
pub fn example() -> (StaticConfig, DomainsConfig) {
    let public = Listener {
        smtp: Some(Service::default()),
        ..Listener::on(vec![
            "0.0.0.0".parse().expect("valid IP"),
            "::".parse().expect("valid IP"),
        ])
    };
    let internal = Listener {
        allow_plaintext_auth: true,
        submission: Some(Service::default()),
        imap: Some(Service::default()),
        ..Listener::on(vec![
            "127.0.0.1".parse().expect("valid IP"),
            "::1".parse().expect("valid IP"),
        ])
    };
    let static_config = StaticConfig {
        hostname: "mail.example.org".to_string(),
        data_dir: "data".into(),
        log: Default::default(),
        limits: Default::default(),
        queue: Default::default(),
        transports: BTreeMap::new(),
        routes: Vec::new(),
        listeners: BTreeMap::from([
            ("public".to_string(), public),
            ("internal".to_string(), internal),
        ]),
        localserve: None,
    };
    let domain = DomainConfig {
        localpart_catchall_separators: vec!['+'],
        ..Default::default()
    };
    let account = |dests: &[&str], name: &str| AccountConfig {
        domain: "example.org".to_string(),
        destinations: dests.iter().map(|d| d.to_string()).collect(),
        full_name: Some(name.to_string()),
        login_disabled: None,
        quota_bytes: None,
        quota_messages: None,
        unique_mail_from: false,
        routes: Vec::new(),
    };
    let domains = DomainsConfig {
        domains: BTreeMap::from([("example.org".to_string(), domain)]),
        accounts: BTreeMap::from([
            (
                "alice".to_string(),
                account(&["alice", "postmaster"], "Alice"),
            ),
            ("bob".to_string(), account(&["bob@example.org"], "Bob")),
        ]),
        aliases: BTreeMap::from([(
            "team@example.org".to_string(),
            AliasConfig {
                members: vec![
                    "alice@example.org".to_string(),
                    "bob@example.org".to_string(),
                ],
                post_public: false,
                list_members: true,
                allow_msg_from: true,
            },
        )]),
    };
    (static_config, domains)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, DOMAINS_FILE, STATIC_FILE};

    #[test]
    fn the_example_is_valid_after_a_round_trip_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        let (static_config, domains) = super::example();
        std::fs::write(
            dir.path().join(STATIC_FILE),
            toml::to_string(&static_config).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join(DOMAINS_FILE),
            toml::to_string(&domains).unwrap(),
        )
        .unwrap();
        let cfg = Config::load(&dir.path().join(STATIC_FILE)).unwrap();
        assert_eq!(cfg.static_config, static_config);
        assert_eq!(cfg.domains, domains);
    }
}
