//! `gannet dmarc ...`: look up a domain's DMARC policy, parse a record, and evaluate
//! SPF, DKIM and DMARC for a message as a receiving server would. DNS goes through
//! `--dns-zone` when given (see `super::Dns`).

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Subcommand;
use gannet::dkim;
use gannet::dmarc::{self, DmarcResult, Parsed, Record, report};
use gannet::dns::Resolver;
use gannet::message::rfc5322_date;
use gannet::spf;

use super::Dns;

#[derive(Subcommand)]
pub enum DmarcCommand {
    /// Find the DMARC policy that applies to mail from DOMAIN (its own _dmarc
    /// record, else its organizational domain's by the Public Suffix List) and
    /// print it: where it was found, the record, its effective tags, anything not
    /// taken as written, and whether each report address may receive reports (an
    /// address outside the domain must be authorized, RFC 7489 7.1).
    ///
    /// Exits 0 when a policy applies, 1 when none does or DNS failed.
    Lookup { domain: String },
    /// Parse RECORD and print it in canonical form with its effective tags; exits 1
    /// with the reason if it is not a usable DMARC record.
    Parse {
        /// The record text, e.g. "v=DMARC1; p=reject" (quote it for the shell).
        record: String,
    },
    /// Evaluate the message on stdin as received from REMOTEIP with MAILFROM and
    /// HELO: SPF for the MAIL FROM domain (the HELO name for an empty MAILFROM),
    /// every DKIM signature, then DMARC for the From domain.
    ///
    /// Prints one line each for SPF and DKIM signatures, then the DMARC result, the
    /// policy the domain asks for and the disposition after pct= and t=. Exits 0
    /// only when DMARC passes.
    Verify {
        /// The connecting client's IP address.
        remote_ip: IpAddr,
        /// The MAIL FROM address; "" or "<>" for the null reverse-path.
        mail_from: String,
        /// The client's HELO/EHLO name.
        helo: String,
    },
    /// Read aggregate reports (RFC 7489 appendix C, RFC 9990) and print each one's
    /// reporter, period, the policy it found, and one line per row: source IP,
    /// message count, disposition, aligned DKIM and SPF verdicts, From domain.
    ///
    /// A FILE may be the XML, gzipped, zipped, or a mail message with the report
    /// attached, as receivers send them. Exits 1 if any file is not a readable
    /// report, naming the file and what is wrong.
    Report {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
}

pub fn run(dns: &Dns, cmd: DmarcCommand) -> ExitCode {
    match cmd {
        DmarcCommand::Lookup { domain } => {
            dns.run(async |resolver| lookup(resolver, &domain).await)
        }
        DmarcCommand::Parse { record } => match Parsed::parse(&record) {
            Ok(parsed) => {
                println!("{}", parsed.record);
                print_parsed(&parsed);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gannet dmarc parse: not a usable DMARC record: {e}");
                ExitCode::FAILURE
            }
        },
        DmarcCommand::Verify {
            remote_ip,
            mail_from,
            helo,
        } => {
            let message = match super::read_message() {
                Ok((message, _)) => message,
                Err(e) => {
                    eprintln!("gannet dmarc verify: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let mail_from = mail_from.trim_start_matches('<').trim_end_matches('>');
            dns.run(async |resolver| verify(resolver, &message, remote_ip, mail_from, &helo).await)
        }
        DmarcCommand::Report { files } => {
            let mut all_read = true;
            for file in files {
                let read = std::fs::read(&file).map_err(|e| e.to_string());
                match read.and_then(|bytes| report::read_report(&bytes).map_err(|e| e.to_string()))
                {
                    Ok(feedback) => print_report(&file, &feedback),
                    Err(e) => {
                        eprintln!("gannet dmarc report: {}: {e}", file.display());
                        all_read = false;
                    }
                }
            }
            super::exit_status(all_read)
        }
    }
}

fn print_report(file: &std::path::Path, feedback: &report::Feedback) {
    let meta = &feedback.report_metadata;
    println!("{}:", file.display());
    println!(
        "  report {} from {} <{}>",
        meta.report_id, meta.org_name, meta.email
    );
    println!(
        "  period {} to {}",
        rfc5322_date(meta.date_range.begin as i64),
        rfc5322_date(meta.date_range.end as i64)
    );
    let policy = &feedback.policy_published;
    let name = |d: Option<report::Disposition>| d.map_or("-", report::Disposition::name);
    println!(
        "  policy of {}: p={} sp={} np={}",
        policy.domain,
        name(Some(policy.p)),
        name(policy.sp),
        name(policy.np)
    );
    for record in &feedback.records {
        let row = &record.row;
        let verdict = |v: Option<report::Verdict>| v.map_or("-", report::Verdict::name);
        println!(
            "  {} count={} disposition={} dkim={} spf={} from={}",
            row.source_ip,
            row.count,
            name(Some(row.policy_evaluated.disposition)),
            verdict(row.policy_evaluated.dkim),
            verdict(row.policy_evaluated.spf),
            record.identifiers.header_from
        );
    }
}

async fn lookup(resolver: &dyn Resolver, domain: &str) -> ExitCode {
    let found = match dmarc::discover(resolver, domain).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            eprintln!(
                "gannet dmarc lookup: no DMARC policy for {domain} (no record at _dmarc.{domain} or its organizational domain's)"
            );
            return ExitCode::FAILURE;
        }
        Err((result, reason)) => {
            eprintln!("gannet dmarc lookup: {result}: {reason}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "policy domain: {} (organizational domain {})",
        found.policy_domain, found.organizational_domain
    );
    println!("{}", found.text);
    print_parsed(&found.parsed);
    let record = &found.parsed.record;
    for (tag, uris) in [
        ("rua", &record.aggregate_reports),
        ("ruf", &record.failure_reports),
    ] {
        let checked = dmarc::verify_destinations(resolver, &found.policy_domain, uris).await;
        for (uri, destination) in uris.iter().zip(checked) {
            println!("  {tag:<9} {}: {destination}", uri.uri);
        }
    }
    ExitCode::SUCCESS
}

/// The effective tags, one per line, then the warnings.
fn print_parsed(parsed: &Parsed) {
    let r: &Record = &parsed.record;
    let or_p = |p: Option<dmarc::Policy>, fallback: &str| match p {
        Some(p) => p.name().to_string(),
        None => format!("{} ({fallback})", r.policy.name()),
    };
    let alignment = |a| match a {
        dmarc::Alignment::Relaxed => "relaxed",
        dmarc::Alignment::Strict => "strict",
    };
    let lines = [
        ("policy", r.policy.name().to_string()),
        ("subdomains", or_p(r.subdomain_policy, "as p=")),
        (
            "nonexistent",
            match r.nonexistent_policy {
                Some(p) => p.name().to_string(),
                None => "as for subdomains".into(),
            },
        ),
        ("dkim", alignment(r.dkim_alignment).into()),
        ("spf", alignment(r.spf_alignment).into()),
        ("percent", r.percent.to_string()),
        (
            "testing",
            if r.testing {
                "yes (t=y): one step milder"
            } else {
                "no"
            }
            .into(),
        ),
        ("interval", format!("{} s", r.report_interval)),
    ];
    for (name, value) in lines {
        println!("  {name:<11} {value}");
    }
    for warning in &parsed.warnings {
        println!("  warning: {warning}");
    }
}

async fn verify(
    resolver: &dyn Resolver,
    message: &[u8],
    ip: IpAddr,
    mail_from: &str,
    helo: &str,
) -> ExitCode {
    let spf = spf::check_mail_from(resolver, ip, helo, mail_from, "localhost").await;
    println!("spf: {} for {}: {}", spf.result, spf.domain, spf.reason);
    let now = gannet::message::now_unsigned();
    let signatures = dkim::verify(resolver, message, now).await;
    for s in &signatures {
        println!(
            "dkim: {} d={} s={}: {}",
            s.result, s.domain, s.selector, s.reason
        );
    }
    let from_domain = match dmarc::author_domain(message) {
        Ok(domain) => domain,
        Err(e) => {
            println!("dmarc: {}: {e}", DmarcResult::Permerror);
            return ExitCode::FAILURE;
        }
    };
    let ids = dmarc::Identifiers {
        from_domain: &from_domain,
        spf: Some((spf.domain.as_str(), spf.result)),
        dkim: &signatures,
    };
    let evaluation = dmarc::evaluate(resolver, &ids, rand::random_range(0..100)).await;
    println!(
        "dmarc: {} for {from_domain}: {}",
        evaluation.result, evaluation.reason
    );
    if let Some(requested) = evaluation.requested {
        println!(
            "policy: {} requested, disposition {}",
            requested.name(),
            evaluation.disposition.name()
        );
    }
    super::exit_status(evaluation.result == DmarcResult::Pass)
}
