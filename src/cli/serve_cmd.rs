//! `gannet serve` and `gannet localserve`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use gannet::config::{Config, STATIC_FILE, ServiceKind};
use gannet::leniency::Leniency;
use gannet::localserve::{self, DEFAULT_PORT_OFFSET, Options};
use gannet::server;

#[derive(Args)]
pub struct LocalserveArgs {
    /// Directory for the configuration and data [default: gannet-localserve in the user's config directory].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// IP address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Added to the standard port of each service.
    #[arg(long, default_value_t = DEFAULT_PORT_OFFSET)]
    port_offset: u16,
    /// Write the configuration and exit.
    #[arg(long)]
    initonly: bool,
    /// Accept what these leniencies allow (comma-separated: dot-localpart,
    /// underscore-domain, long-localpart, bare-lf), for this run; all of them
    /// when given without a list.
    #[arg(long, num_args = 0.., value_delimiter = ',', require_equals = true, value_name = "LENIENCY", value_parser = parse_leniency)]
    lenient: Option<Vec<Leniency>>,
}

fn parse_leniency(name: &str) -> Result<Leniency, String> {
    Leniency::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Leniency::ALL.iter().map(|l| l.name()).collect();
        format!("unknown leniency; the leniencies are {}", names.join(", "))
    })
}

pub fn serve(path: &Path, dns: &super::Dns) -> ExitCode {
    let cfg = match super::load_config(path) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    if cfg.static_config.localserve.is_some() {
        eprintln!(
            "gannet serve: {} has a [localserve] section, which makes a test server that takes mail for everyone; run it with `gannet localserve --dir DIR`, or remove the section",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    tracing::info!(config = %path.display(), data_dir = %cfg.data_dir().display(), "configuration loaded");
    run(&cfg, Some(dns))
}

pub fn localserve(args: &LocalserveArgs) -> ExitCode {
    let dir = args.dir.clone().unwrap_or_else(localserve::default_dir);
    let opts = Options {
        ip: args.ip,
        port_offset: args.port_offset,
    };
    match localserve::write_config_if_missing(&dir, &opts) {
        Ok(true) => println!("wrote a new configuration in {}", dir.display()),
        Ok(false) => println!("using the configuration in {}", dir.display()),
        Err(e) => {
            eprintln!(
                "gannet localserve: cannot write the configuration in {}: {e}",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = localserve::ensure_certificate(&dir) {
        eprintln!("gannet localserve: cannot make the TLS certificate: {e}");
        return ExitCode::FAILURE;
    }
    if args.initonly {
        return match Config::load(&dir.join(STATIC_FILE)) {
            Ok(_) => ExitCode::SUCCESS,
            Err(errors) => {
                super::print_config_errors(&errors);
                ExitCode::FAILURE
            }
        };
    }
    let path = dir.join(STATIC_FILE);
    let mut cfg = match super::load_config(&path) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    if cfg.static_config.localserve.is_none() {
        eprintln!(
            "gannet localserve: {} has no [localserve] section (written by an older gannet, or by hand); add an empty [localserve] table, or delete the file to regenerate it",
            path.display()
        );
        return ExitCode::FAILURE;
    }
    if let Some(lenient) = &args.lenient {
        let all = lenient.is_empty().then_some(&Leniency::ALL[..]);
        for listener in cfg.static_config.listeners.values_mut() {
            listener.lenient = all.unwrap_or(lenient).to_vec();
        }
    }
    if let Err(e) = localserve::ensure_password(&cfg.data_dir()) {
        eprintln!("gannet localserve: cannot set the account's password: {e}");
        return ExitCode::FAILURE;
    }
    if !args.ip.is_loopback() {
        eprintln!(
            "warning: listening on {}: logins without TLS, with a published password, are open to that network",
            args.ip
        );
    }
    print_setup(&cfg, &dir);
    run(&cfg, None)
}

/// What a developer needs to point a client at localserve.
fn print_setup(cfg: &Config, dir: &Path) {
    let address = |kind: ServiceKind| {
        cfg.static_config.listeners.values().find_map(|l| {
            let (_, port) = l.services().into_iter().find(|(k, _)| *k == kind)?;
            Some(std::net::SocketAddr::new(*l.ips.first()?, port))
        })
    };
    let (login, password) = (localserve::LOGIN, localserve::PASSWORD);
    println!(
        "mail to any address, at any domain, is stored in the account its local part names, or in gannet"
    );
    println!(
        "log in as {login} (or any NAME@localhost, an account of its own) with password {password}; logins work without TLS too"
    );
    println!(
        "addresses ending in temperror, permerror, a code (user550), timeout or disconnect fail on purpose: see gannet localserve --help"
    );
    if let (Some(imap), Some(submission)) =
        (address(ServiceKind::Imap), address(ServiceKind::Submission))
    {
        println!(
            "client setup: IMAP {imap} and SMTP {submission}, user {login}, password {password}, no TLS or STARTTLS (certificate: {})",
            localserve::certificate_file(dir).display()
        );
    }
}

/// Serves the configured services until Ctrl-C or SIGTERM; with `dns`, incoming
/// mail is checked with its resolver.
fn run(cfg: &gannet::config::Config, dns: Option<&super::Dns>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gannet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let resolver = match dns.map(super::Dns::resolver).transpose() {
            Ok(resolver) => resolver.map(std::sync::Arc::from),
            Err(e) => {
                eprintln!("gannet: {e}");
                return ExitCode::FAILURE;
            }
        };
        let started = match server::start(cfg, resolver).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("gannet: {e}");
                return ExitCode::FAILURE;
            }
        };
        for (service, address) in &started.serving {
            println!("  {service:<12} {address}");
        }
        for (service, address) in &started.not_available {
            println!("  {service:<12} {address}  (not available yet)");
        }
        println!("serving; stop with Ctrl-C");
        server::shutdown_signal().await;
        tracing::info!("shutting down");
        ExitCode::SUCCESS
    })
}
