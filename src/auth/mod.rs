//! Authentication shared by SMTP submission, IMAP and the web interfaces: which
//! account a login name belongs to, its stored credentials, the SASL exchange,
//! TLS client keys, rate limits on failures, disabled logins and the login record.
//!
//! A protocol asks [`Authenticator::offered`] what to advertise, runs an
//! [`Exchange`] from [`Authenticator::start`] with the client's messages, and maps
//! the [`Outcome`] to its replies. Everything here is synchronous (SQLite); async
//! callers run it on the blocking pool, as they do store operations.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::address::{Address, Domain, Host};
use crate::config::DomainsConfig;
use crate::leniency::Leniencies;
use crate::ratelimit::RateLimiter;
use crate::recipients::Recipients;
use crate::sasl::{
    CredentialLookup, Mechanism, NonceSource, Response, SaslError, ServerContext, ServerExchange,
    Step, StoredCredentials,
};
use crate::store::{AuthDb, LoginAttempt, LoginResult, StoreError, TlsPubKey};
use crate::tls::ConnectionInfo;

/// Failures are counted over this window against `max_auth_failures_per_hour`.
const FAILURE_WINDOW: Duration = Duration::from_secs(3600);
/// Each failure from an address is answered this much later than the one before,
/// up to the cap: a guessing client slows down, a mistyped password costs little.
const FAILURE_DELAY_STEP: Duration = Duration::from_millis(250);
const FAILURE_DELAY_MAX: Duration = Duration::from_secs(5);

/// Who is authenticating, as the protocol sees the connection.
#[derive(Debug, Clone)]
pub struct Client {
    /// "submission", "imap", "web", ...: for the login record.
    pub protocol: &'static str,
    pub remote_ip: IpAddr,
    pub tls: Option<ConnectionInfo>,
    /// The registration of the client certificate's key, looked up once per
    /// connection with [`Authenticator::registered_key`].
    pub key: Option<TlsPubKey>,
    /// The client's name and version (IMAP ID, HTTP User-Agent), when known.
    pub user_agent: Option<String>,
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub account: String,
    /// The login name as authenticated (an address of the account, or its name).
    pub name: String,
    pub mechanism: Mechanism,
}

/// Why a login did not succeed, with the text to show the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub result: LoginResult,
    pub message: String,
    /// How long to wait before answering: longer after earlier failures from
    /// the client's network, whatever this attempt's result.
    pub delay: Duration,
}

impl Failure {
    fn new(result: LoginResult, message: impl Into<String>) -> Failure {
        Failure {
            result,
            message: message.into(),
            delay: Duration::ZERO,
        }
    }
}

/// A mechanism the connection cannot use: refused before any exchange, so there
/// is no attempt to record.
fn refuse(message: String) -> Outcome {
    Outcome::Failure(Failure::new(LoginResult::Malformed, message))
}

/// Where an exchange is after a client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this challenge and pass the client's answer to [`Authenticator::step`].
    Challenge(Vec<u8>),
    /// Logged in. With `server_final` (SCRAM), the protocol sends it as one more
    /// challenge and finishes on the client's empty answer (RFC 4954 4, RFC 9051 6.2.2).
    Success {
        login: Login,
        server_final: Option<Vec<u8>>,
        /// How long to wait before answering (as for a [`Failure`]).
        delay: Duration,
    },
    Failure(Failure),
}

/// One SASL exchange in progress.
pub struct Exchange {
    sasl: ServerExchange,
    /// The login name the client gave, once the mechanism looked it up: failures
    /// are recorded with it.
    login: Option<String>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("mechanism", &self.sasl.mechanism())
            .field("login", &self.login)
            .finish()
    }
}

/// The server's authentication state; one per server, shared by all listeners.
pub struct Authenticator {
    recipients: Recipients,
    accounts: BTreeSet<String>,
    /// Accounts with logins disabled, with the message to show.
    disabled: BTreeMap<String, String>,
    db: Mutex<AuthDb>,
    failures: RateLimiter,
    gate: Gate,
    /// For SCRAM's fake salts (see [`AuthDb::secret`]).
    secret: [u8; 32],
    hostname: String,
    nonces: NonceSource,
    open: Option<OpenLogins>,
}

/// Logins that make their own account, for `gannet localserve`: any address at
/// one domain whose local part can name an account logs in with one password,
/// and that account exists from its first login on.
struct OpenLogins {
    /// The domain, as an A-label.
    domain: String,
    credentials: StoredCredentials,
}

/// The longest account name an open login makes (a directory name).
const MAX_OPEN_ACCOUNT: usize = 64;

/// The account name a local part gives an open login: lowercased; letters,
/// digits and `.`, `_`, `+`, `-`, starting with a letter or digit, as the name
/// becomes a directory.
pub fn open_account_name(localpart: &str) -> Option<String> {
    let name = localpart.to_ascii_lowercase();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._+-".contains(c);
    let fits = name.len() <= MAX_OPEN_ACCOUNT
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(allowed);
    fits.then_some(name)
}

impl Authenticator {
    pub fn new(
        data_dir: &Path,
        domains: &DomainsConfig,
        max_failures_per_hour: [u32; 3],
        hostname: &str,
    ) -> Result<Authenticator, StoreError> {
        let mut db = AuthDb::open(data_dir)?;
        let secret = db.secret()?;
        Ok(Authenticator {
            recipients: Recipients::new(domains),
            accounts: domains.accounts.keys().cloned().collect(),
            disabled: disabled_logins(domains),
            db: Mutex::new(db),
            secret,
            failures: RateLimiter::new(max_failures_per_hour, FAILURE_WINDOW),
            gate: Gate::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            hostname: hostname.to_string(),
            nonces: NonceSource::Random,
            open: None,
        })
    }

    /// Lets any address at `domain` log in with `password`, into the account its
    /// local part names, made at the first login (see [`OpenLogins`]). Accounts
    /// with a password of their own keep it.
    pub fn with_open_logins(
        mut self,
        domain: &Domain,
        password: &str,
    ) -> Result<Authenticator, PasswordError> {
        let credentials = StoredCredentials::derive(password).map_err(PasswordError::Unusable)?;
        self.open = Some(OpenLogins {
            domain: domain.ascii().to_string(),
            credentials,
        });
        Ok(self)
    }

    /// Whether `account` exists: configured, or made by an open login.
    pub fn has_account(&self, account: &str) -> bool {
        if self.accounts.contains(account) {
            return true;
        }
        let db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        matches!(db.credentials(account), Ok(Some(_)))
    }

    /// The mechanisms to advertise to `client`, strongest first.
    pub fn offered(&self, client: &Client) -> Vec<Mechanism> {
        self.context(client).offered()
    }

    /// The login a registered TLS client key gives, if the client presented one;
    /// with the key's registration (for IMAP's "no PREAUTH" choice). Recorded as
    /// a login attempt.
    pub fn client_key_login(&self, client: &Client) -> Option<(Login, TlsPubKey)> {
        let key = client.key.clone()?;
        let account = Some(key.account.as_str());
        let result = match self.login_disabled(&key.account) {
            Some(_) => LoginResult::Disabled,
            None => LoginResult::Success,
        };
        self.record(
            client,
            Mechanism::External,
            &key.login_address,
            account,
            result,
        );
        let login = Login {
            account: key.account.clone(),
            name: key.login_address.clone(),
            mechanism: Mechanism::External,
        };
        (result == LoginResult::Success).then_some((login, key))
    }

    /// Starts an exchange for the mechanism the client named, with its initial
    /// response if it sent one.
    pub fn start(
        &self,
        client: &Client,
        mechanism: &str,
        initial_response: Option<&[u8]>,
    ) -> (Option<Exchange>, Outcome) {
        let Some(mech) = Mechanism::from_name(mechanism) else {
            let message = format!("unknown mechanism {mechanism:?}");
            return (None, refuse(message));
        };
        let sasl = match ServerExchange::new(mech, &self.context(client)) {
            Ok(s) => s,
            Err(e) => return (None, refuse(e.to_string())),
        };
        let mut exchange = Exchange { sasl, login: None };
        let outcome = self.run(client, &mut exchange, |sasl, lookup| {
            sasl.start(initial_response, lookup)
        });
        let open = matches!(outcome, Outcome::Challenge(_));
        (open.then_some(exchange), outcome)
    }

    /// The client's answer to the last challenge. The exchange is over unless the
    /// outcome is another challenge.
    pub fn step(&self, client: &Client, exchange: &mut Exchange, response: Response) -> Outcome {
        let mech = exchange.sasl.mechanism();
        match response {
            Response::Cancel => {
                // A client that had a name looked up (SCRAM's salt) and gives up
                // was probing: that counts as a failure.
                if exchange.login.is_some() {
                    self.failures.add(client.remote_ip, Instant::now());
                }
                let login = exchange.login.as_deref().unwrap_or("");
                let failure = self.fail(client, mech, login, None, LoginResult::Cancelled);
                Outcome::Failure(Failure {
                    message: "authentication cancelled".to_string(),
                    ..failure
                })
            }
            Response::Message(m) => {
                self.run(client, exchange, |sasl, lookup| sasl.step(&m, lookup))
            }
        }
    }

    fn context(&self, client: &Client) -> ServerContext {
        let tls = client.tls.as_ref();
        ServerContext {
            channel_binding: tls.and_then(|t| t.channel_binding.map(|b| b.to_vec())),
            external_identity: client.key.as_ref().map(|k| k.login_address.clone()),
            hostname: self.hostname.clone(),
            nonces: self.nonces.clone(),
            secret: self.secret,
        }
    }

    /// The registration of the key a TLS client presented a certificate for, if any:
    /// for [`Client::key`].
    pub fn registered_key(&self, tls: &ConnectionInfo) -> Option<TlsPubKey> {
        let fingerprint = tls.client_key?;
        let db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        match db.tls_pubkey(fingerprint.as_bytes()) {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(error = %e, "looking up a TLS client key failed");
                None
            }
        }
    }

    /// Runs one step of the mechanism, noting the login name it looks up.
    ///
    /// Every step may check a password, so each first reserves a failure against
    /// the client's network (refused when that is over its limit) and gives it back
    /// unless the step failed on credentials: concurrent connections cannot guess
    /// past the limit. At most [`Gate`]'s capacity of steps run at a time, as each
    /// may cost an argon2 hash. The reply waits by the failures counted before, the
    /// same for success and failure, so a guesser cannot read the verdict early.
    fn run(
        &self,
        client: &Client,
        exchange: &mut Exchange,
        step: impl FnOnce(&mut ServerExchange, &dyn CredentialLookup) -> Result<Step, SaslError>,
    ) -> Outcome {
        let now = Instant::now();
        // Failures settled before this step set its delay; steps still running
        // (another connection's login in progress) do not.
        let before = self.failures.count(client.remote_ip, now);
        if !self.failures.try_reserve(client.remote_ip, now) {
            let mech = exchange.sasl.mechanism();
            let login = exchange.login.clone().unwrap_or_default();
            let failure = self.fail(client, mech, &login, None, LoginResult::RateLimited);
            return Outcome::Failure(failure);
        }
        let seen = RefCell::new(None);
        let lookup = |login: &str| {
            *seen.borrow_mut() = Some(login.to_string());
            self.credentials(login)
        };
        let result = {
            let _permit = self.gate.enter();
            step(&mut exchange.sasl, &lookup)
        };
        if let Some(login) = seen.into_inner() {
            exchange.login = Some(login);
        }
        let guessed = matches!(
            result,
            Err(SaslError::AuthenticationFailed | SaslError::ChannelBinding(_))
        );
        match guessed {
            true => self.failures.confirm(client.remote_ip),
            false => self.failures.release(client.remote_ip),
        }
        let delay = (FAILURE_DELAY_STEP * before).min(FAILURE_DELAY_MAX);
        match self.outcome(client, exchange, result) {
            Outcome::Success {
                login,
                server_final,
                ..
            } => Outcome::Success {
                login,
                server_final,
                delay,
            },
            Outcome::Failure(f) => Outcome::Failure(Failure { delay, ..f }),
            challenge => challenge,
        }
    }

    /// The stored credentials of a prepared login name.
    fn credentials(&self, login: &str) -> Option<StoredCredentials> {
        let account = self.account_of(login)?;
        let db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        let text = match db.credentials(&account) {
            Ok(Some(text)) => text,
            Ok(None) => return self.open_credentials(login),
            Err(e) => {
                tracing::error!(error = %e, account, "reading credentials failed");
                return None;
            }
        };
        match StoredCredentials::from_text(&text) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, account, "stored credentials are unreadable; set the password again");
                None
            }
        }
    }

    /// The account of a login name: one of its configured addresses, or its name;
    /// with open logins, also the account an address at their domain names.
    pub fn account_of(&self, login: &str) -> Option<String> {
        if !login.contains('@') {
            return self.accounts.get(login).cloned();
        }
        let address = Address::parse(login, Leniencies::PEDANTIC).ok()?;
        if let Some(account) = self.recipients.account_of(&address) {
            return Some(account.to_string());
        }
        self.open_login(&address).map(|(_, account)| account)
    }

    /// The open logins and the account they give `address`, if it is at their domain.
    fn open_login(&self, address: &Address) -> Option<(&OpenLogins, String)> {
        let open = self.open.as_ref()?;
        let Host::Domain(domain) = &address.host else {
            return None;
        };
        if domain.ascii() != open.domain {
            return None;
        }
        Some((open, open_account_name(address.localpart.as_str())?))
    }

    /// The shared credentials, for a login name at the open logins' domain whose
    /// account has none of its own (yet).
    fn open_credentials(&self, login: &str) -> Option<StoredCredentials> {
        // Without open logins (every production server), no parse.
        self.open.as_ref()?;
        let address = Address::parse(login, Leniencies::PEDANTIC).ok()?;
        let (open, _) = self.open_login(&address)?;
        Some(open.credentials.clone())
    }

    /// After an open login: gives its account the shared credentials, which makes
    /// it exist, unless it has credentials already.
    fn keep_open_account(&self, login: &str, account: &str) {
        let Some(credentials) = self.open_credentials(login) else {
            return;
        };
        let mut db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(db.credentials(account), Ok(Some(_))) {
            return;
        }
        match db.set_credentials(account, Some(&credentials.to_text()), unix_now()) {
            Ok(()) => tracing::info!(account, "account made at its first login"),
            Err(e) => tracing::error!(error = %e, account, "making an account failed"),
        }
    }

    /// The message shown when the account, or its domain, has logins disabled.
    fn login_disabled(&self, account: &str) -> Option<String> {
        self.disabled.get(account).cloned()
    }

    fn outcome(
        &self,
        client: &Client,
        exchange: &Exchange,
        result: Result<Step, SaslError>,
    ) -> Outcome {
        let mech = exchange.sasl.mechanism();
        let (login, server_final) = match result {
            Ok(Step::Challenge(c)) => return Outcome::Challenge(c),
            Ok(Step::Done {
                authcid,
                server_final,
                ..
            }) => (authcid, server_final),
            Err(e) => {
                let login = exchange.login.as_deref().unwrap_or("");
                let account = self.account_of(login);
                let failure = self.fail(client, mech, login, account.as_deref(), result_of(&e));
                return Outcome::Failure(Failure {
                    message: e.to_string(),
                    ..failure
                });
            }
        };
        let Some(account) = self.account_of(&login) else {
            // Authenticated by a key whose account is gone from the config.
            let failure = self.fail(client, mech, &login, None, LoginResult::BadCredentials);
            return Outcome::Failure(failure);
        };
        if let Some(message) = self.login_disabled(&account) {
            let failure = self.fail(client, mech, &login, Some(&account), LoginResult::Disabled);
            return Outcome::Failure(Failure { message, ..failure });
        }
        self.keep_open_account(&login, &account);
        self.record(client, mech, &login, Some(&account), LoginResult::Success);
        Outcome::Success {
            login: Login {
                account,
                name: login,
                mechanism: mech,
            },
            server_final,
            delay: Duration::ZERO,
        }
    }

    /// Records a failure; the message for the client.
    fn fail(
        &self,
        client: &Client,
        mech: Mechanism,
        login: &str,
        account: Option<&str>,
        result: LoginResult,
    ) -> Failure {
        self.record(client, mech, login, account, result);
        let message = match result {
            LoginResult::RateLimited => {
                "too many failed authentications from your network; try again later"
            }
            _ => "authentication failed",
        };
        Failure::new(result, message)
    }

    fn record(
        &self,
        client: &Client,
        mech: Mechanism,
        login: &str,
        account: Option<&str>,
        result: LoginResult,
    ) {
        let attempt = LoginAttempt {
            protocol: client.protocol.to_string(),
            mechanism: mech.name().to_string(),
            login: shortened(login),
            account: account.map(str::to_string),
            remote_ip: client.remote_ip,
            tls: client.tls.as_ref().map(ConnectionInfo::summary),
            user_agent: client.user_agent.clone(),
            result,
        };
        tracing::info!(
            protocol = client.protocol,
            mechanism = mech.name(),
            login,
            account,
            result = result.as_str(),
            "login attempt"
        );
        let mut db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = db.record_login(&attempt, unix_now()) {
            tracing::error!(error = %e, "recording a login attempt failed");
        }
    }

    /// Sets `account`'s password: derives every mechanism's credentials.
    pub fn set_password(&self, account: &str, password: &str) -> Result<(), PasswordError> {
        set_password(
            &mut self.db.lock().unwrap_or_else(PoisonError::into_inner),
            account,
            password,
        )
    }
}

/// Why a password could not be set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("{0}")]
    Unusable(SaslError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Derives and stores `account`'s credentials from `password` (for the CLI, which
/// has no running server's [`Authenticator`]).
pub fn set_password(db: &mut AuthDb, account: &str, password: &str) -> Result<(), PasswordError> {
    let credentials = StoredCredentials::derive(password).map_err(PasswordError::Unusable)?;
    db.set_credentials(account, Some(&credentials.to_text()), unix_now())?;
    Ok(())
}

/// Accounts whose logins are disabled, by their own setting or their domain's.
fn disabled_logins(domains: &DomainsConfig) -> BTreeMap<String, String> {
    let ascii =
        |name: &str| Domain::parse(name, Leniencies::PEDANTIC).map(|d| d.ascii().to_string());
    let by_domain: BTreeMap<_, _> = domains
        .domains
        .iter()
        .filter_map(|(name, d)| Some((ascii(name).ok()?, d.login_disabled.clone()?)))
        .collect();
    domains
        .accounts
        .iter()
        .filter_map(|(name, a)| {
            let message = a
                .login_disabled
                .clone()
                .or_else(|| by_domain.get(&ascii(&a.domain).ok()?).cloned())?;
            Some((name.clone(), message))
        })
        .collect()
}

/// Login names longer than this are cut in the record (a LOGIN answer can carry
/// kilobytes).
const MAX_RECORDED_LOGIN: usize = 256;

fn shortened(login: &str) -> String {
    match login.char_indices().nth(MAX_RECORDED_LOGIN) {
        Some((cut, _)) => format!("{}...", &login[..cut]),
        None => login.to_string(),
    }
}

/// A counting semaphore: at most `capacity` holders at a time, others wait.
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Permit<'a>(&'a Gate);

impl Gate {
    fn new(capacity: usize) -> Gate {
        Gate {
            free: Mutex::new(capacity),
            freed: Condvar::new(),
        }
    }

    fn enter(&self) -> Permit<'_> {
        let free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let mut free = self
            .freed
            .wait_while(free, |n| *n == 0)
            .unwrap_or_else(PoisonError::into_inner);
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// What a SASL error means for the login record and the failure count.
fn result_of(e: &SaslError) -> LoginResult {
    match e {
        SaslError::Malformed(_) | SaslError::MechanismUnavailable(_) => LoginResult::Malformed,
        SaslError::ChannelBinding(_) => LoginResult::ChannelBinding,
        _ => LoginResult::BadCredentials,
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
pub(crate) mod tests;
