//! Which transport takes a delivery: the routes of the sending account, then
//! those of the sender's domain, then the global ones, each in order; the first
//! that matches wins, and without one the mail goes directly to the MX hosts.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::ClientConfig;

use super::transport::Named;
use crate::address::ascii_domain;
use crate::config::{Config, DIRECT, RouteConfig};
use crate::tls::TlsError;

/// One route, its domains in lowercase A-label form.
#[derive(Debug, Clone)]
pub struct Route {
    /// Sender domains: "example.org" is that domain, ".example.org" its
    /// subdomains; empty is any.
    pub from_domains: Vec<String>,
    /// Recipient domains, likewise.
    pub to_domains: Vec<String>,
    /// The first attempt (counting from 1) the route is taken on.
    pub min_attempt: u32,
    pub transport: Arc<Named>,
}

impl Route {
    fn matches(&self, from: Option<&str>, to: &str, attempt: u32) -> bool {
        attempt >= self.min_attempt
            && matches_any(&self.from_domains, from)
            && matches_any(&self.to_domains, Some(to))
    }
}

/// Whether `domain` is one of `patterns` or, for a pattern with a leading dot,
/// below it. No patterns match anything, even no domain (the null sender).
fn matches_any(patterns: &[String], domain: Option<&str>) -> bool {
    patterns.is_empty()
        || domain.is_some_and(|domain| {
            patterns.iter().any(|p| match p.starts_with('.') {
                true => domain.ends_with(p.as_str()),
                false => domain == p,
            })
        })
}

/// All routes of a server.
#[derive(Debug, Clone)]
pub struct Routes {
    /// By account name.
    pub accounts: HashMap<String, Vec<Route>>,
    /// By the sender's domain, lowercase A-label form.
    pub domains: HashMap<String, Vec<Route>>,
    pub global: Vec<Route>,
    direct: Arc<Named>,
}

impl Default for Routes {
    /// No routes: all mail goes directly to the MX hosts.
    fn default() -> Routes {
        Routes {
            accounts: HashMap::new(),
            domains: HashMap::new(),
            global: Vec::new(),
            direct: Arc::new(Named::direct()),
        }
    }
}

impl Routes {
    /// All mail through `transport`.
    pub fn all_through(transport: Named) -> Routes {
        let route = Route {
            from_domains: Vec::new(),
            to_domains: Vec::new(),
            min_attempt: 1,
            transport: Arc::new(transport),
        };
        Routes {
            global: vec![route],
            ..Routes::default()
        }
    }

    /// The transport for mail from `account` ("" for the server's own mail) and
    /// the sender domain `from` (none for the null sender) to the domain `to`,
    /// on the `attempt`-th attempt (from 1). Domains are lowercase A-labels.
    pub fn select(&self, account: &str, from: Option<&str>, to: &str, attempt: u32) -> &Arc<Named> {
        let lists = [
            self.accounts.get(account),
            from.and_then(|d| self.domains.get(d)),
            Some(&self.global),
        ];
        lists
            .into_iter()
            .flatten()
            .flatten()
            .find(|route| route.matches(from, to, attempt))
            .map_or(&self.direct, |route| &route.transport)
    }

    /// The routes of `config`, with the transports they name built (see
    /// [`Named::from_config`]); `verified` is the TLS config for transports
    /// that check certificates, made only when one does.
    pub fn from_config(
        config: &Config,
        verified: &dyn Fn() -> Result<Arc<ClientConfig>, TlsError>,
    ) -> Result<Routes, String> {
        let direct = Arc::new(Named::direct());
        let transports = transports(config, verified)?;
        let routes = |list: &[RouteConfig]| -> Result<Vec<Route>, String> {
            list.iter()
                .map(|r| route(r, &transports, &direct))
                .collect()
        };
        let sc = &config.static_config;
        let mut domains = HashMap::new();
        for (name, domain) in &config.domains.domains {
            domains.insert(ascii_domain(name), routes(&domain.routes)?);
        }
        let mut accounts = HashMap::new();
        for (name, account) in &config.domains.accounts {
            accounts.insert(name.clone(), routes(&account.routes)?);
        }
        Ok(Routes {
            accounts,
            domains,
            global: routes(&sc.routes)?,
            direct,
        })
    }
}

/// The transports of gannet.toml by name, the verified TLS config made once.
fn transports(
    config: &Config,
    verified: &dyn Fn() -> Result<Arc<ClientConfig>, TlsError>,
) -> Result<HashMap<String, Arc<Named>>, String> {
    let mut made: Option<Arc<ClientConfig>> = None;
    let mut verified = || -> Result<Arc<ClientConfig>, String> {
        if let Some(config) = &made {
            return Ok(Arc::clone(config));
        }
        let config = verified()
            .map_err(|e| format!("the system's trust store, to verify certificates: {e}"))?;
        made = Some(Arc::clone(&config));
        Ok(config)
    };
    let mut built = HashMap::new();
    for (name, transport) in &config.static_config.transports {
        let named = Named::from_config(name, transport, &config.dir, &mut verified)?;
        built.insert(name.clone(), Arc::new(named));
    }
    Ok(built)
}

fn route(
    config: &RouteConfig,
    transports: &HashMap<String, Arc<Named>>,
    direct: &Arc<Named>,
) -> Result<Route, String> {
    let transport = match config.transport.as_str() {
        DIRECT => direct,
        name => transports
            .get(name)
            .ok_or_else(|| format!("a route names the transport {name:?}, which is not defined"))?,
    };
    let patterns = |domains: &[String]| domains.iter().map(|d| pattern(d)).collect();
    Ok(Route {
        from_domains: patterns(&config.from_domains),
        to_domains: patterns(&config.to_domains),
        min_attempt: config.min_attempt,
        transport: Arc::clone(transport),
    })
}

/// A configured domain pattern in the form recipients' domains have.
fn pattern(domain: &str) -> String {
    match domain.strip_prefix('.') {
        Some(parent) => format!(".{}", ascii_domain(parent)),
        None => ascii_domain(domain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::domain_of;
    use crate::queue::Transport;

    fn route(from: &[&str], to: &[&str], min_attempt: u32, name: &str) -> Route {
        Route {
            from_domains: from.iter().map(|d| d.to_string()).collect(),
            to_domains: to.iter().map(|d| d.to_string()).collect(),
            min_attempt,
            transport: Arc::new(Named {
                name: name.into(),
                kind: "relay",
                transport: Transport::Direct,
            }),
        }
    }

    #[test]
    fn account_then_sender_domain_then_global_and_the_first_match_wins() {
        let routes = Routes {
            accounts: HashMap::from([(
                "alice".to_string(),
                vec![route(&[], &["example.com"], 1, "alice-com")],
            )]),
            domains: HashMap::from([(
                "example.org".to_string(),
                vec![
                    route(&[], &[".example.com"], 1, "org-subdomains"),
                    route(&[], &[], 3, "org-late"),
                ],
            )]),
            global: vec![
                route(&["example.net"], &[], 1, "from-net"),
                route(&[], &["example.com"], 2, "com-retry"),
                route(&[], &["example.com"], 1, "never: com-retry is first"),
            ],
            ..Routes::default()
        };
        let org = Some("example.org");
        #[rustfmt::skip]
        let cases = [
            // account, sender domain, recipient domain, attempt: transport
            ("alice", org, "example.com", 1, "alice-com"),
            ("alice", None, "example.com", 1, "alice-com"),
            ("alice", org, "mx.example.com", 1, "org-subdomains"),
            ("bob", org, "a.b.example.com", 1, "org-subdomains"),
            ("bob", org, "example.com", 1, "never: com-retry is first"),
            ("bob", org, "example.com", 2, "com-retry"),
            ("bob", org, "example.com", 3, "org-late"),
            ("bob", org, "example.test", 1, "direct"),
            ("", None, "example.com", 2, "com-retry"),
            ("", None, "example.test", 9, "direct"),
            ("", Some("example.net"), "example.test", 1, "from-net"),
            ("", Some("sub.example.net"), "example.test", 1, "direct"),
            ("", Some("example.net"), "notexample.com", 1, "from-net"),
            ("", Some("other.example"), "notexample.com", 1, "direct"),
        ];
        for (account, from, to, attempt, want) in cases {
            let got = &routes.select(account, from, to, attempt).name;
            assert_eq!(got, want, "{account:?} {from:?} {to} attempt {attempt}");
        }
    }

    #[test]
    fn nothing_configured_is_direct_and_all_through_takes_everything() {
        let direct = Routes::default();
        assert_eq!(
            direct.select("alice", None, "example.com", 1).name,
            "direct"
        );
        let all = Routes::all_through(Named::direct());
        assert!(Arc::ptr_eq(
            all.select("", None, "x.example", 1),
            all.select("bob", Some("example.org"), "y.example", 7)
        ));
    }

    #[test]
    fn sender_domains_are_lowercase_a_labels() {
        assert_eq!(
            domain_of("Alice@Example.ORG").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            domain_of("\"a@b\"@example.org").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            domain_of("jörg@Bücher.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(domain_of("x@[192.0.2.1]").as_deref(), Some("[192.0.2.1]"));
        assert_eq!(domain_of(""), None);
    }

    #[test]
    fn routes_from_the_config_name_their_transports_and_normalize_domains() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "secret\r\n").unwrap();
        let gannet_toml = r#"
            hostname = "mail.example.org"
            [transports.a]
            kind = "submission"
            host = "smtp.example.net"
            username = "me"
            password_file = "pass"
            [transports.b]
            kind = "submissions"
            host = "smtp.example.net"
            username = "me"
            password_file = "pass"
            [[routes]]
            to_domains = [".Example.COM"]
            transport = "b"
        "#;
        let domains_toml = r#"
            [domains."Bücher.example"]
            [[domains."Bücher.example".routes]]
            from_domains = ["BÜCHER.example"]
            transport = "a"
            [[domains."Bücher.example".routes]]
            transport = "direct"
        "#;
        let config = Config::from_text(dir.path(), gannet_toml, domains_toml).unwrap();
        let made = std::cell::Cell::new(0);
        let verified = || {
            made.set(made.get() + 1);
            crate::tls::client_config(&[], None)
        };
        let routes = Routes::from_config(&config, &verified).unwrap();
        assert_eq!(made.get(), 1, "one TLS config for both transports");
        let from = Some("xn--bcher-kva.example");
        let a = routes.select("", from, "example.test", 1);
        assert_eq!((a.name.as_str(), a.kind), ("a", "submission"));
        let Transport::Relay(relay) = &a.transport else {
            panic!("{a:?}");
        };
        assert_eq!(
            (relay.port, relay.auth.as_ref().unwrap().password.as_str()),
            (587, "secret")
        );
        assert_eq!(
            routes
                .select("", Some("example.org"), "x.example.com", 1)
                .name,
            "b"
        );
        assert_eq!(routes.select("", None, "example.com", 1).name, "direct");

        let none = || Err(TlsError::NoTrustAnchors("none here".into()));
        let e = Routes::from_config(&config, &none).unwrap_err();
        assert!(
            e.contains("the system's trust store") && e.contains("none here"),
            "{e}"
        );
    }

    #[test]
    fn a_password_file_gone_since_the_check_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "secret").unwrap();
        let gannet_toml = r#"
            hostname = "mail.example.org"
            [transports.proxy]
            kind = "socks5"
            host = "127.0.0.1"
            username = "me"
            password_file = "pass"
        "#;
        let config = Config::from_text(dir.path(), gannet_toml, "").unwrap();
        std::fs::remove_file(dir.path().join("pass")).unwrap();
        let e = Routes::from_config(&config, &|| unreachable!()).unwrap_err();
        assert!(
            e.starts_with("gannet.toml: transports.proxy.password_file: cannot read ")
                && e.contains("pass"),
            "{e}"
        );
    }
}
