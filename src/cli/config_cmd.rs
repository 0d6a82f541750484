//! `gannet config test|describe|example|tlspubkey`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use gannet::config::{self, Config, DOMAINS_FILE, STATIC_FILE};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Check gannet.toml and domains.toml and report every error.
    ///
    /// Each error names the file, the key and what is wrong, with a hint where the
    /// fix is not obvious. Exits 0 when the configuration is valid, 1 when not.
    Test,
    /// Print the reference configuration: every key with its meaning and default.
    ///
    /// Generated from the code, so it is always up to date.
    Describe,
    /// Print a small valid configuration to start from, or write it to a directory.
    Example {
        /// Write gannet.toml and domains.toml into this directory (created if
        /// missing; existing files are not overwritten) instead of printing them.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Manage TLS client keys that log accounts in by certificate.
    #[command(name = "tlspubkey", subcommand)]
    TlsPubKey(super::auth_cmd::TlsPubKeyCommand),
}

pub fn run(path: &Path, cmd: ConfigCommand) -> ExitCode {
    match cmd {
        ConfigCommand::Test => test(path),
        ConfigCommand::Describe => {
            print!("{}", config::describe::reference());
            ExitCode::SUCCESS
        }
        ConfigCommand::Example { write } => example(write.as_deref()),
        ConfigCommand::TlsPubKey(cmd) => super::auth_cmd::tls_pubkey(path, cmd),
    }
}

fn test(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(cfg) => {
            let count =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            println!(
                "configuration is valid: {}, {}, {}, {}",
                count(cfg.static_config.listeners.len(), "listener"),
                count(cfg.domains.domains.len(), "domain"),
                count(cfg.domains.accounts.len(), "account"),
                count(cfg.domains.aliases.len(), "alias"),
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            super::print_config_errors(&errors);
            ExitCode::FAILURE
        }
    }
}

fn example(write: Option<&Path>) -> ExitCode {
    let (static_config, domains) = config::example::example();
    let files = match (
        toml::to_string_pretty(&static_config),
        toml::to_string_pretty(&domains),
    ) {
        (Ok(s), Ok(d)) => [(STATIC_FILE, s), (DOMAINS_FILE, d)],
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("gannet config example: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(dir) = write else {
        for (name, text) in files {
            println!("# ==== {name} ====\n{text}");
        }
        return ExitCode::SUCCESS;
    };
    if let Some((name, _)) = files.iter().find(|(name, _)| dir.join(name).exists()) {
        eprintln!(
            "gannet config example: {} exists; not overwriting it",
            dir.join(name).display()
        );
        return ExitCode::FAILURE;
    }
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        files
            .iter()
            .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
    });
    match written {
        Ok(()) => {
            let path = dir.join(STATIC_FILE);
            println!(
                "wrote {} and {}",
                path.display(),
                dir.join(DOMAINS_FILE).display()
            );
            println!(
                "check them with: gannet --config {} config test",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "gannet config example: cannot write to {}: {e}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}
