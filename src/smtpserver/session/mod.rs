//! One SMTP session as a state machine without I/O: bytes in, reply bytes and an
//! action out. The listener moves bytes and does TLS; the [`Backend`] checks
//! recipients and stores messages. So every protocol path can be tested as a
//! transcript, and whole sessions fuzzed.

mod auth;

use std::net::IpAddr;
use std::time::Duration;

use crate::address::{Address, Domain, ForwardPath, Host, ReversePath};
use crate::auth::{Authenticator, Exchange, Login};
use crate::leniency::{Leniencies, Leniency};
use crate::message::Received;
use crate::smtp::{
    Body, Command, DataDecoder, DataError, DataRules, Enhanced, LineError, MAX_COMMAND_LINE,
    MailParams, RcptParams, Reply, line_text, next_line,
};
use crate::store::TlsPubKey;
use crate::tls::ConnectionInfo;

/// What a session is for and what it allows.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This server's name, in the greeting and Received fields.
    pub hostname: Domain,
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub lenient: Leniencies,
    /// Whether STARTTLS is offered (the listener has a certificate).
    pub starttls: bool,
    /// Protocol errors tolerated before the session is closed.
    pub max_errors: u32,
    /// Commands other than MAIL, RCPT, DATA and BDAT tolerated before a message.
    pub max_commands_before_mail: u32,
    /// Submission (RFC 6409): AUTH is offered and required before MAIL, and only
    /// the account's own addresses may be used as sender.
    pub submission: bool,
    /// Whether AUTH may be used before TLS (the listener allows plaintext logins).
    pub plaintext_auth: bool,
}

/// The envelope of a message being delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub helo: String,
    pub remote_ip: IpAddr,
    pub from: ReversePath,
    pub params: MailParams,
    pub recipients: Vec<(ForwardPath, RcptParams)>,
    /// TLS version and cipher suite, when encrypted.
    pub tls: Option<String>,
    /// RFC 3848 "with" keyword.
    pub protocol: String,
    /// The authenticated submitter, on submission.
    pub login: Option<Login>,
}

/// How the backend turns a command down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Sends this reply; a 421 also closes the connection (RFC 5321 3.8).
    Reply(Reply),
    /// Sends nothing more and waits for the client to give up.
    Silence,
    /// Closes the connection without a reply.
    Disconnect,
}

impl From<Reply> for Refusal {
    fn from(r: Reply) -> Refusal {
        Refusal::Reply(r)
    }
}

/// Sender and recipient checks, delivery and authentication, behind the session.
pub trait Backend {
    /// At MAIL FROM, after the session's own checks: whether mail from `from` is
    /// taken.
    fn sender(&mut self, from: &ReversePath) -> Result<(), Refusal>;
    /// At RCPT TO: whether mail to `to` is accepted here, from an authenticated
    /// submitter when `login` is given.
    fn recipient(&mut self, to: &ForwardPath, login: Option<&Login>) -> Result<(), Refusal>;
    /// Delivers `message` (trace fields not yet added) to every recipient. Returns
    /// only when it is durable; the reply to DATA or BDAT LAST waits for it.
    fn deliver(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Refusal>;
    /// Whether the logged-in account may use `address` as sender (MAIL FROM, From).
    fn may_send_as(&self, login: &Login, address: &Address) -> bool;
    /// The authentication layer; submission sessions need one.
    fn authenticator(&self) -> Option<&Authenticator>;
}

/// What the listener does after sending the replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    /// Start TLS now; bytes received after STARTTLS were dropped, as RFC 3207 5
    /// requires (they could be an injection).
    StartTls,
    Close,
    /// Send nothing more; close when the client does, or after a long while.
    Silence,
}

#[derive(Debug)]
enum State {
    /// Reading command lines.
    Command,
    /// Dropping the rest of an over-long line.
    Discard,
    Data(DataDecoder),
    /// Reading a BDAT chunk: bytes still to come, and whether it is the last one.
    Bdat {
        remaining: u64,
        last: bool,
    },
    /// In an AUTH exchange: reading the client's answer to a 334 challenge.
    Auth(Box<Exchange>),
    /// After SCRAM's server-final challenge: the client's empty answer logs in.
    AuthFinal(Login),
}

/// A transaction from MAIL FROM on.
#[derive(Debug)]
struct Transaction {
    from: ReversePath,
    params: MailParams,
    recipients: Vec<(ForwardPath, RcptParams)>,
    /// The message so far (DATA decodes into it, and BDAT chunks go into it).
    message: Vec<u8>,
    /// The checks on BDAT chunks, from the first chunk on.
    chunks: Option<DataDecoder>,
}

pub struct Session {
    settings: Settings,
    remote_ip: IpAddr,
    state: State,
    /// The EHLO or HELO name, and whether it was EHLO.
    helo: Option<(String, bool)>,
    tls: Option<ConnectionInfo>,
    login: Option<Login>,
    /// Whether `login` came from a registered client certificate (AUTH may then
    /// still confirm the same account).
    login_by_key: bool,
    /// The registration of the client certificate's key, looked up at the handshake.
    client_key: Option<TlsPubKey>,
    tx: Option<Transaction>,
    pending: Vec<u8>,
    errors: u32,
    /// Commands since the last message (or the start), for max_commands_before_mail.
    commands: u32,
    /// How long the listener waits before sending the replies (a failed login).
    delay: Duration,
    out: Vec<u8>,
    /// Set by a refusal that ends the session: what the listener does next.
    ending: Option<Action>,
}

fn reply(code: u16, e: (u8, u16, u16), text: impl Into<String>) -> Reply {
    Reply::new(code, Enhanced(e.0, e.1, e.2), text)
}

impl Session {
    pub fn new(settings: Settings, remote_ip: IpAddr) -> Session {
        Session {
            settings,
            remote_ip,
            state: State::Command,
            helo: None,
            tls: None,
            login: None,
            login_by_key: false,
            client_key: None,
            tx: None,
            pending: Vec::new(),
            errors: 0,
            commands: 0,
            delay: Duration::ZERO,
            out: Vec::new(),
            ending: None,
        }
    }

    /// The 220 greeting (without enhanced code, RFC 2034 3).
    pub fn greeting(&self) -> Vec<u8> {
        format!("220 {} ESMTP gannet\r\n", self.settings.hostname).into_bytes()
    }

    /// After the listener completed the TLS handshake (after STARTTLS, or before
    /// the greeting on an implicit-TLS port): the session starts over (RFC 3207
    /// 4.2: the client must send EHLO again). On submission, a registered client
    /// certificate logs the client in.
    pub fn tls_started(&mut self, info: ConnectionInfo, backend: &dyn Backend) {
        self.tls = Some(info);
        self.helo = None;
        self.tx = None;
        self.pending.clear();
        self.login = None;
        if self.settings.submission
            && let Some(auth) = backend.authenticator()
        {
            self.client_key = self.tls.as_ref().and_then(|t| auth.registered_key(t));
            self.login = auth
                .client_key_login(&self.client())
                .map(|(login, _)| login);
            self.login_by_key = self.login.is_some();
        }
    }

    /// How long to wait before sending the replies of the last [`Session::feed`]:
    /// a failed login is answered late, to slow down guessing.
    pub fn take_delay(&mut self) -> Duration {
        std::mem::take(&mut self.delay)
    }

    /// Whether the session is reading message content (for the data timeout)
    /// rather than waiting for a command.
    pub fn in_data(&self) -> bool {
        matches!(self.state, State::Data(_) | State::Bdat { .. })
    }

    /// Takes received bytes; returns the replies to send and what to do next.
    pub fn feed(&mut self, input: &[u8], backend: &mut dyn Backend) -> (Vec<u8>, Action) {
        self.pending.extend_from_slice(input);
        let action = self.process(backend);
        (std::mem::take(&mut self.out), action)
    }

    fn process(&mut self, backend: &mut dyn Backend) -> Action {
        loop {
            let progressed = match &mut self.state {
                State::Data(_) => self.data(backend),
                State::Bdat { .. } => self.bdat(backend),
                State::Discard => self.discard(),
                State::Auth(_) | State::AuthFinal(_) => self.auth_response(backend),
                State::Command => match self.command(backend) {
                    Some(Action::Continue) => true,
                    Some(action) => return action,
                    None => false,
                },
            };
            if let Some(action) = self.ending.take() {
                return action;
            }
            if self.errors > self.settings.max_errors {
                self.send(reply(421, (4, 7, 0), "too many errors; closing"));
                return Action::Close;
            }
            if !progressed {
                return Action::Continue;
            }
        }
    }

    /// Answers a backend's refusal.
    fn refused(&mut self, refusal: Refusal) {
        match refusal {
            Refusal::Reply(r) => {
                if r.code == 421 {
                    self.ending = Some(Action::Close);
                }
                self.send(r);
            }
            Refusal::Silence => self.ending = Some(Action::Silence),
            Refusal::Disconnect => self.ending = Some(Action::Close),
        }
    }

    fn send(&mut self, r: Reply) {
        // A client at fault: count it towards the error limit.
        if r.code >= 500 {
            self.errors += 1;
        }
        self.out.extend_from_slice(r.to_string().as_bytes());
    }

    /// Handles one command line if a complete one is there; `None` if not.
    fn command(&mut self, backend: &mut dyn Backend) -> Option<Action> {
        match self.take_line(MAX_COMMAND_LINE)? {
            Ok(line) => Some(self.line(&line, backend)),
            Err(e) => {
                self.send(reply(500, (5, 5, 2), e.to_string()));
                Some(Action::Continue)
            }
        }
    }

    /// The next complete line without its ending, `None` if there is none yet, or
    /// why the line is refused. The rest of an over-long line is discarded.
    fn take_line(&mut self, max: usize) -> Option<Result<Vec<u8>, LineError>> {
        let bare_lf = self.settings.lenient.allows(Leniency::BareLf);
        match next_line(&self.pending, max, bare_lf) {
            Ok(None) => None,
            Err((e, consumed)) => {
                let partial = matches!(e, LineError::TooLong(_))
                    && !self.pending[..consumed].contains(&b'\n');
                self.pending.drain(..consumed);
                if partial {
                    self.state = State::Discard;
                }
                Some(Err(e))
            }
            Ok(Some(found)) => Some(Ok(self
                .pending
                .drain(..found.consumed)
                .take(found.len)
                .collect())),
        }
    }

    fn discard(&mut self) -> bool {
        match self.pending.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                self.pending.drain(..=lf);
                self.state = State::Command;
                true
            }
            None => {
                self.pending.clear();
                false
            }
        }
    }

    fn line(&mut self, line: &[u8], backend: &mut dyn Backend) -> Action {
        let text = match line_text(line) {
            Ok(t) => t,
            Err(e) => {
                self.send(reply(500, (5, 5, 2), e.to_string()));
                return Action::Continue;
            }
        };
        let command = match Command::parse(text, self.settings.lenient) {
            Ok(c) => c,
            Err(e) => {
                self.send(e.reply());
                return Action::Continue;
            }
        };
        if !matches!(
            command,
            Command::Mail { .. } | Command::Rcpt { .. } | Command::Data | Command::Bdat { .. }
        ) {
            self.commands += 1;
            if self.commands > self.settings.max_commands_before_mail {
                tracing::info!(
                    commands = self.commands,
                    "too many commands without a message"
                );
                self.send(reply(
                    421,
                    (4, 7, 0),
                    "too many commands without a message; closing",
                ));
                return Action::Close;
            }
        }
        match command {
            Command::Ehlo(host) => self.ehlo(host, backend),
            Command::Helo(domain) => {
                self.helo = Some((domain.to_string(), false));
                self.tx = None;
                self.send(Reply {
                    code: 250,
                    enhanced: None,
                    lines: vec![self.settings.hostname.to_string()],
                });
            }
            Command::Mail { from, params } => self.mail(from, params, backend),
            Command::Rcpt { to, params } => self.rcpt(to, params, backend),
            Command::Data => self.data_command(),
            Command::Bdat { size, last } => self.bdat_command(size, last),
            Command::Rset => {
                self.tx = None;
                self.send(reply(250, (2, 0, 0), "reset"));
            }
            Command::Noop(_) => self.send(reply(250, (2, 0, 0), "ok")),
            Command::Help(_) => self.send(reply(
                214,
                (2, 0, 0),
                "commands are in RFC 5321; this is gannet",
            )),
            Command::Vrfy(_) | Command::Expn(_) => {
                self.send(reply(
                    252,
                    (2, 1, 5),
                    "cannot verify; send the message and see",
                ));
            }
            Command::Quit => {
                self.send(reply(221, (2, 0, 0), "bye"));
                return Action::Close;
            }
            Command::StartTls => return self.starttls(),
            Command::Auth { mechanism, initial } => {
                self.auth_command(&mechanism, initial.as_deref(), backend)
            }
        }
        Action::Continue
    }

    fn ehlo(&mut self, host: Host, backend: &dyn Backend) {
        self.helo = Some((host.to_string(), true));
        self.tx = None;
        let mut lines = vec![
            format!("{} greets {host}", self.settings.hostname),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.settings.max_message_size),
            "8BITMIME".to_string(),
            "BINARYMIME".to_string(),
            "CHUNKING".to_string(),
            "SMTPUTF8".to_string(),
            "DSN".to_string(),
            format!("LIMITS RCPTMAX={}", self.settings.max_recipients),
        ];
        if self.tls.is_some() {
            lines.push("REQUIRETLS".to_string());
        } else if self.settings.starttls {
            lines.push("STARTTLS".to_string());
        }
        if let Some(mechanisms) = self.auth_offered(backend) {
            lines.push(format!("AUTH {mechanisms}"));
        }
        lines.push("ENHANCEDSTATUSCODES".to_string());
        self.send(Reply {
            code: 250,
            enhanced: None,
            lines,
        });
    }

    fn starttls(&mut self) -> Action {
        if self.tls.is_some() {
            self.send(reply(503, (5, 5, 1), "TLS is already active"));
        } else if !self.settings.starttls {
            self.send(reply(502, (5, 5, 1), "STARTTLS is not offered here"));
        } else if self.tx.is_some() {
            self.send(reply(
                503,
                (5, 5, 1),
                "STARTTLS not allowed in a transaction; send RSET first",
            ));
        } else {
            self.send(reply(220, (2, 0, 0), "go ahead"));
            self.pending.clear();
            return Action::StartTls;
        }
        Action::Continue
    }

    fn mail(&mut self, from: ReversePath, params: MailParams, backend: &mut dyn Backend) {
        let refusal = match &self.helo {
            None => Some(reply(503, (5, 5, 1), "send EHLO or HELO first")),
            Some(_) if self.tx.is_some() => Some(reply(
                503,
                (5, 5, 1),
                "a transaction is already open; send RSET first",
            )),
            Some((_, false)) if params != MailParams::default() => Some(reply(
                555,
                (5, 5, 4),
                "parameters need EHLO; HELO announces no extensions",
            )),
            Some(_) => self.check_mail(&from, &params, backend),
        };
        if let Some(r) = refusal {
            self.send(r);
            return;
        }
        if let Err(refusal) = backend.sender(&from) {
            return self.refused(refusal);
        }
        self.tx = Some(Transaction {
            from,
            params,
            recipients: Vec::new(),
            message: Vec::new(),
            chunks: None,
        });
        self.commands = 0;
        self.send(reply(250, (2, 1, 0), "sender ok"));
    }

    fn check_mail(
        &self,
        from: &ReversePath,
        params: &MailParams,
        backend: &dyn Backend,
    ) -> Option<Reply> {
        if self.settings.submission
            && let Some(refusal) = self.check_submitter(from, backend)
        {
            return Some(refusal);
        }
        if params
            .size
            .is_some_and(|s| s > self.settings.max_message_size)
        {
            let text = format!(
                "message size exceeds the {} bytes allowed",
                self.settings.max_message_size
            );
            return Some(reply(552, (5, 3, 4), text));
        }
        if let ReversePath::Mailbox(a) = from
            && !a.is_ascii()
            && !params.smtputf8
        {
            return Some(reply(
                553,
                (5, 6, 7),
                "a non-ASCII address needs the SMTPUTF8 parameter (RFC 6531)",
            ));
        }
        if params.requiretls && self.tls.is_none() {
            return Some(reply(
                530,
                (5, 7, 10),
                "REQUIRETLS needs a TLS session (RFC 8689)",
            ));
        }
        if params.hold.is_some() {
            let text = if self.settings.submission {
                "FUTURERELEASE needs the outgoing queue, which this server does not have yet"
            } else {
                "FUTURERELEASE is for submission, not this port"
            };
            return Some(reply(555, (5, 5, 4), text));
        }
        // AUTH= is accepted and not trusted (RFC 4954 5): the submitter is who
        // logged in, and incoming mail has no AUTH.
        None
    }

    fn rcpt(&mut self, to: ForwardPath, params: RcptParams, backend: &mut dyn Backend) {
        let max = self.settings.max_recipients;
        let Some(tx) = &mut self.tx else {
            self.send(reply(503, (5, 5, 1), "send MAIL FROM first"));
            return;
        };
        if tx.recipients.len() >= max {
            let text = format!("too many recipients; at most {max} per message");
            self.send(reply(452, (4, 5, 3), text));
            return;
        }
        if let ForwardPath::Mailbox(a) = &to
            && !a.is_ascii()
            && !tx.params.smtputf8
        {
            self.send(reply(
                553,
                (5, 6, 7),
                "a non-ASCII address needs the SMTPUTF8 parameter on MAIL FROM",
            ));
            return;
        }
        match backend.recipient(&to, self.login.as_ref()) {
            Ok(()) => {
                tx.recipients.push((to, params));
                self.send(reply(250, (2, 1, 5), "recipient ok"));
            }
            Err(refusal) => self.refused(refusal),
        }
    }

    /// Whether a transaction with recipients is open; replies if not.
    fn ready_for_content(&mut self) -> bool {
        match &self.tx {
            None => self.send(reply(503, (5, 5, 1), "send MAIL FROM and RCPT TO first")),
            Some(tx) if tx.recipients.is_empty() => {
                self.send(reply(554, (5, 5, 1), "no valid recipients"))
            }
            Some(_) => return true,
        }
        false
    }

    fn data_command(&mut self) {
        if !self.ready_for_content() {
            return;
        }
        let tx = self.tx.as_ref().expect("checked");
        if tx.params.body == Some(Body::BinaryMime) {
            self.send(reply(
                503,
                (5, 5, 1),
                "BODY=BINARYMIME needs BDAT, not DATA (RFC 3030 3)",
            ));
            return;
        }
        if tx.chunks.is_some() {
            self.send(reply(
                503,
                (5, 5, 1),
                "DATA after BDAT; finish with BDAT LAST or send RSET",
            ));
            return;
        }
        let rules = self.data_rules(&tx.params);
        self.state = State::Data(DataDecoder::new(rules));
        self.out
            .extend_from_slice(b"354 end the message with a line holding only a dot\r\n");
    }

    /// Reads DATA bytes; at the end, delivers or refuses.
    fn data(&mut self, backend: &mut dyn Backend) -> bool {
        let State::Data(decoder) = &mut self.state else {
            return false;
        };
        let tx = self.tx.as_mut().expect("DATA runs inside a transaction");
        let fed = decoder.feed(&self.pending, &mut tx.message);
        self.pending.drain(..fed.consumed);
        if !fed.done {
            return false;
        }
        let State::Data(decoder) = std::mem::replace(&mut self.state, State::Command) else {
            unreachable!()
        };
        match decoder.finish() {
            Ok(_) => self.deliver(backend),
            Err(e) => self.refuse(e),
        }
        true
    }

    /// What DATA and BDAT check for this transaction.
    fn data_rules(&self, params: &MailParams) -> DataRules {
        DataRules {
            max_size: self.settings.max_message_size,
            body: params.body,
            smtputf8: params.smtputf8,
            bare_lf: self.settings.lenient.allows(Leniency::BareLf),
        }
    }

    /// Ends the transaction with the reply for a refused message.
    fn refuse(&mut self, e: DataError) {
        self.tx = None;
        let (code, enhanced) = e.codes();
        self.send(Reply::new(
            code,
            enhanced,
            format!("{e}; message not accepted"),
        ));
    }

    fn bdat_command(&mut self, size: u64, last: bool) {
        // The chunk follows whatever the reply: read it even when refusing.
        self.state = State::Bdat {
            remaining: size,
            last,
        };
        if !self.ready_for_content() {
            self.tx = None;
        }
    }

    fn bdat(&mut self, backend: &mut dyn Backend) -> bool {
        let State::Bdat { remaining, last } = &mut self.state else {
            return false;
        };
        let take = (*remaining).min(self.pending.len() as u64) as usize;
        let chunk: Vec<u8> = self.pending.drain(..take).collect();
        *remaining -= take as u64;
        let (done, last) = (*remaining == 0, *last);
        let rules = self.tx.as_ref().map(|tx| self.data_rules(&tx.params));
        if let (Some(tx), Some(rules)) = (&mut self.tx, rules) {
            let decoder = tx.chunks.get_or_insert_with(|| DataDecoder::chunked(rules));
            decoder.feed(&chunk, &mut tx.message);
        }
        if !done {
            return take > 0;
        }
        self.state = State::Command;
        // None: refused at BDAT; the chunk was read and dropped.
        let Some(tx) = &mut self.tx else { return true };
        let decoder = tx
            .chunks
            .as_ref()
            .expect("every chunk goes through the decoder");
        if let Some(e) = decoder.error() {
            self.refuse(e);
        } else if !last {
            let text = format!("{} octets so far", tx.message.len());
            self.send(reply(250, (2, 0, 0), text));
        } else {
            match tx.chunks.take().expect("checked above").finish() {
                Ok(_) => self.deliver(backend),
                Err(e) => self.refuse(e),
            }
        }
        true
    }

    fn deliver(&mut self, backend: &mut dyn Backend) {
        let tx = self.tx.take().expect("delivering a transaction");
        if let Some(refusal) = self.check_from_header(&tx.message, backend) {
            return self.send(refusal);
        }
        let envelope = Envelope {
            helo: self
                .helo
                .as_ref()
                .map(|(h, _)| h.clone())
                .unwrap_or_default(),
            remote_ip: self.remote_ip,
            protocol: self.protocol(&tx.params),
            from: tx.from,
            params: tx.params,
            recipients: tx.recipients,
            tls: self.tls.as_ref().map(ConnectionInfo::summary),
            login: self.login.clone(),
        };
        match backend.deliver(&envelope, &tx.message) {
            Ok(id) => self.send(reply(250, (2, 0, 0), format!("delivered as {id}"))),
            Err(refusal) => self.refused(refusal),
        }
    }

    /// RFC 3848 and RFC 6531 3.7.3: ESMTP, then S with TLS and A when
    /// authenticated (ESMTPSA); UTF8SMTP likewise.
    fn protocol(&self, params: &MailParams) -> String {
        let esmtp = self.helo.as_ref().is_some_and(|(_, e)| *e);
        let base = match (params.smtputf8, esmtp) {
            (true, _) => "UTF8SMTP",
            (false, true) => "ESMTP",
            (false, false) => "SMTP",
        };
        let tls = if self.tls.is_some() { "S" } else { "" };
        let auth = if self.login.is_some() { "A" } else { "" };
        format!("{base}{tls}{auth}")
    }
}

/// The Received field for a delivery of `envelope` to `recipient` (when only one).
pub fn received(
    envelope: &Envelope,
    by: &Domain,
    id: &str,
    recipient: Option<&Address>,
    time: i64,
) -> Received {
    Received {
        helo: envelope.helo.clone(),
        remote_ip: envelope.remote_ip,
        by: by.to_string(),
        protocol: envelope.protocol.clone(),
        tls: envelope.tls.clone(),
        id: id.to_string(),
        recipient: recipient.map(Address::to_string),
        time,
    }
}
