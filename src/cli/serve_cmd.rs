//! `gannet serve` and `gannet localserve`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use gannet::config::STATIC_FILE;
use gannet::localserve::{self, DEFAULT_PORT_OFFSET, Options};

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
    super::not_available(
        "serve",
        "the SMTP, IMAP and HTTP server issues; the configuration is valid",
    )
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
    let cfg = match super::load_config(&dir.join(STATIC_FILE)) {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    for (name, listener) in &cfg.static_config.listeners {
        for (kind, port) in listener.services() {
            for ip in &listener.ips {
                println!(
                    "  {:<12} {}  (listener {name})",
                    kind.name(),
                    std::net::SocketAddr::new(*ip, port)
                );
            }
        }
    }
    if args.initonly {
        return ExitCode::SUCCESS;
    }
    super::not_available(
        "localserve",
        "the SMTP, IMAP and localserve issues; the services above are not served yet",
    )
}
