//! `gannet setaccountpassword`, `gannet loginattempts` and `gannet config tlspubkey`:
//! credentials and login records in the data directory's auth.db. They work while
//! the server runs (SQLite serializes the writes).

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use gannet::address::Address;
use gannet::auth::{self, PasswordError};
use gannet::config::Config;
use gannet::leniency::Leniencies;
use gannet::recipients::Recipients;
use gannet::store::{AuthDb, LoginRecord, StoreError, TlsPubKey};
use gannet::tls::{self, Access, SpkiFingerprint};

#[derive(Args)]
pub struct PasswordArgs {
    /// The account, as named in domains.toml.
    account: String,
}

#[derive(Args)]
pub struct LoginAttemptsArgs {
    /// Only this account's attempts [default: all, including unknown login names].
    account: Option<String>,
    /// How many records to show, newest first.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Subcommand)]
pub enum TlsPubKeyCommand {
    /// List the registered client keys, of one account or of all.
    List { account: Option<String> },
    /// Register the public key of a client certificate on an account.
    ///
    /// A client presenting a certificate with this key over TLS is logged in as
    /// --login: SMTP submission treats the session as authenticated and IMAP greets
    /// it with PREAUTH (unless --no-imap-preauth). Only the key counts: the
    /// certificate's names, dates and issuer are not checked.
    Add {
        account: String,
        /// PEM file with the certificate (the first one in it is used).
        cert_file: PathBuf,
        /// The address the key logs in as [default: the account's first address].
        #[arg(long)]
        login: Option<String>,
        /// A name to recognize the key by, e.g. the device [default: the file name].
        #[arg(long)]
        name: Option<String>,
        /// Greet IMAP clients with this key with OK instead of PREAUTH, so they can
        /// still log in as another account.
        #[arg(long)]
        no_imap_preauth: bool,
    },
    /// Remove a registered key by its fingerprint (as `list` shows it).
    Rm { fingerprint: String },
    /// Generate a client key and certificate for a mail client, as NAME.key,
    /// NAME.crt and NAME.p12 (for importing into the client; its password is
    /// printed). Register it afterwards with `add`.
    Gen {
        name: String,
        /// Directory for the files.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// `gannet setaccountpassword ACCOUNT`.
pub fn set_password(config: &Path, args: &PasswordArgs) -> ExitCode {
    let Some((cfg, mut db)) = open(config) else {
        return ExitCode::FAILURE;
    };
    if !cfg.domains.accounts.contains_key(&args.account) {
        eprintln!(
            "gannet setaccountpassword: no account {:?} in domains.toml",
            args.account
        );
        return ExitCode::FAILURE;
    }
    let password = match read_password() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gannet setaccountpassword: {e}");
            return ExitCode::FAILURE;
        }
    };
    match auth::set_password(&mut db, &args.account, &password) {
        Ok(()) => {
            println!("password set for account {}", args.account);
            ExitCode::SUCCESS
        }
        Err(PasswordError::Unusable(e)) => {
            eprintln!("gannet setaccountpassword: the password cannot be used: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("gannet setaccountpassword: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Asks twice on a terminal (without echo); otherwise reads one line from stdin.
fn read_password() -> Result<String, String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password from stdin: {e}"))?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        if password.is_empty() {
            return Err("no password on stdin".to_string());
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password("new password: ").map_err(|e| e.to_string())?;
    let second = rpassword::prompt_password("again: ").map_err(|e| e.to_string())?;
    if first != second {
        return Err("the passwords differ; nothing changed".to_string());
    }
    Ok(first)
}

/// `gannet loginattempts [ACCOUNT]`.
pub fn login_attempts(config: &Path, args: &LoginAttemptsArgs) -> ExitCode {
    let Some((_, db)) = open(config) else {
        return ExitCode::FAILURE;
    };
    match db.login_records(args.account.as_deref(), args.limit) {
        Ok(records) if records.is_empty() => {
            println!("no login attempts recorded");
            ExitCode::SUCCESS
        }
        Ok(records) => {
            println!(
                "{:<20} {:>5}  {:<10} {:<18} {:<24} {:<15} {:<16} RESULT",
                "LAST (UTC)", "COUNT", "PROTOCOL", "MECHANISM", "LOGIN", "ACCOUNT", "REMOTE IP"
            );
            records.iter().for_each(print_record);
            ExitCode::SUCCESS
        }
        Err(e) => fail("loginattempts", e),
    }
}

fn print_record(r: &LoginRecord) {
    let a = &r.attempt;
    println!(
        "{:<20} {:>5}  {:<10} {:<18} {:<24} {:<15} {:<16} {}{}{}",
        super::utc(r.last),
        r.count,
        a.protocol,
        a.mechanism,
        a.login,
        a.account.as_deref().unwrap_or("-"),
        a.remote_ip,
        a.result.as_str(),
        a.tls
            .as_deref()
            .map(|t| format!(" tls {t}"))
            .unwrap_or_default(),
        a.user_agent
            .as_deref()
            .map(|u| format!(" client {u:?}"))
            .unwrap_or_default(),
    );
}

/// `gannet config tlspubkey ...`.
pub fn tls_pubkey(config: &Path, cmd: TlsPubKeyCommand) -> ExitCode {
    if let TlsPubKeyCommand::Gen { name, dir } = &cmd {
        return generate(name, dir);
    }
    let Some((cfg, mut db)) = open(config) else {
        return ExitCode::FAILURE;
    };
    match cmd {
        TlsPubKeyCommand::List { account } => match db.tls_pubkeys(account.as_deref()) {
            Ok(keys) if keys.is_empty() => {
                println!("no TLS public keys registered");
                ExitCode::SUCCESS
            }
            Ok(keys) => {
                println!(
                    "{:<64}  {:<15} {:<28} {:<8} NAME",
                    "FINGERPRINT (SHA-256 OF SPKI)", "ACCOUNT", "LOGIN", "PREAUTH"
                );
                for k in keys {
                    let preauth = if k.no_imap_preauth { "no" } else { "yes" };
                    let fp = SpkiFingerprint::from_bytes(k.fingerprint);
                    println!(
                        "{fp}  {:<15} {:<28} {preauth:<8} {}",
                        k.account, k.login_address, k.name
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail("config tlspubkey list", e),
        },
        TlsPubKeyCommand::Add {
            account,
            cert_file,
            login,
            name,
            no_imap_preauth,
        } => {
            let key = match new_key(&cfg, &account, &cert_file, login, name, no_imap_preauth) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("gannet config tlspubkey add: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match db.add_tls_pubkey(&key) {
                Ok(()) => {
                    let fp = SpkiFingerprint::from_bytes(key.fingerprint);
                    println!(
                        "registered {fp} on account {account}, logging in as {}",
                        key.login_address
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail("config tlspubkey add", e),
            }
        }
        TlsPubKeyCommand::Rm { fingerprint } => {
            let fp: SpkiFingerprint = match fingerprint.parse() {
                Ok(fp) => fp,
                Err(e) => {
                    eprintln!("gannet config tlspubkey rm: {e}");
                    return ExitCode::from(2);
                }
            };
            match db.remove_tls_pubkey(fp.as_bytes()) {
                Ok(true) => {
                    println!("removed {fp}");
                    ExitCode::SUCCESS
                }
                Ok(false) => {
                    eprintln!("gannet config tlspubkey rm: {fp} is not registered");
                    ExitCode::FAILURE
                }
                Err(e) => fail("config tlspubkey rm", e),
            }
        }
        TlsPubKeyCommand::Gen { .. } => unreachable!("handled above"),
    }
}

/// The registration for `add`, checked against the config.
fn new_key(
    cfg: &Config,
    account: &str,
    cert_file: &Path,
    login: Option<String>,
    name: Option<String>,
    no_imap_preauth: bool,
) -> Result<TlsPubKey, String> {
    let Some(account_config) = cfg.domains.accounts.get(account) else {
        return Err(format!("no account {account:?} in domains.toml"));
    };
    let recipients = Recipients::new(&cfg.domains);
    let login = match login {
        Some(l) => l,
        None => first_address(account_config).ok_or("the account has no address; give --login")?,
    };
    let owned = Address::parse(&login, Leniencies::PEDANTIC)
        .ok()
        .and_then(|a| recipients.account_of(&a).map(str::to_string));
    if owned.as_deref() != Some(account) {
        return Err(format!("{login} is not an address of account {account}"));
    }
    let chain = tls::read_chain(cert_file).map_err(|e| e.to_string())?;
    let fingerprint = SpkiFingerprint::of_certificate(&chain[0]).map_err(|e| e.to_string())?;
    let name = name.unwrap_or_else(|| {
        cert_file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    });
    Ok(TlsPubKey {
        fingerprint: *fingerprint.as_bytes(),
        account: account.to_string(),
        login_address: login,
        name,
        no_imap_preauth,
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    })
}

/// The first destination that is a full address (or a local part at the
/// account's domain), not a catchall.
fn first_address(account: &gannet::config::AccountConfig) -> Option<String> {
    let dest = account.destinations.iter().find(|d| !d.starts_with('@'))?;
    Some(match dest.contains('@') {
        true => dest.clone(),
        false => format!("{dest}@{}", account.domain),
    })
}

fn generate(name: &str, dir: &Path) -> ExitCode {
    let password = random_password();
    let identity = match tls::generate_identity(name, &password) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("gannet config tlspubkey gen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let files = [
        (
            format!("{name}.key"),
            identity.key_pem.as_bytes(),
            Access::Private,
        ),
        (
            format!("{name}.crt"),
            identity.cert_pem.as_bytes(),
            Access::Public,
        ),
        (format!("{name}.p12"), &identity.p12[..], Access::Private),
    ];
    for (file, contents, access) in files {
        let path = dir.join(&file);
        if path.exists() {
            eprintln!(
                "gannet config tlspubkey gen: {} exists; not overwriting it",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        if let Err(e) = tls::write_file(&path, contents, access) {
            eprintln!("gannet config tlspubkey gen: {e}");
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    println!("fingerprint {}", identity.fingerprint);
    println!("password of {name}.p12: {password}");
    println!(
        "register it with: gannet config tlspubkey add ACCOUNT {}",
        dir.join(format!("{name}.crt")).display()
    );
    ExitCode::SUCCESS
}

/// 16 random letters and digits for the .p12 file.
fn random_password() -> String {
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..16)
        .map(|_| char::from(CHARS[rand::random_range(0..CHARS.len())]))
        .collect()
}

/// Loads the config and opens its auth.db.
fn open(config: &Path) -> Option<(Config, AuthDb)> {
    let cfg = super::load_config(config).ok()?;
    match AuthDb::open(&cfg.data_dir()) {
        Ok(db) => Some((cfg, db)),
        Err(e) => {
            eprintln!(
                "gannet: opening {}: {e}",
                cfg.data_dir().join(gannet::store::AUTH_DB_FILE).display()
            );
            None
        }
    }
}

fn fail(command: &str, e: StoreError) -> ExitCode {
    eprintln!("gannet {command}: {e}");
    ExitCode::FAILURE
}
