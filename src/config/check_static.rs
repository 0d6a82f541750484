//! Checks on `gannet.toml` that its types cannot express.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::check_transports;
use super::error::{ConfigError, KeyPath};
use super::static_config::{Limits, Listener, LocalserveConfig, StaticConfig};
use crate::address::Domain;
use crate::leniency::Leniencies;
use crate::logging;

/// RFC 5321 4.5.3.1.8: "The minimum total number of recipients that MUST be buffered
/// is 100 recipients."
const MIN_RECIPIENTS: u32 = 100;

pub fn check(file: &str, cfg: &StaticConfig, dir: &Path, errors: &mut Vec<ConfigError>) {
    let root = KeyPath::root();
    if let Err(e) = Domain::parse(&cfg.hostname, Leniencies::PEDANTIC) {
        errors.push(
            ConfigError::new(
                file,
                root.key("hostname"),
                format!("{:?} is not a valid host name: {e}", cfg.hostname),
            )
            .hint("use the fully qualified name of this server, as in its MX records"),
        );
    }
    for module in cfg
        .log
        .modules
        .keys()
        .filter(|m| !logging::PACKAGES.contains(&m.as_str()))
    {
        errors.push(
            ConfigError::new(
                file,
                root.key("log").key("modules").key(module),
                "unknown module",
            )
            .hint(format!("modules are: {}", logging::PACKAGES.join(", "))),
        );
    }
    if cfg.limits.max_recipients < MIN_RECIPIENTS {
        errors.push(ConfigError::new(
            file,
            root.key("limits").key("max_recipients"),
            format!(
                "{} is below the {MIN_RECIPIENTS} recipients RFC 5321 4.5.3.1.8 requires",
                cfg.limits.max_recipients
            ),
        ));
    }
    check_limits(file, &root.key("limits"), &cfg.limits, errors);
    for (name, listener) in &cfg.listeners {
        check_listener(
            file,
            &root.key("listeners").key(name),
            listener,
            dir,
            errors,
        );
    }
    check_port_conflicts(file, cfg, errors);
    check_transports::check_transports(file, dir, &cfg.transports, errors);
    check_transports::check_routes(
        file,
        &root.key("routes"),
        &cfg.routes,
        Some(&cfg.transports),
        errors,
    );
    if let Some(local) = &cfg.localserve {
        check_chaos(file, &root.key("localserve").key("chaos"), local, errors);
    }
}

fn check_chaos(file: &str, key: &KeyPath, local: &LocalserveConfig, errors: &mut Vec<ConfigError>) {
    for (i, rule) in local.chaos.iter().enumerate() {
        if !(0.0..=1.0).contains(&rule.probability) {
            errors.push(
                ConfigError::new(
                    file,
                    key.index(i).key("probability"),
                    format!("{} is not a probability", rule.probability),
                )
                .hint("use a number from 0.0 (never) to 1.0 (always)"),
            );
        }
    }
}

fn check_limits(file: &str, key: &KeyPath, limits: &Limits, errors: &mut Vec<ConfigError>) {
    let zero_refuses = [
        ("max_connections_per_ip", limits.max_connections_per_ip),
        ("max_errors", limits.max_errors),
        ("max_commands_before_mail", limits.max_commands_before_mail),
        ("command_timeout", limits.command_timeout),
        ("data_timeout", limits.data_timeout),
    ];
    for (name, value) in zero_refuses {
        if value == 0 {
            errors.push(ConfigError::new(
                file,
                key.key(name),
                "0 would refuse every client",
            ));
        }
    }
    let per_class = [
        (
            "max_connections_per_minute",
            limits.max_connections_per_minute,
        ),
        (
            "max_auth_failures_per_hour",
            limits.max_auth_failures_per_hour,
        ),
    ];
    for (name, values) in per_class {
        if values.contains(&0) {
            errors.push(ConfigError::new(
                file,
                key.key(name),
                "0 would refuse every client",
            ));
        } else if !values.is_sorted() {
            errors.push(
                ConfigError::new(
                    file,
                    key.key(name),
                    format!("{values:?} has a wider address range with a lower limit"),
                )
                .hint("the limits are for ever wider ranges (one address, a /26, a /21), so they should not decrease"),
            );
        }
    }
}

fn check_listener(
    file: &str,
    key: &KeyPath,
    l: &Listener,
    dir: &Path,
    errors: &mut Vec<ConfigError>,
) {
    if l.ips.is_empty() {
        errors.push(
            ConfigError::new(file, key.key("ips"), "no IP addresses to listen on")
                .hint("add for example ips = [\"0.0.0.0\", \"::\"]"),
        );
    }
    if let Some(Err(e)) = l
        .hostname
        .as_ref()
        .map(|h| Domain::parse(h, Leniencies::PEDANTIC))
    {
        errors.push(ConfigError::new(
            file,
            key.key("hostname"),
            format!("not a valid host name: {e}"),
        ));
    }
    if let Some(tls) = &l.tls {
        for (field, path) in [("cert_file", &tls.cert_file), ("key_file", &tls.key_file)] {
            if let Err(e) = std::fs::metadata(dir.join(path)) {
                errors.push(ConfigError::new(
                    file,
                    key.key("tls").key(field),
                    format!("cannot read {}: {e}", dir.join(path).display()),
                ));
            }
        }
    }
    let services = l.services();
    if services.is_empty() {
        errors.push(
            ConfigError::new(file, key.clone(), "no services enabled")
                .hint("add a service table such as [listeners.NAME.smtp]"),
        );
    }
    for (kind, _) in services
        .iter()
        .filter(|(k, _)| k.implicit_tls() && l.tls.is_none())
    {
        errors.push(
            ConfigError::new(
                file,
                key.key(kind.name()),
                "needs TLS, but the listener has no certificate",
            )
            .hint("add a [tls] section with cert_file and key_file to this listener"),
        );
    }
    // Submission needs a login, and logins need TLS unless plaintext is allowed.
    if l.submission.is_some() && l.tls.is_none() && !l.allow_plaintext_auth {
        errors.push(
            ConfigError::new(
                file,
                key.key("submission"),
                "no client could log in: the listener has no certificate for STARTTLS and does not allow plaintext logins",
            )
            .hint("add a [tls] section, or allow_plaintext_auth = true on a trusted network"),
        );
    }
}

/// Two services may not bind the same port on overlapping addresses: an unspecified
/// address ("0.0.0.0", "::") overlaps every address of its family.
fn check_port_conflicts(file: &str, cfg: &StaticConfig, errors: &mut Vec<ConfigError>) {
    let mut bound: BTreeMap<u16, Vec<(IpAddr, KeyPath)>> = BTreeMap::new();
    for (name, listener) in &cfg.listeners {
        for (kind, port) in listener.services() {
            let key = KeyPath::root().key("listeners").key(name).key(kind.name());
            for ip in &listener.ips {
                let taken = bound.entry(port).or_default();
                if let Some((_, other)) = taken.iter().find(|(other, _)| overlaps(*ip, *other)) {
                    errors.push(ConfigError::new(
                        file,
                        key.clone(),
                        format!("port {port} on {ip} is also used by {other}"),
                    ));
                } else {
                    taken.push((*ip, key.clone()));
                }
            }
        }
    }
}

fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a == b || (a.is_ipv4() == b.is_ipv4() && (a.is_unspecified() || b.is_unspecified()))
}
