//! Capabilities, STARTTLS, LOGIN, AUTHENTICATE (with SASL-IR, RFC 4959), PREAUTH by
//! client certificate, ENABLE and ID.
//!
//! The SASL work is the [`Authenticator`]'s (shared with SMTP submission); this part
//! maps its outcomes to IMAP responses with the RFC 5530 codes, and decides when a
//! login may be tried at all: over TLS, or before it where the listener allows.

use std::sync::Arc;

use super::{Action, Authenticated, Done, Mode, Outcome, Session, lock};
use crate::auth::{self, Exchange, Failure, Login, Outcome as AuthOutcome};
use crate::sasl::{Response, decode_initial_response, decode_response, encode_challenge};
use crate::store::LoginResult;

/// Capabilities always announced once logged in, besides the literal flavour and
/// APPENDLIMIT. COMPRESS (RFC 4978) is for the authenticated state only.
const AUTHENTICATED_CAPABILITIES: &str = "IMAP4rev1 IMAP4rev2 ID ENABLE IDLE NAMESPACE UNSELECT UNAUTHENTICATE UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE ESEARCH SEARCHRES BINARY PREVIEW CONDSTORE QRESYNC MULTIAPPEND SAVEDATE COMPRESS=DEFLATE SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE REPLACE OBJECTID PARTIAL UIDONLY METADATA LIST-METADATA NOTIFY MULTISEARCH UTF8=ACCEPT";

/// ID fields kept at most (RFC 2971 3.3 allows 30 pairs).
const USER_AGENT_MAX: usize = 200;

/// LITERAL+ or LITERAL- (RFC 7888), as the limits say.
fn literal_capability(limits: &crate::imap::Limits) -> &'static str {
    match limits.max_non_sync_literal {
        None => "LITERAL+",
        Some(_) => "LITERAL-",
    }
}

impl Session {
    /// The capability list once logged in.
    pub(super) fn logged_in_capabilities(limits: &crate::imap::Limits) -> String {
        let literal = literal_capability(limits);
        let limit = limits.max_literal;
        format!("{AUTHENTICATED_CAPABILITIES} {literal} APPENDLIMIT={limit}")
    }

    /// The capability list for the current state.
    pub(super) fn capabilities(&self) -> String {
        let literal = literal_capability(&self.settings.limits);
        if self.auth.is_some() {
            return Session::logged_in_capabilities(&self.settings.limits);
        }
        let mut caps = vec![
            "IMAP4rev1",
            "IMAP4rev2",
            "SASL-IR",
            literal,
            "ID",
            "ENABLE",
            "IDLE",
        ];
        // Not after UNAUTHENTICATE on a compressed stream: TLS cannot go on top.
        if self.settings.starttls && !self.is_tls() && !self.compression.active() {
            caps.push("STARTTLS");
        }
        if !self.login_allowed() {
            caps.push("LOGINDISABLED");
            return caps.join(" ");
        }
        let mut text = caps.join(" ");
        for mech in self.services.authenticator.offered(&self.client()) {
            text.push_str(" AUTH=");
            text.push_str(mech.name());
        }
        text
    }

    pub(super) fn capability(&mut self) -> Outcome {
        let line = format!("* CAPABILITY {}", self.capabilities());
        self.line(&line);
        Ok(Done::ok("CAPABILITY done"))
    }

    /// Whether LOGIN and AUTHENTICATE may be used now.
    fn login_allowed(&self) -> bool {
        self.is_tls() || self.settings.plaintext_auth
    }

    /// Who is authenticating, for the authentication layer.
    fn client(&self) -> auth::Client {
        auth::Client {
            protocol: "imap",
            remote_ip: self.remote_ip,
            tls: self.tls.clone(),
            key: self.client_key.clone(),
            user_agent: self.client_id.clone(),
        }
    }

    pub(super) fn starttls(&mut self) -> Outcome {
        if self.auth.is_some() {
            return Err(Done::bad("STARTTLS is only allowed before logging in"));
        }
        if self.is_tls() {
            return Err(Done::bad("TLS is active already"));
        }
        if !self.settings.starttls {
            return Err(Done::no("STARTTLS is not offered on this port"));
        }
        // Commands pipelined after STARTTLS were sent in the clear and could be an
        // injection (CVE-2011-0411 and kin): they are dropped with the plain stream.
        self.action = Action::StartTls;
        Ok(Done::ok("begin TLS negotiation now"))
    }

    /// The handshake finished: the session continues on the encrypted stream.
    pub fn tls_started(&mut self, info: crate::tls::ConnectionInfo) {
        self.client_key = self.services.authenticator.registered_key(&info);
        self.tls = Some(info);
        self.framer = crate::imap::Framer::new(super::limits_before_login(&self.settings.limits));
    }

    /// A registered client certificate that allows PREAUTH logs the session in before
    /// the greeting.
    pub(super) fn preauth(&mut self) -> bool {
        // A session made logged in ([`Session::preauthenticated`]) greets so too.
        if self.auth.is_some() {
            return true;
        }
        let client = self.client();
        let Some(key) = client.key.as_ref() else {
            return false;
        };
        if key.no_imap_preauth {
            return false;
        }
        match self.services.authenticator.client_key_login(&client) {
            Some((login, _)) => self.logged_in(login).is_ok(),
            None => false,
        }
    }

    /// A session for a local client the operator vouches for (`gannet admin
    /// imapserve`): logged in as `login` from the start, so it greets with PREAUTH.
    /// `login` is what LOGIN takes: an address of an account, or its name. No
    /// credentials are checked and a login disabled in domains.toml still works:
    /// whoever can run this can read the data directory anyway, and a migration may
    /// run while the users are kept out.
    pub fn preauthenticated(
        settings: super::Settings,
        services: super::Services,
        login: &str,
    ) -> Result<Session, String> {
        let account = services.authenticator.account_of(login).ok_or_else(|| {
            format!("{login:?} is neither an address nor the name of an account in domains.toml")
        })?;
        // The client is a process on this machine.
        let local = std::net::IpAddr::from(std::net::Ipv4Addr::LOCALHOST);
        let mut session = Session::new(settings, services, local, None);
        let login = Login {
            account,
            name: login.to_string(),
            // Authenticated outside the protocol (RFC 4422 appendix A), as by a TLS
            // client key.
            mechanism: crate::sasl::Mechanism::External,
        };
        session.logged_in(login).map_err(|done| done.text)?;
        Ok(session)
    }

    pub(super) fn login(&mut self, user: &str, password: &str) -> Outcome {
        self.may_log_in()?;
        // LOGIN is PLAIN without an authorization identity.
        let initial = format!("\0{user}\0{password}");
        let client = self.client();
        let (_, outcome) =
            self.services
                .authenticator
                .start(&client, "PLAIN", Some(initial.as_bytes()));
        match outcome {
            AuthOutcome::Success { login, delay, .. } => {
                self.delay += delay;
                self.logged_in(login)
            }
            AuthOutcome::Failure(f) => Err(self.auth_failed(f)),
            AuthOutcome::Challenge(_) => Err(Done::no("LOGIN failed").code("AUTHENTICATIONFAILED")),
        }
    }

    /// The refusal for LOGIN or AUTHENTICATE in the current state, if any.
    fn may_log_in(&self) -> Result<(), Done> {
        if self.auth.is_some() {
            return Err(Done::bad("already logged in"));
        }
        if !self.login_allowed() {
            let text = match self.settings.starttls {
                true => "logins need TLS: send STARTTLS first",
                false => "logins need TLS: use the IMAPS port",
            };
            return Err(Done::no(text).code("PRIVACYREQUIRED"));
        }
        Ok(())
    }

    pub(super) fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<&str>,
    ) -> Outcome {
        self.may_log_in()?;
        let client = self.client();
        let offered = self.services.authenticator.offered(&client);
        if !offered
            .iter()
            .any(|m| m.name().eq_ignore_ascii_case(mechanism))
        {
            let names: Vec<&str> = offered.iter().map(|m| m.name()).collect();
            return Err(Done::no(format!(
                "mechanism {mechanism} is not offered; use one of {}",
                names.join(" ")
            ))
            .code("CANNOT"));
        }
        let initial = initial
            .map(decode_initial_response)
            .transpose()
            .map_err(|e| Done::bad(format!("initial response: {e}")))?;
        let (exchange, outcome) = self.services.authenticator.start(
            &client,
            &mechanism.to_ascii_uppercase(),
            initial.as_deref(),
        );
        self.auth_outcome(tag, exchange, outcome)
    }

    fn auth_outcome(
        &mut self,
        tag: &str,
        exchange: Option<Exchange>,
        outcome: AuthOutcome,
    ) -> Outcome {
        match (outcome, exchange) {
            (AuthOutcome::Challenge(c), Some(exchange)) => {
                self.challenge(&c);
                self.mode = Mode::Authenticate {
                    tag: tag.to_string(),
                    exchange: Box::new(exchange),
                };
                Ok(Done::pending())
            }
            (AuthOutcome::Challenge(_), None) => {
                Err(Done::no("authentication is not available").code("UNAVAILABLE"))
            }
            (
                AuthOutcome::Success {
                    login,
                    server_final,
                    delay,
                },
                _,
            ) => {
                self.delay += delay;
                match server_final {
                    Some(v) => {
                        self.challenge(&v);
                        self.mode = Mode::AuthFinal {
                            tag: tag.to_string(),
                            login,
                        };
                        Ok(Done::pending())
                    }
                    None => self.logged_in(login),
                }
            }
            (AuthOutcome::Failure(f), _) => Err(self.auth_failed(f)),
        }
    }

    fn challenge(&mut self, challenge: &[u8]) {
        let line = format!("+ {}", encode_challenge(challenge));
        self.line(&line);
    }

    /// The client's answer to a challenge; false when no line is complete yet.
    pub(super) fn auth_line(&mut self) -> bool {
        let Some(line) = self.framer.next_line() else {
            return false;
        };
        let mode = std::mem::replace(&mut self.mode, Mode::Command);
        let tag = match &mode {
            Mode::Authenticate { tag, .. } | Mode::AuthFinal { tag, .. } => tag.clone(),
            _ => return true,
        };
        let response = line
            .map_err(|e| e.to_string())
            .and_then(|l| String::from_utf8(l).map_err(|_| "the answer is not text".to_string()))
            .and_then(|text| decode_response(&text).map_err(|e| e.to_string()));
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                self.bad(&tag, &format!("authentication exchange ended: {e}"));
                return true;
            }
        };
        let outcome = match (mode, response) {
            (Mode::Authenticate { mut exchange, .. }, response) => {
                let client = self.client();
                let outcome = self
                    .services
                    .authenticator
                    .step(&client, &mut exchange, response);
                self.auth_outcome(&tag, Some(*exchange), outcome)
            }
            (Mode::AuthFinal { login, .. }, Response::Message(m)) if m.is_empty() => {
                self.logged_in(login)
            }
            (Mode::AuthFinal { .. }, Response::Message(_)) => Err(Done::bad(
                "expected an empty answer to the server's final message",
            )),
            (_, Response::Cancel) => Err(Done::bad("authentication cancelled")),
            (Mode::Command | Mode::Idle { .. } | Mode::Fetch(_), _) => return true,
        };
        let done = match outcome {
            Ok(d) | Err(d) => d,
        };
        match done.status {
            super::Status::Bad => self.bad(&tag, &done.text),
            _ => self.tagged(&tag, &done),
        }
        true
    }

    /// The session is logged in as `login`: open the account.
    fn logged_in(&mut self, login: Login) -> Outcome {
        let account = self
            .services
            .store
            .account(&login.account)
            .map_err(Done::from)?;
        let changes = lock(&account).subscribe();
        tracing::info!(account = login.account, login = login.name, "logged in");
        self.framer.set_limits(self.settings.limits.clone());
        self.login_epoch += 1;
        self.auth = Some(Authenticated {
            login,
            account: Arc::clone(&account),
            changes,
        });
        let caps = self.capabilities();
        Ok(Done::ok("logged in").code(format!("CAPABILITY {caps}")))
    }

    fn auth_failed(&mut self, f: Failure) -> Done {
        self.delay += f.delay;
        let code = match f.result {
            LoginResult::Malformed | LoginResult::Cancelled => return Done::bad(f.message),
            LoginResult::RateLimited => "UNAVAILABLE",
            LoginResult::Disabled => "CONTACTADMIN",
            _ => "AUTHENTICATIONFAILED",
        };
        Done::no(f.message).code(code)
    }

    /// UNAUTHENTICATE (RFC 8437): the login, the selected mailbox and what ENABLE
    /// turned on are dropped (RFC 8437 3: as after a new connection), TLS stays.
    pub(super) fn unauthenticate(&mut self) -> Outcome {
        self.authenticated()?;
        self.selected = None;
        self.auth = None;
        self.notify = None;
        self.login_epoch += 1;
        self.enabled = Default::default();
        self.framer
            .set_limits(super::limits_before_login(&self.settings.limits));
        Ok(Done::ok("UNAUTHENTICATE done: log in again"))
    }

    /// ENABLE (RFC 5161): IMAP4rev2; others (UTF8=ACCEPT is not announced on its
    /// own) are ignored as the RFC says, and the ENABLED response lists what was
    /// turned on by this command.
    pub(super) fn enable(&mut self, names: &[String]) -> Outcome {
        self.authenticated()?;
        let before = self.enabled;
        let mut enabled = Vec::new();
        for name in names {
            let name = name.to_ascii_uppercase();
            let was = match name.as_str() {
                "IMAP4REV2" => {
                    self.enabled.rev2 = true;
                    before.rev2
                }
                "CONDSTORE" => {
                    self.enable_condstore();
                    before.condstore
                }
                // RFC 5464 4.4: either enables the unsolicited METADATA responses.
                "METADATA" | "METADATA-SERVER" => {
                    self.enabled.metadata = true;
                    before.metadata
                }
                "UTF8=ACCEPT" => {
                    self.enabled.utf8_accept = true;
                    before.utf8_accept
                }
                "UIDONLY" => {
                    self.enabled.uidonly = true;
                    before.uidonly
                }
                // RFC 7162 3.2.3: QRESYNC brings CONDSTORE with it.
                "QRESYNC" => {
                    self.enabled.qresync = true;
                    self.enable_condstore();
                    before.qresync
                }
                _ => continue,
            };
            if !was && !enabled.contains(&name) {
                enabled.push(name);
            }
        }
        let line = match enabled.is_empty() {
            true => "* ENABLED".to_string(),
            false => format!("* ENABLED {}", enabled.join(" ")),
        };
        self.line(&line);
        Ok(Done::ok("ENABLE done"))
    }

    /// ID (RFC 2971): the client's name and version go into the login record; the
    /// server tells its own version only to logged-in clients.
    pub(super) fn id(&mut self, fields: Option<Vec<(String, Option<String>)>>) -> Outcome {
        if let Some(fields) = fields {
            let get = |key: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .and_then(|(_, v)| v.clone())
            };
            let agent = [get("name"), get("version")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            if !agent.is_empty() {
                self.client_id = Some(agent.chars().take(USER_AGENT_MAX).collect());
            }
        }
        let line = match self.auth.is_some() {
            true => format!(
                "* ID (\"name\" \"gannet\" \"version\" \"{}\")",
                env!("CARGO_PKG_VERSION")
            ),
            false => "* ID (\"name\" \"gannet\")".to_string(),
        };
        self.line(&line);
        Ok(Done::ok("ID done"))
    }
}
