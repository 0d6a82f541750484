//! AUTH (RFC 4954) on submission, and the checks on who may send as whom.
//!
//! The SASL work is the [`Authenticator`]'s; this part maps its outcomes to SMTP
//! replies, reads the client's base64 answers to 334 challenges, and decides
//! when AUTH is offered at all: on submission only, and only over TLS unless the
//! listener allows plaintext logins.

use super::{Backend, Session, State, reply};
use crate::address::ReversePath;
use crate::auth::{self, Authenticator, Exchange, Failure, Login, Outcome};
use crate::message::from_addresses;
use crate::sasl::{
    Mechanism, Response, decode_initial_response, decode_response, encode_challenge,
};
use crate::smtp::{LineError, Reply, line_text};
use crate::store::LoginResult;

/// RFC 4954 4: a server must accept answers to challenges of 12,288 octets (the
/// AUTH command itself is a command line, at most 512).
const MAX_AUTH_LINE: usize = 12_288 + 2;

impl Session {
    /// Who is authenticating, for the authentication layer.
    pub(super) fn client(&self) -> auth::Client {
        auth::Client {
            protocol: "submission",
            remote_ip: self.remote_ip,
            tls: self.tls.clone(),
            key: self.client_key.clone(),
            user_agent: None,
        }
    }

    /// The authenticator, if AUTH may be used on this connection now.
    fn auth_allowed<'b>(&self, backend: &'b dyn Backend) -> Result<&'b Authenticator, Reply> {
        if !self.settings.submission {
            return Err(reply(
                502,
                (5, 5, 1),
                "AUTH is for submission, not this port",
            ));
        }
        let Some(auth) = backend.authenticator() else {
            return Err(reply(454, (4, 7, 0), "authentication is not available"));
        };
        if self.tls.is_none() && !self.settings.plaintext_auth {
            let text = match self.settings.starttls {
                true => "encryption required: send STARTTLS first",
                false => {
                    "encryption required, and this port offers no STARTTLS: use the submissions port"
                }
            };
            return Err(reply(538, (5, 7, 11), text));
        }
        Ok(auth)
    }

    /// The mechanisms for the EHLO AUTH line, when AUTH may be used.
    pub(super) fn auth_offered(&self, backend: &dyn Backend) -> Option<String> {
        let auth = self.auth_allowed(backend).ok()?;
        let names: Vec<&str> = auth
            .offered(&self.client())
            .iter()
            .map(|m| m.name())
            .collect();
        Some(names.join(" "))
    }

    pub(super) fn auth_command(
        &mut self,
        mechanism: &str,
        initial: Option<&str>,
        backend: &dyn Backend,
    ) {
        let auth = match self.auth_allowed(backend) {
            Ok(auth) => auth,
            Err(r) => return self.send(r),
        };
        let refusal = if self.helo.is_none() {
            Some("send EHLO first")
        } else if self.login.is_some() && !self.login_by_key {
            Some("already authenticated")
        } else if self.tx.is_some() {
            Some("AUTH is not allowed during a mail transaction")
        } else {
            None
        };
        if let Some(text) = refusal {
            return self.send(reply(503, (5, 5, 1), text));
        }
        let client = self.client();
        let offered = auth.offered(&client);
        if !Mechanism::from_name(mechanism).is_some_and(|m| offered.contains(&m)) {
            let names: Vec<&str> = offered.iter().map(|m| m.name()).collect();
            let text = format!(
                "mechanism {mechanism} is not offered; use one of {}",
                names.join(" ")
            );
            return self.send(reply(504, (5, 5, 4), text));
        }
        let initial = match initial.map(decode_initial_response).transpose() {
            Ok(i) => i,
            Err(e) => return self.send(reply(501, (5, 5, 2), format!("initial response: {e}"))),
        };
        let (exchange, outcome) = auth.start(&client, mechanism, initial.as_deref());
        self.auth_outcome(exchange, outcome);
    }

    /// Reads the client's answer to a challenge; false if no complete line is there.
    pub(super) fn auth_response(&mut self, backend: &dyn Backend) -> bool {
        let line = match self.take_line(MAX_AUTH_LINE) {
            None => return false,
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                if matches!(self.state, State::Auth(_) | State::AuthFinal(_)) {
                    self.state = State::Command;
                }
                let code = match e {
                    LineError::TooLong(_) => (5, 5, 6),
                    _ => (5, 5, 2),
                };
                self.send(reply(
                    500,
                    code,
                    format!("authentication exchange ended: {e}"),
                ));
                return true;
            }
        };
        let state = std::mem::replace(&mut self.state, State::Command);
        let response = line_text(&line)
            .map_err(|e| e.to_string())
            .and_then(|text| decode_response(text).map_err(|e| e.to_string()));
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                self.send(reply(
                    501,
                    (5, 5, 2),
                    format!("authentication exchange ended: {e}"),
                ));
                return true;
            }
        };
        match (state, backend.authenticator()) {
            (State::Auth(mut exchange), Some(auth)) => {
                let outcome = auth.step(&self.client(), &mut exchange, response);
                self.auth_outcome(Some(*exchange), outcome);
            }
            (State::AuthFinal(login), _) => match response {
                Response::Message(m) if m.is_empty() => self.logged_in(login),
                Response::Message(_) => self.send(reply(
                    501,
                    (5, 5, 2),
                    "expected an empty answer to the server's final message",
                )),
                Response::Cancel => self.send(reply(501, (5, 0, 0), "authentication cancelled")),
            },
            _ => self.send(reply(454, (4, 7, 0), "authentication is not available")),
        }
        true
    }

    fn auth_outcome(&mut self, exchange: Option<Exchange>, outcome: Outcome) {
        match (outcome, exchange) {
            (Outcome::Challenge(c), Some(exchange)) => {
                self.state = State::Auth(Box::new(exchange));
                self.challenge(&c);
            }
            (Outcome::Challenge(_), None) => {
                self.send(reply(454, (4, 7, 0), "authentication is not available"))
            }
            (
                Outcome::Success {
                    login,
                    server_final,
                    delay,
                },
                _,
            ) => {
                self.delay += delay;
                match server_final {
                    Some(v) => {
                        self.state = State::AuthFinal(login);
                        self.challenge(&v);
                    }
                    None => self.logged_in(login),
                }
            }
            (Outcome::Failure(f), _) => self.auth_failed(f),
        }
    }

    /// A 334 line: no enhanced code, the text is the base64 challenge (RFC 4954 4).
    fn challenge(&mut self, challenge: &[u8]) {
        let line = format!("334 {}\r\n", encode_challenge(challenge));
        self.out.extend_from_slice(line.as_bytes());
    }

    /// After a client-certificate login, AUTH may confirm the same account, not
    /// switch to another.
    fn logged_in(&mut self, login: Login) {
        if let Some(by_key) = self.login.as_ref().filter(|_| self.login_by_key)
            && by_key.account != login.account
        {
            let text = "this login is for another account than the client certificate's";
            return self.send(reply(535, (5, 7, 8), text));
        }
        tracing::info!(account = login.account, login = login.name, "authenticated");
        self.login = Some(login);
        self.login_by_key = false;
        self.send(reply(235, (2, 7, 0), "authentication succeeded"));
    }

    fn auth_failed(&mut self, f: Failure) {
        self.delay += f.delay;
        let r = match f.result {
            LoginResult::Malformed => reply(501, (5, 5, 2), f.message),
            LoginResult::Cancelled => reply(501, (5, 0, 0), f.message),
            LoginResult::RateLimited => reply(454, (4, 7, 0), f.message),
            LoginResult::Disabled => reply(525, (5, 7, 13), f.message),
            _ => reply(535, (5, 7, 8), f.message),
        };
        self.send(r);
    }

    /// On submission, the message's From header must name only addresses the
    /// account may send as (RFC 6409 8.1 lets a submission server check this).
    pub(super) fn check_from_header(&self, message: &[u8], backend: &dyn Backend) -> Option<Reply> {
        let login = self.login.as_ref().filter(|_| self.settings.submission)?;
        let from = match from_addresses(message, self.settings.lenient) {
            Ok(from) => from.value,
            Err(e) => return Some(reply(550, (5, 6, 0), format!("{e}; message not accepted"))),
        };
        let foreign = from
            .iter()
            .find(|m| !backend.may_send_as(login, &m.address))?;
        Some(reply(
            550,
            (5, 7, 1),
            format!(
                "From header address {} is not an address of account {}; message not accepted",
                foreign.address, login.account
            ),
        ))
    }

    /// MAIL FROM on submission: only after AUTH, and only with an address the
    /// account may send as (or the null path, for MDNs and the like; the From
    /// header is checked at the end of DATA either way).
    pub(super) fn check_submitter(
        &self,
        from: &ReversePath,
        backend: &dyn Backend,
    ) -> Option<Reply> {
        let Some(login) = &self.login else {
            return Some(reply(
                530,
                (5, 7, 0),
                "authentication required: send AUTH first",
            ));
        };
        match from {
            ReversePath::Mailbox(a) if !backend.may_send_as(login, a) => Some(reply(
                550,
                (5, 7, 1),
                format!(
                    "{a} is not an address of account {}; use one of yours",
                    login.account
                ),
            )),
            _ => None,
        }
    }
}
