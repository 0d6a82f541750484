//! `gannet import`: messages from an mbox file or a maildir into an account, and the
//! types that import and export share (positions, per-message errors, summaries,
//! progress).
//!
//! mbox (mboxrd, and mboxo read as mboxrd), read as the `mbox` module says: every line
//! that starts with "From " starts a message. A line matching `^>+From ` loses one '>'
//! (the writer added it), and the blank line before the next "From " line is the
//! separator, not part of the message. Everything else is kept byte for byte, Status
//! and X-Status included; those two give the flags. The internal date is the "From "
//! line's date, else the Date field.
//!
//! maildir: the messages of cur/ and new/, flags from the `:2,` info of the file name
//! (and Dovecot's keyword letters, with the names in `dovecot-keywords`), internal
//! date from the file's mtime, in (mtime, name) order. Maildir++ folders `.A.B` in the
//! maildir (names in modified UTF-7, as Dovecot and Courier write them) become
//! mailboxes `A/B`: at the top level when the maildir goes into the Inbox (maildir++'s
//! own layout), below its mailbox otherwise.
//!
//! A message that is empty or does not start with a header field is bad; the import
//! skips it or stops, as [`OnError`] says. Messages are delivered 100 per transaction.

use std::cmp::Ordering;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use mail_parser::DateTime;

use super::StoreError;
use super::account::Account;
use super::mailboxes::normalize_name;
use super::mbox::{MboxEntry, MboxError, MboxReader, mbox_from_line_date};
use super::messages::{NewMessage, Staged};
use super::types::{Flags, MailboxId, Uid};

/// Messages per `deliver` call: each call is one transaction and one round of fsyncs,
/// so batches make imports much faster while keeping every message durable.
const BATCH: usize = 100;

/// The maildir info letters of the system flags, in the ASCII order maildir(5) asks for.
pub(super) const INFO_FLAGS: [(char, Flags); 5] = [
    ('D', Flags::DRAFT),
    ('F', Flags::FLAGGED),
    ('R', Flags::ANSWERED),
    ('S', Flags::SEEN),
    ('T', Flags::DELETED),
];

/// The base64 alphabet of modified UTF-7 (RFC 3501 5.1.3): ',' instead of '/'.
pub(super) const MUTF7_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// The file formats import and export handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailFormat {
    Mbox,
    Maildir,
}

/// What to do about a bad message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnError {
    /// Report it, skip it, go on with the others.
    Continue,
    /// Report it and stop. An import checks the whole input first and imports nothing
    /// when a message is bad, so that it can be run again once the input is fixed.
    #[default]
    Stop,
}

/// Where a message is, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// A message of an mbox file: its number, counting from 1, and the line (from 1)
    /// and byte offset (from 0) of its "From " line.
    Mbox {
        path: PathBuf,
        number: usize,
        line: u64,
        offset: u64,
    },
    /// A maildir message file, or a maildir folder.
    File(PathBuf),
    /// A stored message, or a whole mailbox when `uid` is `None`.
    Stored { mailbox: String, uid: Option<Uid> },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Mbox {
                path,
                number,
                line,
                offset,
            } => write!(
                f,
                "{}: message {number} (line {line}, byte {offset})",
                path.display()
            ),
            Position::File(path) => write!(f, "{}", path.display()),
            Position::Stored {
                mailbox,
                uid: Some(uid),
            } => write!(f, "mailbox {mailbox} UID {uid}"),
            Position::Stored { mailbox, uid: None } => write!(f, "mailbox {mailbox}"),
        }
    }
}

/// A message that could not be imported or exported, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {reason}")]
pub struct MessageError {
    pub position: Position,
    pub reason: String,
}

/// What an import or export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferSummary {
    /// Messages imported (committed) or exported (written).
    pub messages: u64,
    /// Their size in bytes, as stored.
    pub bytes: u64,
    /// Bad messages (and folders) reported through [`Progress::error`].
    pub errors: u64,
    /// Mailboxes imported into or exported.
    pub mailboxes: u64,
    /// Whether the run stopped at a bad message ([`OnError::Stop`]).
    pub stopped: bool,
}

/// An error that ends an import or export: the input or output cannot be used, or the
/// store failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{path}: line {line} is not a \"From \" line: not an mbox file")]
    NotMbox { path: PathBuf, line: u64 },
    #[error("{0}: not a maildir: it has no cur/ or new/ directory and no maildir++ folders")]
    NotMaildir(PathBuf),
    #[error("{0}: not empty; export writes into a new or empty directory")]
    NotEmpty(PathBuf),
}

/// A [`TransferError`] and what had been done before it: the messages counted in
/// `done` are imported (committed) or exported (written) all the same.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct TransferFailed {
    pub error: TransferError,
    pub done: TransferSummary,
}

/// The phases of a run, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the whole input for bad messages before importing any ([`OnError::Stop`]).
    Checking,
    Importing,
    Exporting,
}

/// Receives progress while an import or export runs.
pub trait Progress {
    /// A phase starts; it goes through `total` bytes.
    fn start(&mut self, phase: Phase, total: u64);
    /// `bytes` more are done.
    fn advance(&mut self, bytes: u64);
    /// A message is bad: it is skipped, or the run stops, as [`OnError`] says.
    fn error(&mut self, error: &MessageError);
}

/// Where an import goes and how it treats bad messages.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The mailbox for the mbox file or the maildir (created if missing); `None` for
    /// the default: Inbox for mbox, the maildir's name for a maildir.
    pub mailbox: Option<String>,
    pub on_error: OnError,
}

/// Imports the mbox file or maildir at `path` into `account`.
///
/// With [`OnError::Stop`] the input is read twice: first to find a bad message, and
/// only when there is none to import it. Either way, messages are committed in
/// batches; when a [`TransferError`] ends the run, the batches committed before it
/// stay, and [`TransferFailed::done`] counts them.
pub fn import(
    account: &mut Account,
    format: MailFormat,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn Progress,
) -> Result<TransferSummary, TransferFailed> {
    let failed = |error| TransferFailed {
        error,
        done: TransferSummary::default(),
    };
    let folders = plan(format, path, options.mailbox.as_deref()).map_err(failed)?;
    let total = folders.iter().map(|f| f.size).sum();
    if options.on_error == OnError::Stop {
        progress.start(Phase::Checking, total);
        if let Some(error) = first_error(&folders, progress).map_err(failed)? {
            progress.error(&error);
            return Ok(TransferSummary {
                errors: 1,
                stopped: true,
                ..TransferSummary::default()
            });
        }
    }
    progress.start(Phase::Importing, total);
    let mut importer = Importer {
        account,
        on_error: options.on_error,
        progress,
        summary: TransferSummary::default(),
        batch: Vec::new(),
        batch_bytes: 0,
    };
    match importer.run(&folders) {
        Ok(()) => Ok(importer.summary),
        Err(error) => Err(TransferFailed {
            error,
            done: importer.summary,
        }),
    }
}

/// Counts a bad message in `summary`, reports it, and says whether to go on.
pub(super) fn report(
    summary: &mut TransferSummary,
    on_error: OnError,
    progress: &mut dyn Progress,
    error: MessageError,
) -> ControlFlow<()> {
    progress.error(&error);
    summary.errors += 1;
    match on_error {
        OnError::Continue => ControlFlow::Continue(()),
        OnError::Stop => {
            summary.stopped = true;
            ControlFlow::Break(())
        }
    }
}

/// Maps an I/O error on `path` to a [`TransferError`].
pub(super) fn io_error(path: &Path) -> impl Fn(io::Error) -> TransferError + '_ {
    move |source| TransferError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One mailbox's worth of input.
struct Folder {
    /// The mailbox it goes to, or why its name cannot be one.
    mailbox: Result<String, String>,
    /// The mbox file or the maildir (folder).
    path: PathBuf,
    messages: Messages,
    /// Bytes to read, for progress.
    size: u64,
}

enum Messages {
    Mbox,
    Maildir {
        files: Vec<MaildirFile>,
        /// Dovecot's keyword names, by letter ('a' is 0).
        keywords: Vec<Option<String>>,
    },
}

struct MaildirFile {
    path: PathBuf,
    /// Seconds since the epoch; `None` when the file cannot be examined (reading it
    /// will then report why).
    mtime: Option<i64>,
    size: u64,
}

/// A good message, ready to stage.
struct Incoming {
    data: Vec<u8>,
    new: NewMessage,
}

/// Called for each message read, with the bytes of input it took; says whether to go on.
type Visit<'a> =
    dyn FnMut(Result<Incoming, MessageError>, u64) -> Result<ControlFlow<()>, TransferError> + 'a;

/// The folders of the input and the mailboxes they go to.
fn plan(
    format: MailFormat,
    path: &Path,
    mailbox: Option<&str>,
) -> Result<Vec<Folder>, TransferError> {
    match format {
        MailFormat::Mbox => {
            let size = fs::metadata(path).map_err(io_error(path))?.len();
            Ok(vec![Folder {
                mailbox: Ok(normalize_name(mailbox.unwrap_or("Inbox"))?),
                path: path.to_path_buf(),
                messages: Messages::Mbox,
                size,
            }])
        }
        MailFormat::Maildir => maildir_folders(path, mailbox),
    }
}

/// Reads every folder until the first bad message, which it returns.
fn first_error(
    folders: &[Folder],
    progress: &mut dyn Progress,
) -> Result<Option<MessageError>, TransferError> {
    let mut found = None;
    for folder in folders {
        if let Err(reason) = &folder.mailbox {
            return Ok(Some(folder_error(folder, reason)));
        }
        let flow = read_folder(folder, &mut |message, size| {
            progress.advance(size);
            Ok(match message {
                Ok(_) => ControlFlow::Continue(()),
                Err(e) => {
                    found = Some(e);
                    ControlFlow::Break(())
                }
            })
        })?;
        if flow.is_break() {
            break;
        }
    }
    Ok(found)
}

fn folder_error(folder: &Folder, reason: &str) -> MessageError {
    MessageError {
        position: Position::File(folder.path.clone()),
        reason: format!("cannot be a mailbox: {reason}"),
    }
}

fn read_folder(folder: &Folder, visit: &mut Visit<'_>) -> Result<ControlFlow<()>, TransferError> {
    match &folder.messages {
        Messages::Mbox => read_mbox(&folder.path, visit),
        Messages::Maildir { files, keywords } => {
            for file in files {
                if visit(maildir_message(file, keywords), file.size)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        }
    }
}

/// Delivers messages in batches, creating mailboxes as needed.
struct Importer<'a> {
    account: &'a mut Account,
    on_error: OnError,
    progress: &'a mut dyn Progress,
    summary: TransferSummary,
    batch: Vec<(Staged, NewMessage)>,
    batch_bytes: u64,
}

impl Importer<'_> {
    fn run(&mut self, folders: &[Folder]) -> Result<(), TransferError> {
        for folder in folders {
            if self.folder(folder)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn folder(&mut self, folder: &Folder) -> Result<ControlFlow<()>, TransferError> {
        let mailbox = match &folder.mailbox {
            Ok(name) => self.mailbox(name)?,
            Err(reason) => {
                let error = folder_error(folder, reason);
                return Ok(report(
                    &mut self.summary,
                    self.on_error,
                    self.progress,
                    error,
                ));
            }
        };
        self.summary.mailboxes += 1;
        let flow = read_folder(folder, &mut |message, size| {
            self.progress.advance(size);
            match message {
                Ok(message) => self.add(mailbox, message).map(ControlFlow::Continue),
                Err(error) => Ok(report(
                    &mut self.summary,
                    self.on_error,
                    self.progress,
                    error,
                )),
            }
        })?;
        // Also after a stop: the messages before the bad one are good.
        self.flush(mailbox)?;
        Ok(flow)
    }

    /// The mailbox `name`, created if missing.
    fn mailbox(&mut self, name: &str) -> Result<MailboxId, TransferError> {
        match self.account.mailbox(name) {
            Ok(mailbox) => Ok(mailbox.id),
            Err(StoreError::NoMailbox(_)) => Ok(self.account.create_mailbox(name, None)?.id),
            Err(e) => Err(e.into()),
        }
    }

    fn add(&mut self, mailbox: MailboxId, message: Incoming) -> Result<(), TransferError> {
        let staged = self.account.stage(&message.data)?;
        self.batch.push((staged, message.new));
        self.batch_bytes += message.data.len() as u64;
        if self.batch.len() >= BATCH {
            self.flush(mailbox)?;
        }
        Ok(())
    }

    fn flush(&mut self, mailbox: MailboxId) -> Result<(), TransferError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let uids = self
            .account
            .deliver(mailbox, std::mem::take(&mut self.batch))?;
        self.summary.messages += uids.len() as u64;
        self.summary.bytes += std::mem::take(&mut self.batch_bytes);
        Ok(())
    }
}

/// What makes a message bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Empty,
    NoHeader,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Empty => "the message is empty",
            Problem::NoHeader => "the message does not start with a header field (\"Name: value\")",
        })
    }
}

fn check_message(data: &[u8]) -> Result<(), Problem> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::Empty);
    }
    let first = data.split(|&b| b == b'\n').next().unwrap_or_default();
    if split_field(first.strip_suffix(b"\r").unwrap_or(first)).is_none() {
        return Err(Problem::NoHeader);
    }
    Ok(())
}

/// Splits a header field line into name and value. The name is printable ASCII;
/// blanks before the colon are allowed (RFC 5322 obsolete syntax).
fn split_field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line[..colon].trim_ascii_end();
    let printable = name.iter().all(|b| (b'!'..=b'~').contains(b));
    (!name.is_empty() && printable).then(|| (name, &line[colon + 1..]))
}

/// The value of the first header field called `name`, unfolded and trimmed.
fn header_value(message: &[u8], name: &str) -> Option<String> {
    let mut value: Option<Vec<u8>> = None;
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let folded = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        match &mut value {
            _ if line.is_empty() => break,
            Some(v) if folded => v.extend_from_slice(line),
            Some(_) => break,
            None => {
                value = split_field(line)
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                    .map(|(_, v)| v.to_vec());
            }
        }
    }
    value.map(|v| String::from_utf8_lossy(&v).trim().to_string())
}

// ---- mbox ----

fn read_mbox(path: &Path, visit: &mut Visit<'_>) -> Result<ControlFlow<()>, TransferError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = MboxReader::new(BufReader::new(file));
    loop {
        let entry = match reader.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(ControlFlow::Continue(())),
            Err(MboxError::Io(e)) => return Err(io_error(path)(e)),
            Err(MboxError::NotMbox { line }) => {
                return Err(TransferError::NotMbox {
                    path: path.to_path_buf(),
                    line,
                });
            }
        };
        let size = entry.size;
        if visit(mbox_message(path, entry), size)?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
}

fn mbox_message(path: &Path, entry: MboxEntry) -> Result<Incoming, MessageError> {
    if let Err(problem) = check_message(&entry.content) {
        // A writer that did not escape a "From " line in a body splits the message
        // there, and the second half starts with body text.
        let reason = match problem {
            Problem::NoHeader => format!(
                "{problem}; is it the end of the message before, split at a \"From \" line its writer did not escape?"
            ),
            Problem::Empty => problem.to_string(),
        };
        return Err(MessageError {
            position: Position::Mbox {
                path: path.to_path_buf(),
                number: entry.number,
                line: entry.from.line,
                offset: entry.from.offset,
            },
            reason,
        });
    }
    let internal_date =
        mbox_from_line_date(&entry.from.text).or_else(|| date_field(&entry.content));
    Ok(Incoming {
        new: NewMessage {
            flags: status_flags(&entry.content),
            internal_date,
            ..NewMessage::default()
        },
        data: entry.content,
    })
}

/// Flags from the Status and X-Status fields that mbox programs (mutt, Thunderbird,
/// Dovecot) write: R read; A answered, F flagged, T draft, D deleted.
fn status_flags(message: &[u8]) -> Flags {
    let status = header_value(message, "Status").unwrap_or_default();
    let x_status = header_value(message, "X-Status").unwrap_or_default();
    let letters = [
        (&status, 'R', Flags::SEEN),
        (&x_status, 'A', Flags::ANSWERED),
        (&x_status, 'F', Flags::FLAGGED),
        (&x_status, 'T', Flags::DRAFT),
        (&x_status, 'D', Flags::DELETED),
    ];
    letters
        .into_iter()
        .filter(|(field, letter, _)| field.contains(*letter))
        .fold(Flags::default(), |flags, (_, _, flag)| flags.union(flag))
}

/// The Date field, for an mbox whose "From " lines have no usable date.
fn date_field(message: &[u8]) -> Option<i64> {
    let date = DateTime::parse_rfc822(&header_value(message, "Date")?)?;
    date.is_valid().then(|| date.to_timestamp())
}

// ---- maildir ----

/// The folders of a maildir: the maildir itself (if it has cur/ or new/), then its
/// maildir++ folders in name order.
fn maildir_folders(root: &Path, mailbox: Option<&str>) -> Result<Vec<Folder>, TransferError> {
    let root_mailbox = match mailbox {
        Some(name) => normalize_name(name)?,
        None => default_maildir_mailbox(root),
    };
    let mut folders = Vec::new();
    if is_maildir(root) {
        folders.push(maildir_folder(root, Ok(root_mailbox.clone()))?);
    }
    for (dir, name) in maildirpp_folders(root)? {
        let name = if root_mailbox == "Inbox" {
            name
        } else {
            format!("{root_mailbox}/{name}")
        };
        let mailbox = normalize_name(&name).map_err(|e| e.to_string());
        folders.push(maildir_folder(&dir, mailbox)?);
    }
    if folders.is_empty() {
        return Err(TransferError::NotMaildir(root.to_path_buf()));
    }
    Ok(folders)
}

fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// The maildir's directory name as a mailbox: a maildir++ folder's name decoded, the
/// Inbox for "Maildir" (a user's maildir, whose top level is the inbox) and for names
/// that cannot be mailboxes, otherwise the name as it is.
fn default_maildir_mailbox(root: &Path) -> String {
    let name = fs::canonicalize(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let name = match name.strip_prefix('.') {
        Some(folder) if !folder.is_empty() => folder_name(folder),
        _ => name,
    };
    match normalize_name(&name) {
        Ok(name) if !name.eq_ignore_ascii_case("maildir") => name,
        _ => "Inbox".to_string(),
    }
}

/// The maildir++ folders of `root` (".A.B" directories that are maildirs), in name
/// order, with their names as mailbox names ("A/B").
fn maildirpp_folders(root: &Path) -> Result<Vec<(PathBuf, String)>, TransferError> {
    let mut folders = Vec::new();
    for entry in fs::read_dir(root).map_err(io_error(root))? {
        let entry = entry.map_err(io_error(root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(folder) = name.strip_prefix('.')
            && !folder.is_empty()
            && is_maildir(&entry.path())
        {
            folders.push((entry.path(), folder_name(folder)));
        }
    }
    folders.sort();
    Ok(folders)
}

/// A maildir++ folder name ("A.B", without the leading '.') as a mailbox name
/// ("A/B"). Each level is in modified UTF-7; a level that is not valid stays as it is.
fn folder_name(folder: &str) -> String {
    folder
        .split('.')
        .map(|level| decode_mutf7(level).unwrap_or_else(|| level.to_string()))
        .collect::<Vec<_>>()
        .join("/")
}

/// Decodes modified UTF-7 (RFC 3501 5.1.3): "Entw&APw-rfe" is "Entwürfe".
fn decode_mutf7(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let (encoded, after) = rest[amp + 1..].split_once('-')?;
        if encoded.is_empty() {
            out.push('&');
        } else {
            out.push_str(&decode_utf16_base64(encoded)?);
        }
        rest = after;
    }
    out.push_str(rest);
    Some(out)
}

fn decode_utf16_base64(encoded: &str) -> Option<String> {
    let (mut bits, mut count, mut units) = (0u32, 0, Vec::new());
    for c in encoded.bytes() {
        let value = MUTF7_ALPHABET.iter().position(|&a| a == c)?;
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 16 {
            count -= 16;
            units.push((bits >> count) as u16);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf16(&units).ok()
}

/// One folder of a maildir: its message files in (mtime, name) order, which is
/// delivery order for maildirs that name files after the delivery time.
fn maildir_folder(dir: &Path, mailbox: Result<String, String>) -> Result<Folder, TransferError> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let sub = dir.join(sub);
        if sub.is_dir() {
            list_messages(&sub, &mut files)?;
        }
    }
    files.sort_by(|a, b| {
        a.mtime
            .cmp(&b.mtime)
            .then_with(|| natural_cmp(&a.path, &b.path))
    });
    Ok(Folder {
        mailbox,
        path: dir.to_path_buf(),
        size: files.iter().map(|f| f.size).sum(),
        messages: Messages::Maildir {
            keywords: dovecot_keywords(dir)?,
            files,
        },
    })
}

/// The message files in `dir`: files not starting with '.' (maildir(5)).
fn list_messages(dir: &Path, files: &mut Vec<MaildirFile>) -> Result<(), TransferError> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        let (mtime, size) = match fs::metadata(&path) {
            Ok(meta) if !meta.is_file() => continue,
            Ok(meta) => (meta.modified().ok().map(unix_seconds), meta.len()),
            Err(_) => (None, 0),
        };
        files.push(MaildirFile { path, mtime, size });
    }
    Ok(())
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Compares file names with digit runs as numbers, so "100.9" comes before "100.12".
fn natural_cmp(a: &Path, b: &Path) -> Ordering {
    let key = |p: &Path| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut parts: Vec<(u128, String)> = Vec::new();
        for chunk in name.split_inclusive(|c: char| !c.is_ascii_digit()) {
            let digits = chunk.trim_end_matches(|c: char| !c.is_ascii_digit());
            let rest = &chunk[digits.len()..];
            parts.push((digits.parse().unwrap_or(0), rest.to_string()));
        }
        (parts, name)
    };
    key(a).cmp(&key(b))
}

/// Dovecot's keyword names for the letters 'a' to 'z' of file names: `dovecot-keywords`
/// has one "N name" line per keyword, letter 'a' + N.
fn dovecot_keywords(dir: &Path) -> Result<Vec<Option<String>>, TransferError> {
    let path = dir.join("dovecot-keywords");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&path)(e)),
    };
    let mut names = vec![None; 26];
    for line in text.lines() {
        let Some((index, name)) = line.split_once(' ') else {
            continue;
        };
        if let (Ok(i), Some(name)) = (index.parse::<usize>(), valid_keyword(name))
            && i < names.len()
        {
            names[i] = Some(name.to_string());
        }
    }
    Ok(names)
}

/// A keyword the store accepts: one word without control characters.
fn valid_keyword(name: &str) -> Option<&str> {
    let name = name.trim();
    let valid = !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c.is_control());
    valid.then_some(name)
}

fn maildir_message(
    file: &MaildirFile,
    keywords: &[Option<String>],
) -> Result<Incoming, MessageError> {
    let bad = |reason: String| MessageError {
        position: Position::File(file.path.clone()),
        reason,
    };
    let data = fs::read(&file.path).map_err(|e| bad(e.to_string()))?;
    check_message(&data).map_err(|problem| bad(problem.to_string()))?;
    let name = file.path.file_name().unwrap_or_default().to_string_lossy();
    let (flags, keywords) = info_flags(&name, keywords);
    Ok(Incoming {
        data,
        new: NewMessage {
            flags,
            keywords,
            internal_date: file.mtime,
            ..NewMessage::default()
        },
    })
}

/// Flags and keywords from a file name's info, "unique:2,FSa": uppercase letters are
/// the system flags (maildir(5)), lowercase ones Dovecot keywords. Others are ignored.
fn info_flags(name: &str, keywords: &[Option<String>]) -> (Flags, Vec<String>) {
    let (mut flags, mut names) = (Flags::default(), Vec::new());
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return (flags, names);
    };
    for c in info.chars() {
        if let Some((_, flag)) = INFO_FLAGS.iter().find(|(letter, _)| *letter == c) {
            flags = flags.union(*flag);
        } else if c.is_ascii_lowercase() {
            let index = usize::from(c as u8 - b'a');
            if let Some(Some(keyword)) = keywords.get(index) {
                names.push(keyword.clone());
            }
        }
    }
    (flags, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_give_flags_and_date_falls_back_to_the_date_field() {
        let msg = b"Subject: x\nStatus: RO\nX-Status: AF\n  T\nDate: Sat, 3 Jan 1996 01:05:34 +0000\n\nStatus: D\n";
        let flags = status_flags(msg);
        for flag in [Flags::SEEN, Flags::ANSWERED, Flags::FLAGGED, Flags::DRAFT] {
            assert!(flags.contains(flag), "{flags}");
        }
        assert!(!flags.contains(Flags::DELETED), "only the header counts");
        assert_eq!(date_field(msg), Some(820631134));
    }

    #[test]
    fn messages_must_start_with_a_header_field() {
        assert!(check_message(b"Subject: x\n\nbody").is_ok());
        assert!(check_message(b"From \t: obsolete but valid\n").is_ok());
        assert!(check_message(b" \r\n\n").is_err());
        assert!(check_message(b"Hello there\nSubject: x\n").is_err());
        assert!(check_message(b": no name\n").is_err());
    }

    #[test]
    fn maildir_info_gives_flags_and_dovecot_keywords() {
        let keywords = vec![Some("$label1".to_string()), None, Some("work".to_string())];
        let (flags, names) = info_flags("123.M1P2.host,S=10:2,FRScb", &keywords);
        assert_eq!(
            flags,
            Flags::FLAGGED.union(Flags::ANSWERED).union(Flags::SEEN)
        );
        assert_eq!(names, vec!["work".to_string()]);
        assert_eq!(
            info_flags("123.host", &keywords),
            (Flags::default(), vec![])
        );
    }

    #[test]
    fn maildirpp_names_are_modified_utf7() {
        assert_eq!(folder_name("Entw&APw-rfe.Q&-A"), "Entwürfe/Q&A");
        assert_eq!(folder_name("&ZeVnLIqe-"), "日本語");
        assert_eq!(folder_name("v1&AC4-2"), "v1.2");
        assert_eq!(folder_name("bad&-x&Zm"), "bad&-x&Zm", "invalid: kept as is");
    }

    #[test]
    fn file_names_sort_with_numbers_as_numbers() {
        let mut names = ["100.12.gannet", "100.9.gannet", "99.50.gannet", "a"];
        names.sort_by(|a, b| natural_cmp(Path::new(a), Path::new(b)));
        assert_eq!(
            names,
            ["a", "99.50.gannet", "100.9.gannet", "100.12.gannet"]
        );
    }
}
