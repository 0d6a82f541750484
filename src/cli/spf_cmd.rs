//! `gannet spf ...`: check a host against a domain's SPF policy, parse a record,
//! look one up. DNS goes through `--dns-zone` when given (see `super::Dns`).

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Subcommand;
use gannet::spf::{self, Record, SpfResult, Term};

use super::Dns;

#[derive(Subcommand)]
pub enum SpfCommand {
    /// Evaluate DOMAIN's SPF policy for mail from IP (check_host(), RFC 7208).
    ///
    /// Prints the result (pass, fail, softfail, neutral, none, temperror or
    /// permerror), the term that decided or what went wrong, and for a fail the
    /// domain's explanation. Exits 0 for pass, 1 for any other result.
    Check {
        /// The domain whose policy applies (the MAIL FROM domain or the HELO name).
        domain: String,
        /// The connecting client's IP address.
        ip: IpAddr,
        /// The client's HELO/EHLO name, for the %{h} macro (default: DOMAIN).
        #[arg(long)]
        helo: Option<String>,
        /// The sender address, for the %{s} and %{l} macros (default:
        /// postmaster@DOMAIN).
        #[arg(long)]
        sender: Option<String>,
    },
    /// Parse RECORD and print it in canonical form with one line per term; exits 1
    /// with the reason if it is not a valid SPF record.
    Parse {
        /// The record text, e.g. "v=spf1 mx -all" (quote it for the shell).
        record: String,
    },
    /// Look up DOMAIN's SPF record and print it, parsed; exits 1 if it has none,
    /// more than one, an invalid one, or DNS failed.
    Lookup { domain: String },
}

pub fn run(dns: &Dns, cmd: SpfCommand) -> ExitCode {
    match cmd {
        SpfCommand::Parse { record } => parse(&record),
        SpfCommand::Check {
            domain,
            ip,
            helo,
            sender,
        } => dns.run(async |resolver| {
            let helo = helo.unwrap_or_else(|| domain.clone());
            let sender = sender.unwrap_or_else(|| format!("postmaster@{domain}"));
            let verdict =
                spf::check_sender(resolver, ip, &domain, &sender, &helo, "localhost").await;
            println!("result: {}", verdict.result);
            println!("reason: {}", verdict.reason);
            if let Some(explanation) = &verdict.explanation {
                println!("explanation: {explanation}");
            }
            super::exit_status(verdict.result == SpfResult::Pass)
        }),
        SpfCommand::Lookup { domain } => {
            dns.run(
                async |resolver| match spf::find_record(resolver, &domain).await {
                    Ok(Some((text, record))) => {
                        println!("{text}");
                        print_terms(&record);
                        ExitCode::SUCCESS
                    }
                    Ok(None) => {
                        eprintln!("gannet spf lookup: {domain} has no SPF record");
                        ExitCode::FAILURE
                    }
                    Err(e) => {
                        eprintln!("gannet spf lookup: {e}");
                        ExitCode::FAILURE
                    }
                },
            )
        }
    }
}

fn parse(text: &str) -> ExitCode {
    match text.parse::<Record>() {
        Ok(record) => {
            println!("{record}");
            print_terms(&record);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gannet spf parse: not a valid SPF record: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line per term: what a match gives, and the term.
fn print_terms(record: &Record) {
    for term in &record.terms {
        let role = match term {
            Term::Directive(q, _) => q.result().name(),
            Term::Redirect(_) => "redirect",
            Term::Exp(_) => "explain",
            Term::Unknown { .. } => "ignored",
        };
        println!("  {role:<9} {term}");
    }
}
