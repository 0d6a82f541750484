//! `gannet dkim ...`: make keys and their DNS records, sign and verify messages,
//! look up key records. Messages are read from stdin; LF line ends are taken as
//! CRLF (as mail arrives over SMTP).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use gannet::dkim::{self, Canon, DkimResult, PrivateKey, Signer};
use gannet::message::now_unsigned;

use super::{Dns, read_message};

#[derive(Subcommand)]
pub enum DkimCommand {
    /// Generate a 2048-bit RSA signing key and print it as PEM (PKCS#8).
    ///
    /// Save it readable by the server only: `gannet dkim genrsa > dkim.pem`.
    Genrsa,
    /// Generate an Ed25519 signing key (RFC 8463) and print it as PEM (PKCS#8).
    ///
    /// Many receivers still only verify RSA: sign with both kinds of key.
    Gened25519,
    /// Print the DNS TXT record that publishes KEYFILE's public key, to add at
    /// SELECTOR._domainkey.DOMAIN.
    ///
    /// A record longer than 255 octets (any RSA key) is held in several
    /// character-strings of one TXT record; most DNS interfaces split it by
    /// themselves.
    Txt {
        /// A PEM private key (PKCS#8 "PRIVATE KEY", or "RSA PRIVATE KEY").
        keyfile: PathBuf,
    },
    /// Sign the message on stdin and print it with a DKIM-Signature on top.
    ///
    /// Signs the fields of RFC 6376 5.4.1 that are present, From, To and Subject
    /// once more than present (oversigning, so none can be added later).
    Sign {
        /// The signing domain (d=).
        #[arg(long)]
        domain: String,
        /// The selector (s=): the key record is at SELECTOR._domainkey.DOMAIN.
        #[arg(long)]
        selector: String,
        /// The PEM private key.
        #[arg(long)]
        key: PathBuf,
        /// Header/body canonicalization.
        #[arg(long, value_enum, default_value = "relaxed/relaxed")]
        canon: CanonArg,
        /// Let the signature expire this many seconds after signing (x=).
        #[arg(long, value_name = "SECONDS")]
        expire: Option<u64>,
    },
    /// Verify every DKIM-Signature of the message on stdin.
    ///
    /// Prints one line per signature: its result (pass, fail, policy, temperror,
    /// permerror), domain, selector, algorithm and the reason. rsa-sha1 and RSA keys
    /// under 1024 bits are reported as policy (RFC 8301), as is a signature whose
    /// l= leaves part of the body unsigned. Exits 0 only when at least one
    /// signature passes.
    Verify,
    /// Look up and check the key record at SELECTOR._domainkey.DOMAIN; exits 1 if
    /// there is none, it is invalid, or DNS failed.
    Lookup { selector: String, domain: String },
}

/// The canonicalizations, header/body.
#[derive(Clone, Copy, ValueEnum)]
pub enum CanonArg {
    #[value(name = "relaxed/relaxed")]
    RelaxedRelaxed,
    #[value(name = "relaxed/simple")]
    RelaxedSimple,
    #[value(name = "simple/relaxed")]
    SimpleRelaxed,
    #[value(name = "simple/simple")]
    SimpleSimple,
}

impl CanonArg {
    fn pair(self) -> (Canon, Canon) {
        match self {
            CanonArg::RelaxedRelaxed => (Canon::Relaxed, Canon::Relaxed),
            CanonArg::RelaxedSimple => (Canon::Relaxed, Canon::Simple),
            CanonArg::SimpleRelaxed => (Canon::Simple, Canon::Relaxed),
            CanonArg::SimpleSimple => (Canon::Simple, Canon::Simple),
        }
    }
}

pub fn run(dns: &Dns, cmd: DkimCommand) -> ExitCode {
    let outcome = match cmd {
        DkimCommand::Genrsa => print_key(PrivateKey::generate_rsa()),
        DkimCommand::Gened25519 => print_key(PrivateKey::generate_ed25519()),
        DkimCommand::Txt { keyfile } => read_key(&keyfile).and_then(|key| {
            let record = key.key_record().map_err(|e| e.to_string())?;
            println!("{}", record.to_text());
            Ok(ExitCode::SUCCESS)
        }),
        DkimCommand::Sign {
            domain,
            selector,
            key,
            canon,
            expire,
        } => sign(&domain, &selector, &key, canon, expire),
        DkimCommand::Verify => return verify(dns),
        DkimCommand::Lookup { selector, domain } => return lookup(dns, &selector, &domain),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("gannet dkim: {e}");
        ExitCode::FAILURE
    })
}

/// Prints a newly made key as PEM.
fn print_key(key: Result<PrivateKey, dkim::KeyError>) -> Result<ExitCode, String> {
    let pem = key.and_then(|k| k.to_pem()).map_err(|e| e.to_string())?;
    print!("{pem}");
    Ok(ExitCode::SUCCESS)
}

fn read_key(path: &PathBuf) -> Result<PrivateKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    PrivateKey::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn sign(
    domain: &str,
    selector: &str,
    keyfile: &PathBuf,
    canon: CanonArg,
    expire: Option<u64>,
) -> Result<ExitCode, String> {
    let key = read_key(keyfile)?;
    let (message, had_crlf) = read_message()?;
    let (header_canon, body_canon) = canon.pair();
    let signer = Signer {
        domain: domain.to_string(),
        selector: selector.to_string(),
        key: &key,
        header_canon,
        body_canon,
        now: now_unsigned(),
        lifetime: expire,
    };
    let field = signer
        .sign(&message)
        .map_err(|e| format!("cannot sign: {e}"))?;
    let mut out = field.into_bytes();
    out.extend_from_slice(&message);
    if !had_crlf {
        // Written back as it came: with LF line ends.
        out.retain(|&b| b != b'\r');
    }
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| format!("writing the message: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn verify(dns: &Dns) -> ExitCode {
    let message = match read_message() {
        Ok((m, _)) => m,
        Err(e) => {
            eprintln!("gannet dkim verify: {e}");
            return ExitCode::FAILURE;
        }
    };
    dns.run(async |resolver| {
        let results = dkim::verify(resolver, &message, now_unsigned()).await;
        if results.is_empty() {
            println!("none: the message has no DKIM-Signature");
        }
        for r in &results {
            let algorithm = r.algorithm.map_or("-", |a| a.name());
            let testing = if r.testing {
                " (key in testing mode, t=y)"
            } else {
                ""
            };
            println!(
                "{} d={} s={} a={}: {}{testing}",
                r.result,
                if r.domain.is_empty() { "-" } else { &r.domain },
                if r.selector.is_empty() {
                    "-"
                } else {
                    &r.selector
                },
                algorithm,
                r.reason
            );
        }
        super::exit_status(results.iter().any(|r| r.result == DkimResult::Pass))
    })
}

fn lookup(dns: &Dns, selector: &str, domain: &str) -> ExitCode {
    dns.run(
        async |resolver| match dkim::lookup_key(resolver, selector, domain).await {
            Ok((text, key)) => {
                println!("{text}");
                let testing = if key.testing { ", testing (t=y)" } else { "" };
                println!("  valid: k={}{testing}", key.key_type.name());
                ExitCode::SUCCESS
            }
            Err((_, reason)) => {
                eprintln!("gannet dkim lookup: {reason}");
                ExitCode::FAILURE
            }
        },
    )
}
