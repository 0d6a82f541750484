//! Checks on transports and routes that their types cannot express: names that
//! exist, hosts and domains that parse, logins that are complete and readable.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::error::{ConfigError, KeyPath};
use super::transports::{DIRECT, RouteConfig, TransportConfig, TransportKind};
use crate::address::Domain;
use crate::leniency::Leniencies;

/// Transports by name, as gannet.toml defines them.
pub type Transports = BTreeMap<String, TransportConfig>;

/// Checks each `[transports.NAME]` of gannet.toml; password files are read, so a
/// missing one shows in `gannet config test`, not at the first delivery.
pub fn check_transports(
    file: &str,
    dir: &Path,
    transports: &Transports,
    errors: &mut Vec<ConfigError>,
) {
    for (name, transport) in transports {
        let key = KeyPath::root().key("transports").key(name);
        if name == DIRECT {
            errors.push(
                ConfigError::new(
                    file,
                    key.clone(),
                    "\"direct\" is built in: delivery to the recipient domain's MX hosts",
                )
                .hint("give this transport another name"),
            );
        }
        let mut error = |field: &str, message: String| {
            errors.push(ConfigError::new(file, key.key(field), message));
        };
        if transport.host.parse::<IpAddr>().is_err()
            && let Err(e) = Domain::parse(&transport.host, Leniencies::PEDANTIC)
        {
            error(
                "host",
                format!(
                    "{:?} is neither a host name nor an IP address: {e}",
                    transport.host
                ),
            );
        }
        if transport.port == Some(0) {
            error("port", "0 is not a port to connect to".into());
        }
        if transport.require_tls && transport.kind != TransportKind::Relay {
            error(
                "require_tls",
                format!("only relay transports take it; {}", tls_of(transport.kind)),
            );
        }
        if transport.kind == TransportKind::Relay
            && transport.username.is_some()
            && !transport.require_tls
        {
            // Opportunistic TLS takes any certificate and falls back to plain
            // text: the password would go to whoever answers.
            error(
                "require_tls",
                "a relay that logs in needs require_tls = true, so that the password only goes to the verified host".into(),
            );
        }
        if let Err((field, message)) = login(dir, transport) {
            error(field, message);
        }
    }
}

/// How a kind other than relay does TLS, to say why require_tls is not for it.
fn tls_of(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Socks5 => "socks5 delivers to MX hosts as direct delivery does",
        _ => "submission and submissions always require TLS and verify the certificate",
    }
}

/// The transport's login, read as the queue will read it, or the field that is
/// wrong and why.
pub fn login(
    dir: &Path,
    transport: &TransportConfig,
) -> Result<Option<(String, String)>, (&'static str, String)> {
    let needs_login = matches!(
        transport.kind,
        TransportKind::Submission | TransportKind::Submissions
    );
    let (username, file) = match (&transport.username, &transport.password_file) {
        (Some(username), Some(file)) => (username, file),
        (None, None) if !needs_login => return Ok(None),
        (None, None) => {
            let kind = transport.kind.name();
            return Err((
                "username",
                format!("{kind} logs in: set username and password_file"),
            ));
        }
        (Some(_), None) => {
            return Err((
                "password_file",
                "username is set, but no password_file".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(("username", "password_file is set, but no username".into()));
        }
    };
    if username.is_empty() {
        return Err(("username", "empty".into()));
    }
    let password = read_password(dir, file).map_err(|e| ("password_file", e))?;
    if transport.kind == TransportKind::Socks5 {
        crate::socks5::Credentials::new(username, &password).map_err(|e| {
            let field = match username.len() > 255 {
                true => "username",
                false => "password_file",
            };
            (field, e.to_string())
        })?;
    }
    Ok(Some((username.clone(), password)))
}

/// The password in `file` (relative to `dir`): its contents without one final line
/// break, which editors and `echo` add.
fn read_password(dir: &Path, file: &Path) -> Result<String, String> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let password = match text.strip_suffix('\n') {
        Some(line) => line.strip_suffix('\r').unwrap_or(line),
        None => &text,
    };
    if password.is_empty() {
        return Err(format!("{} holds no password", path.display()));
    }
    Ok(password.to_string())
}

/// Checks the routes at `key` (in `file`). Transport names are checked when
/// gannet.toml's transports are known (`None` when gannet.toml did not decode:
/// its own errors say why).
pub fn check_routes(
    file: &str,
    key: &KeyPath,
    routes: &[RouteConfig],
    transports: Option<&Transports>,
    errors: &mut Vec<ConfigError>,
) {
    for (i, route) in routes.iter().enumerate() {
        let key = key.index(i);
        let known = route.transport == DIRECT
            || transports.is_none_or(|t| t.contains_key(&route.transport));
        if !known {
            let name = &route.transport;
            errors.push(
                ConfigError::new(
                    file,
                    key.key("transport"),
                    format!("no transport {name:?} in gannet.toml"),
                )
                .hint(format!(
                    "define [transports.{name}] in gannet.toml, or use \"direct\""
                )),
            );
        }
        if route.min_attempt == 0 {
            errors.push(
                ConfigError::new(file, key.key("min_attempt"), "attempts count from 1")
                    .hint("leave it out (or use 1) for a route taken from the first attempt"),
            );
        }
        for (field, domains) in [
            ("from_domains", &route.from_domains),
            ("to_domains", &route.to_domains),
        ] {
            for (j, domain) in domains.iter().enumerate() {
                let name = domain.strip_prefix('.').unwrap_or(domain);
                if let Err(e) = Domain::parse(name, Leniencies::PEDANTIC) {
                    errors.push(
                        ConfigError::new(
                            file,
                            key.key(field).index(j),
                            format!("{domain:?} is not a domain name: {e}"),
                        )
                        .hint("write \"example.org\" for that domain, \".example.org\" for its subdomains"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    /// The errors in these two files, in a directory with the password files
    /// "pass" and "empty".
    fn errors(gannet_toml: &str, domains_toml: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass"), "secret\n").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let text = format!("hostname = \"mail.example.org\"\n{gannet_toml}");
        // Paths shown relative to the config directory.
        let dir_prefix = format!("{}/", dir.path().display());
        match Config::from_text(dir.path(), &text, domains_toml) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| e.to_string().replace(&dir_prefix, ""))
                .collect(),
        }
    }

    #[test]
    fn good_transports_and_routes_pass() {
        let gannet_toml = r#"
            [transports.smarthost]
            kind = "relay"
            host = "smtp.example.net"
            require_tls = true
            username = "me"
            password_file = "pass"
            [transports.proxy]
            kind = "socks5"
            host = "192.0.2.1"
            [[routes]]
            to_domains = ["example.com", ".example.com"]
            min_attempt = 2
            transport = "smarthost"
            [[routes]]
            transport = "direct"
        "#;
        let domains_toml = r#"
            [domains."example.org"]
            [[domains."example.org".routes]]
            transport = "proxy"
            [accounts.alice]
            domain = "example.org"
            destinations = ["alice"]
            [[accounts.alice.routes]]
            from_domains = ["example.org"]
            transport = "smarthost"
        "#;
        assert_eq!(errors(gannet_toml, domains_toml), Vec::<String>::new());
    }

    #[test]
    fn bad_transports_say_which_key_and_why() {
        let gannet_toml = r#"
            [transports.direct]
            kind = "relay"
            host = "smtp.example.net"
            [transports.a]
            kind = "submission"
            host = "not a host"
            port = 0
            require_tls = true
            [transports.b]
            kind = "relay"
            host = "smtp.example.net"
            username = "me"
            [transports.c]
            kind = "submissions"
            host = "smtp.example.net"
            username = "me"
            password_file = "missing"
            [transports.d]
            kind = "socks5"
            host = "proxy.example.net"
            username = "me"
            password_file = "empty"
        "#;
        let got = errors(gannet_toml, "");
        let want = [
            "gannet.toml: transports.a.host: \"not a host\" is neither a host name nor an IP address",
            "gannet.toml: transports.a.port: 0 is not a port to connect to",
            "gannet.toml: transports.a.require_tls: only relay transports take it; submission and submissions always require TLS and verify the certificate",
            "gannet.toml: transports.a.username: submission logs in: set username and password_file",
            "gannet.toml: transports.b.require_tls: a relay that logs in needs require_tls = true",
            "gannet.toml: transports.b.password_file: username is set, but no password_file",
            "gannet.toml: transports.c.password_file: cannot read missing: ",
            "gannet.toml: transports.d.password_file: empty holds no password",
            "gannet.toml: transports.direct: \"direct\" is built in: delivery to the recipient domain's MX hosts",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (got, want) in got.iter().zip(want) {
            assert!(
                got.starts_with(want),
                "{got:?} does not start with {want:?}"
            );
        }
    }

    #[test]
    fn routes_naming_unknown_transports_or_bad_domains_are_errors_in_either_file() {
        let gannet_toml = r#"
            [[routes]]
            to_domains = ["example.com", "..example.com"]
            min_attempt = 0
            transport = "smarthost"
        "#;
        let domains_toml = r#"
            [domains."example.org"]
            [[domains."example.org".routes]]
            from_domains = ["exa mple.org"]
            transport = "proxy"
            [accounts.alice]
            domain = "example.org"
            destinations = ["alice"]
            [[accounts.alice.routes]]
            transport = "direct"
            [[accounts.alice.routes]]
            transport = "relay"
        "#;
        let got = errors(gannet_toml, domains_toml);
        let want = [
            "gannet.toml: routes[0].transport: no transport \"smarthost\" in gannet.toml\n    hint: define [transports.smarthost] in gannet.toml, or use \"direct\"",
            "gannet.toml: routes[0].min_attempt: attempts count from 1",
            "gannet.toml: routes[0].to_domains[1]: \"..example.com\" is not a domain name",
            "domains.toml: domains.\"example.org\".routes[0].transport: no transport \"proxy\" in gannet.toml",
            "domains.toml: domains.\"example.org\".routes[0].from_domains[0]: \"exa mple.org\" is not a domain name",
            "domains.toml: accounts.alice.routes[1].transport: no transport \"relay\" in gannet.toml",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for (got, want) in got.iter().zip(want) {
            assert!(
                got.starts_with(want),
                "{got:?} does not start with {want:?}"
            );
        }
    }
}
