//! `gannet serve` and `gannet localserve`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use gannet::config::STATIC_FILE;
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
}

pub fn serve(path: &Path) -> ExitCode {
    let cfg = match super::load_config(path) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    tracing::info!(config = %path.display(), data_dir = %cfg.data_dir().display(), "configuration loaded");
    run(&cfg)
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
        return match gannet::config::Config::load(&dir.join(STATIC_FILE)) {
            Ok(_) => ExitCode::SUCCESS,
            Err(errors) => {
                super::print_config_errors(&errors);
                ExitCode::FAILURE
            }
        };
    }
    let cfg = match super::load_config(&dir.join(STATIC_FILE)) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    match localserve::ensure_password(&cfg.data_dir()) {
        Ok(_) => {}
        Err(e) => {
            eprintln!("gannet localserve: cannot set the account's password: {e}");
            return ExitCode::FAILURE;
        }
    }
    if !args.ip.is_loopback() {
        eprintln!(
            "warning: listening on {}: logins without TLS, with a published password, are open to that network",
            args.ip
        );
    }
    println!("mail to any address @localhost is delivered to the account gannet");
    println!(
        "log in as {} with password {} (unless changed with setaccountpassword); logins work without TLS too",
        localserve::LOGIN,
        localserve::PASSWORD
    );
    run(&cfg)
}

/// Serves the configured services until Ctrl-C or SIGTERM.
fn run(cfg: &gannet::config::Config) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gannet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let started = match server::start(cfg).await {
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
