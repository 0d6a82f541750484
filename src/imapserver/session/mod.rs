//! One IMAP session as a state machine without I/O: bytes in, response bytes and an
//! action out. The listener moves bytes, does TLS and wakes an idling session when
//! its account changes; the store and the authenticator are called directly (the
//! listener runs each step on the blocking pool). So every protocol path can be
//! tested as a transcript, and whole sessions fuzzed.
//!
//! The command families live in their own files: `auth` (capabilities, login,
//! ENABLE, ID), `mailboxes` (SELECT, CREATE, LIST, STATUS, APPEND, ...),
//! `view` (the selected mailbox's sequence numbers kept in step with the change
//! feed), `fetch`, `search`, and `messages` (STORE, COPY, MOVE, EXPUNGE).

mod auth;
mod compress;
mod fetch;
mod mailboxes;
mod messages;
mod metadata;
mod multisearch;
mod notify;
mod quota;
mod resync;
mod search;
mod sort;
mod uidonly;
mod view;

use std::net::IpAddr;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::auth::{Authenticator, Exchange, Login};
use crate::imap::{Command, Frame, FrameErrorKind, Framer, Limits, Request, parse_command};
use crate::store::{Account, ChangeSet, SharedAccount, Store, StoreError, TlsPubKey};
use crate::tls::ConnectionInfo;

pub use view::{RecentClaims, View};

/// What a session is for and what it allows.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This server's name, for the greeting.
    pub hostname: String,
    /// Whether STARTTLS is offered (the listener has a certificate and the
    /// connection is not TLS already).
    pub starttls: bool,
    /// Whether LOGIN and AUTHENTICATE may be used before TLS.
    pub plaintext_auth: bool,
    /// Caps on lines and literals, and where big literals are spooled.
    pub limits: Limits,
    /// Commands that failed with BAD tolerated before the session is closed.
    pub max_errors: u32,
    /// How long searches tell their progress.
    pub progress: Progress,
}

/// A search of a big mailbox runs in chunks of messages, and tells its progress
/// (RFC 9585 INPROGRESS) when a chunk ends this long after the last word: RFC 9585
/// asks for one at least every 10 seconds.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub every: Duration,
    pub chunk: usize,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            every: Duration::from_secs(5),
            chunk: 5000,
        }
    }
}

/// Pipelined commands stop being run once this much output waits, so a client that
/// pipelines many big FETCHes gets them answered in turn rather than held in memory
/// together.
pub const OUTPUT_PAUSE: usize = 1024 * 1024;

/// Literal bytes a client may send before it has logged in: plenty for LOGIN and
/// AUTHENTICATE strings. APPEND needs a login, so no unknown client can make the
/// server spool messages to disk.
const LITERAL_BEFORE_LOGIN: u64 = 8 * 1024;

/// The framer's limits until login.
fn limits_before_login(limits: &Limits) -> Limits {
    Limits {
        max_literal: limits.max_literal.min(LITERAL_BEFORE_LOGIN),
        max_command: limits.max_command.min(4 * LITERAL_BEFORE_LOGIN),
        ..limits.clone()
    }
}

/// What the session calls: the accounts and the authentication layer.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<Store>,
    pub authenticator: Arc<Authenticator>,
    /// Which messages sessions have shown as `\Recent`, shared by all sessions.
    pub recent: Arc<RecentClaims>,
}

/// What the listener does after sending the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read more input.
    Continue,
    /// Start TLS now (input received after STARTTLS was dropped, RFC 9051 6.2.1).
    StartTls,
    /// The output reached its cap with commands still waiting: send it, then call
    /// [`Session::feed`] again (with no new bytes) before reading.
    More,
    /// The session is idling: pass input as usual, and call
    /// [`Session::changes_arrived`] whenever the account's feed has news.
    Idle,
    Close,
}

/// The logged-in account.
struct Authenticated {
    login: Login,
    account: SharedAccount,
    /// The account's change feed, drained by the selected mailbox's view.
    changes: broadcast::Receiver<Arc<ChangeSet>>,
}

/// What the next input is.
enum Mode {
    Command,
    /// AUTHENTICATE waits for the client's answer to a challenge.
    Authenticate {
        tag: String,
        exchange: Box<Exchange>,
    },
    /// AUTHENTICATE succeeded with a final server message (SCRAM), which the client
    /// answers with an empty line.
    AuthFinal {
        tag: String,
        login: Login,
    },
    /// IDLE until `DONE`.
    Idle {
        tag: String,
    },
    /// A FETCH paused with its output at [`OUTPUT_PAUSE`]: it goes on before any
    /// other input is read.
    Fetch(Box<fetch::FetchRun>),
}

/// Capabilities a client can ENABLE (RFC 5161).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Enabled {
    /// IMAP4rev2 semantics (RFC 9051 6.3.1): no \Recent, ESEARCH answers, UTF-8
    /// mailbox names.
    rev2: bool,
    /// CONDSTORE (RFC 7162 3.1): modseqs in FETCH responses, HIGHESTMODSEQ on
    /// SELECT. Enabled by ENABLE or by the first command that uses a modseq.
    condstore: bool,
    /// QRESYNC (RFC 7162 3.2, implies CONDSTORE): VANISHED instead of EXPUNGE,
    /// SELECT with QRESYNC, UID FETCH with VANISHED.
    qresync: bool,
    /// UIDONLY (RFC 9586): no message numbers either way; FETCH responses are
    /// UIDFETCH, expunges VANISHED.
    uidonly: bool,
    /// METADATA (RFC 5464 4.4): others' annotation changes are told.
    metadata: bool,
    /// UTF8=ACCEPT (RFC 6855): UTF-8 mailbox names, APPEND's UTF8 data.
    utf8_accept: bool,
}

impl Enabled {
    /// Whether mailbox names are UTF-8 rather than modified UTF-7: part of
    /// IMAP4rev2 (RFC 9051 6.3.1) and of UTF8=ACCEPT (RFC 6855 3).
    fn utf8(self) -> bool {
        self.rev2 || self.utf8_accept
    }
}

pub struct Session {
    settings: Settings,
    services: Services,
    remote_ip: IpAddr,
    tls: Option<ConnectionInfo>,
    /// The registration of the TLS client certificate's key, if it has one.
    client_key: Option<TlsPubKey>,
    framer: Framer,
    mode: Mode,
    auth: Option<Authenticated>,
    selected: Option<View>,
    enabled: Enabled,
    /// The client's ID (RFC 2971) name and version, for the login record.
    client_id: Option<String>,
    out: Vec<u8>,
    action: Action,
    errors: u32,
    /// Added to the next answer (failed logins).
    delay: Duration,
    /// What NOTIFY SET asked for, if anything.
    notify: Option<notify::Notify>,
    /// Where output goes at once while a command still runs (the listener writes
    /// it): INPROGRESS responses. Without one, they wait with the rest.
    progress_sink: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Counts logins and UNAUTHENTICATEs, so the listener can tell the account it
    /// watches for IDLE is still the session's.
    login_epoch: u32,
    /// COMPRESS=DEFLATE (RFC 4978), once the client turns it on.
    compression: compress::Compression,
}

/// How a command ends: the status and text of its tagged response.
#[derive(Debug)]
pub(super) struct Done {
    status: Status,
    /// A response code such as `TRYCREATE` or `APPENDUID 1 2`, without brackets.
    code: Option<String>,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    No,
    Bad,
    /// The command goes on (IDLE, AUTHENTICATE): its tagged response comes later.
    Pending,
}

impl Done {
    fn ok(text: impl Into<String>) -> Done {
        Done {
            status: Status::Ok,
            code: None,
            text: text.into(),
        }
    }

    fn no(text: impl Into<String>) -> Done {
        Done {
            status: Status::No,
            code: None,
            text: text.into(),
        }
    }

    fn bad(text: impl Into<String>) -> Done {
        Done {
            status: Status::Bad,
            code: None,
            text: text.into(),
        }
    }

    fn pending() -> Done {
        Done {
            status: Status::Pending,
            code: None,
            text: String::new(),
        }
    }

    fn code(mut self, code: impl Into<String>) -> Done {
        self.code = Some(code.into());
        self
    }

    /// The same answer with `prefix` before its text (which of several things
    /// failed).
    fn prefixed(mut self, prefix: &str) -> Done {
        self.text = format!("{prefix}{}", self.text);
        self
    }
}

/// A store failure as a tagged NO with the RFC 5530 code that fits it.
impl From<StoreError> for Done {
    fn from(e: StoreError) -> Done {
        let code = match &e {
            StoreError::NoMailbox(_) | StoreError::NoMessage(_) => Some("NONEXISTENT"),
            StoreError::MailboxExists(_) => Some("ALREADYEXISTS"),
            StoreError::OverQuota { .. } => Some("OVERQUOTA"),
            StoreError::InboxFixed(_) | StoreError::HasChildren(_) => Some("CANNOT"),
            StoreError::InvalidMailboxName { .. } | StoreError::InvalidKeyword(_) => Some("CANNOT"),
            // RFC 5464 4.3: the largest value the server takes.
            StoreError::AnnotationTooBig(_) => {
                return Done::no(e.to_string()).code(format!(
                    "METADATA MAXSIZE {}",
                    crate::store::MAX_ANNOTATION_VALUE
                ));
            }
            StoreError::TooManyAnnotations => Some("METADATA TOOMANY"),
            StoreError::Db(_) | StoreError::Io { .. } | StoreError::BatchFailed(_) => {
                tracing::error!(error = %e, "store operation failed");
                Some("SERVERBUG")
            }
            _ => None,
        };
        let done = Done::no(e.to_string());
        match code {
            Some(c) => done.code(c),
            None => done,
        }
    }
}

pub(super) type Outcome = Result<Done, Done>;

fn lock(account: &SharedAccount) -> MutexGuard<'_, Account> {
    account.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    pub fn new(
        settings: Settings,
        services: Services,
        remote_ip: IpAddr,
        tls: Option<ConnectionInfo>,
    ) -> Session {
        let client_key = tls
            .as_ref()
            .and_then(|t| services.authenticator.registered_key(t));
        Session {
            framer: Framer::new(limits_before_login(&settings.limits)),
            settings,
            services,
            remote_ip,
            client_key,
            tls,
            mode: Mode::Command,
            auth: None,
            selected: None,
            enabled: Enabled::default(),
            client_id: None,
            out: Vec::new(),
            action: Action::Continue,
            errors: 0,
            delay: Duration::ZERO,
            login_epoch: 0,
            compression: compress::Compression::Off,
            notify: None,
            progress_sink: None,
        }
    }

    /// The greeting: PREAUTH for a registered client certificate that allows it,
    /// else OK with the capabilities.
    pub fn greeting(&mut self) -> Vec<u8> {
        if self.preauth() {
            let caps = self.capabilities();
            let text = format!(
                "* PREAUTH [CAPABILITY {caps}] {} ready, logged in as {}\r\n",
                self.settings.hostname,
                self.auth.as_ref().map_or("", |a| a.login.name.as_str())
            );
            return text.into_bytes();
        }
        let caps = self.capabilities();
        format!(
            "* OK [CAPABILITY {caps}] {} IMAP ready\r\n",
            self.settings.hostname
        )
        .into_bytes()
    }

    /// Output made while a command runs is sent through `sink` at once.
    pub fn set_progress_sink(&mut self, sink: mpsc::UnboundedSender<Vec<u8>>) {
        self.progress_sink = Some(sink);
    }

    /// Sends what is written so far at once, if there is a sink (after the output
    /// before it, which it carries, so nothing is reordered).
    fn send_now(&mut self) {
        if self.progress_sink.is_none() {
            return;
        }
        let out = self.take_output();
        if let Some(sink) = &self.progress_sink
            && !out.is_empty()
            && sink.send(out).is_err()
        {
            tracing::debug!("the connection is gone; progress not sent");
        }
    }

    /// Whether the connection is encrypted.
    fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Takes the delay to wait before sending the output (failed logins).
    pub fn take_delay(&mut self) -> Duration {
        std::mem::take(&mut self.delay)
    }

    /// Changes whenever the session logs in or out (UNAUTHENTICATE).
    pub fn login_epoch(&self) -> u32 {
        self.login_epoch
    }

    /// The account's change feed, once logged in: the listener waits on it while
    /// the session idles.
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Arc<ChangeSet>>> {
        self.auth.as_ref().map(|a| lock(&a.account).subscribe())
    }

    /// Bytes from the client: handles the complete commands (or lines) in them, up
    /// to [`OUTPUT_PAUSE`] of output (then [`Action::More`]). After COMPRESS, input
    /// and output are DEFLATE-compressed (see `compress`).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, Action) {
        self.receive(input);
        self.action = Action::Continue;
        loop {
            let progressed = match self.mode {
                Mode::Command => self.next_command(),
                Mode::Authenticate { .. } | Mode::AuthFinal { .. } => self.auth_line(),
                Mode::Idle { .. } => self.idle_line(),
                Mode::Fetch(_) => self.fetch_more(),
            };
            self.start_compression();
            if matches!(self.action, Action::StartTls | Action::Close) {
                break;
            }
            // The framer wants more: inflate the next piece of compressed input, if
            // any, only now, so a deflate bomb never piles up ahead of it.
            if !progressed && !self.inflate_more() {
                break;
            }
            if self.out.len() >= OUTPUT_PAUSE {
                self.action = Action::More;
                break;
            }
        }
        if matches!(self.mode, Mode::Idle { .. }) && self.action == Action::Continue {
            self.action = Action::Idle;
        }
        let out = self.take_output();
        (out, self.action)
    }

    /// Reads and runs one command; false when no complete command is buffered.
    fn next_command(&mut self) -> bool {
        let Some(frame) = self.framer.next_frame() else {
            return false;
        };
        match frame {
            Frame::Continue => self.out.extend_from_slice(b"+ ready for the literal\r\n"),
            Frame::Error { tag, kind, message } => {
                let tag = tag.unwrap_or_else(|| "*".into());
                match kind {
                    FrameErrorKind::TooBig => self.tagged(&tag, &Done::no(message).code("TOOBIG")),
                    // RFC 7888 5: a non-synchronizing literal past the LITERAL- limit.
                    FrameErrorKind::NonSyncTooBig => self.bad(&tag, &format!("[TOOBIG] {message}")),
                    FrameErrorKind::Spool => {
                        tracing::error!(error = message, "spooling a literal failed");
                        self.tagged(&tag, &Done::no(message).code("SERVERBUG"));
                    }
                    _ => self.bad(&tag, &message),
                }
            }
            Frame::Command { text, literals } => match parse_command(&text, literals) {
                Ok(request) => self.run(request),
                Err(e) => {
                    let tag = e.tag.unwrap_or_else(|| "*".into());
                    self.bad(&tag, &format!("[PARSE] {}", e.message));
                }
            },
        }
        true
    }

    /// A BAD response, counted: too many and the session ends.
    fn bad(&mut self, tag: &str, text: &str) {
        self.errors += 1;
        self.line(&format!("{tag} BAD {text}"));
        if self.errors >= self.settings.max_errors {
            self.line("* BYE too many bad commands; closing");
            self.action = Action::Close;
        }
    }

    /// Runs a command and sends its untagged responses and tagged completion.
    fn run(&mut self, Request { tag, command }: Request) {
        let name = command.name();
        let outcome = self.dispatch(&tag, command);
        self.complete(&tag, name, outcome);
    }

    /// Ends command `name` (unless it goes on: IDLE, AUTHENTICATE, a paused FETCH):
    /// the changes it may report, then its tagged response.
    fn complete(&mut self, tag: &str, name: &'static str, outcome: Outcome) {
        let mut done = match outcome {
            Ok(done) | Err(done) => done,
        };
        tracing::debug!(command = name, status = ?done.status, "command");
        if matches!(self.mode, Mode::Command) {
            self.sync_view(name);
            self.expunge_highest(name, &mut done);
        }
        match done.status {
            Status::Bad => {
                let text = match &done.code {
                    Some(c) => format!("[{c}] {}", done.text),
                    None => done.text.clone(),
                };
                self.bad(tag, &text)
            }
            _ => self.tagged(tag, &done),
        }
    }

    /// Runs `command` in the state the session is in.
    fn dispatch(&mut self, tag: &str, command: Command) -> Outcome {
        use Command as C;
        if self.enabled.uidonly
            && let Some(why) = uidonly::message_numbers_in(&command)
        {
            return Err(
                Done::bad(format!("{why}, but UIDONLY is enabled: use UIDs")).code("UIDREQUIRED"),
            );
        }
        match command {
            C::Capability => self.capability(),
            C::Noop => Ok(Done::ok("NOOP done")),
            C::Logout => self.logout(),
            C::Id(fields) => self.id(fields),
            // TLS would have to sit below compression (RFC 4978 3), not on top of it.
            C::StartTls if self.compression.active() => {
                Err(Done::bad("STARTTLS is not allowed once COMPRESS is active"))
            }
            C::StartTls => self.starttls(),
            C::Authenticate { mechanism, initial } => {
                self.authenticate(tag, &mechanism, initial.as_deref())
            }
            C::Login { user, password } => self.login(&user, &password),
            C::Enable(names) => self.enable(&names),
            C::Select {
                mailbox,
                read_only,
                condstore,
                qresync,
            } => self.select(&mailbox, read_only, condstore, qresync.as_ref()),
            C::Create {
                mailbox,
                special_use,
            } => self.create(&mailbox, &special_use),
            C::Delete(mailbox) => self.delete(&mailbox),
            C::Rename { from, to } => self.rename(&from, &to),
            C::Subscribe(mailbox) => self.subscribe_mailbox(&mailbox, true),
            C::Unsubscribe(mailbox) => self.subscribe_mailbox(&mailbox, false),
            C::List(list) => self.list(&list),
            C::Lsub { reference, pattern } => self.lsub(&reference, &pattern),
            C::Namespace => self.namespace(),
            C::Status { mailbox, items } => self.status(&mailbox, &items),
            C::Append { mailbox, messages } => self.append(&mailbox, messages),
            C::Idle => self.idle(tag),
            C::Unauthenticate => self.unauthenticate(),
            C::Compress(algorithm) => self.compress(&algorithm),
            C::Check => self.view().map(|_| Done::ok("CHECK done")),
            C::Close => self.close(),
            C::Unselect => self.unselect(),
            C::Expunge { uids } => self.expunge(uids.as_ref()),
            C::Search(search) => self.search(tag, &search),
            C::Esearch { sources, search } => self.esearch(tag, sources, &search),
            C::Sort(sort) => self.sort(tag, &sort),
            C::GetQuotaRoot(mailbox) => self.getquotaroot(&mailbox),
            C::Notify(set) => self.notify(set),
            C::GetMetadata {
                mailbox,
                entries,
                max_size,
                depth,
            } => self.getmetadata(&mailbox, &entries, max_size, depth),
            C::SetMetadata { mailbox, values } => self.setmetadata(&mailbox, &values),
            C::GetQuota(root) => self.getquota(&root),
            C::SetQuota { .. } => self.setquota(),
            C::Thread(thread) => self.thread(tag, &thread),
            C::Fetch(fetch) => self.fetch(tag, &fetch),
            C::Store(store) => self.store(&store),
            C::Copy { uid, set, mailbox } => self.copy(uid, &set, &mailbox, false),
            C::Move { uid, set, mailbox } => self.copy(uid, &set, &mailbox, true),
            C::Replace {
                uid,
                number,
                mailbox,
                message,
            } => self.replace(uid, number, &mailbox, message),
        }
    }

    fn logout(&mut self) -> Outcome {
        self.line("* BYE logging out");
        self.action = Action::Close;
        Ok(Done::ok("LOGOUT done"))
    }

    /// The logged-in account, or the BAD for a command that needs one.
    fn authenticated(&self) -> Result<&Authenticated, Done> {
        self.auth
            .as_ref()
            .ok_or_else(|| Done::bad("log in first (LOGIN or AUTHENTICATE)"))
    }

    /// The selected mailbox's view, or the BAD for a command that needs one.
    fn view(&self) -> Result<&View, Done> {
        self.authenticated()?;
        self.selected
            .as_ref()
            .ok_or_else(|| Done::bad("select a mailbox first (SELECT or EXAMINE)"))
    }

    /// Runs `f` with the logged-in account locked.
    fn with_account<T>(
        &self,
        f: impl FnOnce(&mut Account) -> Result<T, StoreError>,
    ) -> Result<T, Done> {
        let auth = self.authenticated()?;
        let mut account = lock(&auth.account);
        f(&mut account).map_err(Done::from)
    }

    /// IDLE (RFC 2177, in IMAP4rev2): changes are pushed until `DONE`.
    fn idle(&mut self, tag: &str) -> Outcome {
        self.authenticated()?;
        self.line("+ idling");
        self.mode = Mode::Idle {
            tag: tag.to_string(),
        };
        self.sync_view("IDLE");
        Ok(Done::pending())
    }

    /// While idling: `DONE` ends it; anything else is a client error.
    fn idle_line(&mut self) -> bool {
        let Some(line) = self.framer.next_line() else {
            return false;
        };
        let Mode::Idle { tag } = std::mem::replace(&mut self.mode, Mode::Command) else {
            return false;
        };
        match line {
            Ok(l) if l.eq_ignore_ascii_case(b"DONE") => {
                self.sync_view("IDLE");
                self.tagged(&tag, &Done::ok("IDLE done"));
            }
            Ok(_) => self.bad(&tag, "expected DONE to end IDLE"),
            Err(e) => self.bad(&tag, &format!("expected DONE to end IDLE: {e}")),
        }
        true
    }

    /// The account changed while the session idles: the untagged responses to send,
    /// and what to do next ([`Action::Close`] when the selected mailbox is gone).
    pub fn changes_arrived(&mut self) -> (Vec<u8>, Action) {
        self.action = Action::Idle;
        if matches!(self.mode, Mode::Idle { .. }) {
            self.sync_view("IDLE");
        }
        let out = self.take_output();
        (out, self.action)
    }

    /// The session ends because the client was silent too long (the listener's
    /// timer): the BYE to send, compressed if the session is.
    pub fn timed_out(&mut self) -> Vec<u8> {
        self.line("* BYE silent too long; closing");
        self.take_output()
    }

    /// Writes a tagged completion, unless the command is still going on (IDLE).
    fn tagged(&mut self, tag: &str, done: &Done) {
        let status = match done.status {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Pending => return,
        };
        let line = match &done.code {
            Some(code) => format!("{tag} {status} [{code}] {}", done.text),
            None => format!("{tag} {status} {}", done.text),
        };
        self.line(&line);
    }

    /// Writes a response line and its CRLF.
    fn line(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests;
