//! `gannet export`: every mailbox of an account as an mbox file or a maildir, into a
//! new or empty directory. Messages are written byte for byte as stored.
//!
//! mbox (mboxrd, written as the `mbox` module says): one file per mailbox, "A/B" as
//! `A/B.mbox` (a level's '%' is written "%25" and a leading '.' "%2E", so every level
//! is a plain, visible name). Each message is a "From MAILER-DAEMON <internal date,
//! asctime, UTC>" line, the message with every line matching `^>*From ` given one more
//! '>', a line feed if the message does not end with one, and a blank line. Flags and
//! keywords are not written.
//!
//! maildir: a maildir++ tree. The directory itself is the Inbox, every other mailbox
//! a folder `.A.B` (levels in modified UTF-7, '.' inside a level as "&AC4-"), each with
//! cur/, new/ and tmp/. Messages go to cur/ as `<internal date>.<id>.gannet:2,<flags>`
//! with the file's mtime set to the internal date; the flags are the maildir letters
//! (D F R S T) and, for keywords, Dovecot's letters a-z, named in `dovecot-keywords`.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::account::Account;
use super::files::sync_dir;
use super::import::{
    INFO_FLAGS, MUTF7_ALPHABET, MailFormat, MessageError, OnError, Phase, Position, Progress,
    TransferError, TransferFailed, TransferSummary, io_error, report,
};
use super::mailboxes::SEPARATOR;
use super::mbox::write_mbox_entry;
use super::types::{Mailbox, MessageMeta};

/// Dovecot names keywords with the letters a to z: at most 26 per maildir folder.
const MAX_MAILDIR_KEYWORDS: usize = 26;

/// Exports every mailbox of `account` into `dir`, which must be missing or empty.
///
/// A message whose file cannot be read is reported and skipped, or stops the export,
/// as `on_error` says. When a [`TransferError`] ends the run, what was written stays
/// and [`TransferFailed::done`] counts it.
pub fn export(
    account: &Account,
    format: MailFormat,
    dir: &Path,
    on_error: OnError,
    progress: &mut dyn Progress,
) -> Result<TransferSummary, TransferFailed> {
    let mut exporter = Exporter {
        account,
        dir,
        on_error,
        progress,
        summary: TransferSummary::default(),
    };
    match exporter.run(format) {
        Ok(()) => Ok(exporter.summary),
        Err(error) => Err(TransferFailed {
            error,
            done: exporter.summary,
        }),
    }
}

/// Writes one message (with its metadata) to the export.
type WriteMessage<'a> = dyn FnMut(&MessageMeta, &[u8]) -> Result<(), TransferError> + 'a;

struct Exporter<'a> {
    account: &'a Account,
    dir: &'a Path,
    on_error: OnError,
    progress: &'a mut dyn Progress,
    summary: TransferSummary,
}

impl Exporter<'_> {
    fn run(&mut self, format: MailFormat) -> Result<(), TransferError> {
        create_empty_dir(self.dir)?;
        let mailboxes = self.account.mailboxes()?;
        let total = mailboxes.iter().map(|m| m.counts.size).sum();
        self.progress.start(Phase::Exporting, total);
        for mailbox in &mailboxes {
            let flow = match format {
                MailFormat::Mbox => self.mbox(mailbox)?,
                MailFormat::Maildir => self.maildir(mailbox)?,
            };
            self.summary.mailboxes += 1;
            if flow.is_break() {
                break;
            }
        }
        sync_dir(self.dir).map_err(io_error(self.dir))
    }

    fn mbox(&mut self, mailbox: &Mailbox) -> Result<ControlFlow<()>, TransferError> {
        let path = self.dir.join(mbox_path(&mailbox.name));
        let parent = path.parent().unwrap_or(self.dir);
        fs::create_dir_all(parent).map_err(io_error(parent))?;
        let file = File::create_new(&path).map_err(io_error(&path))?;
        let mut out = BufWriter::new(file);
        let messages = self.account.messages(mailbox.id)?;
        let flow = self.each_message(mailbox, &messages, &mut |meta, data| {
            write_mbox_entry(&mut out, meta.internal_date, data).map_err(io_error(&path))
        })?;
        let file = out
            .into_inner()
            .map_err(|e| io_error(&path)(e.into_error()))?;
        file.sync_all().map_err(io_error(&path))?;
        sync_dir(parent).map_err(io_error(parent))?;
        Ok(flow)
    }

    fn maildir(&mut self, mailbox: &Mailbox) -> Result<ControlFlow<()>, TransferError> {
        let folder = match maildir_folder(&mailbox.name) {
            Some(name) => self.dir.join(name),
            None => self.dir.to_path_buf(),
        };
        for sub in ["cur", "new", "tmp"] {
            let path = folder.join(sub);
            fs::create_dir_all(&path).map_err(io_error(&path))?;
        }
        if folder != self.dir {
            // Maildir++ marks its folders so; Courier and Dovecot look for it.
            let marker = folder.join("maildirfolder");
            File::create(&marker).map_err(io_error(&marker))?;
        }
        let messages = self.account.messages(mailbox.id)?;
        let (keywords, left_out) = maildir_keywords(&messages);
        write_dovecot_keywords(&folder, &keywords)?;
        if !left_out.is_empty() {
            let error = MessageError {
                position: Position::Stored {
                    mailbox: mailbox.name.clone(),
                    uid: None,
                },
                reason: format!(
                    "keywords left out (a maildir folder names at most {MAX_MAILDIR_KEYWORDS}): {}",
                    left_out.join(", ")
                ),
            };
            if report(&mut self.summary, self.on_error, self.progress, error).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        let cur = folder.join("cur");
        let flow = self.each_message(mailbox, &messages, &mut |meta, data| {
            write_maildir_file(&cur, meta, data, &keywords)
        })?;
        sync_dir(&cur).map_err(io_error(&cur))?;
        sync_dir(&folder).map_err(io_error(&folder))?;
        Ok(flow)
    }

    /// Reads each message and hands it to `write`; a message that cannot be read is
    /// reported.
    fn each_message(
        &mut self,
        mailbox: &Mailbox,
        messages: &[MessageMeta],
        write: &mut WriteMessage<'_>,
    ) -> Result<ControlFlow<()>, TransferError> {
        for meta in messages {
            self.progress.advance(meta.size);
            match self.account.read(meta.id) {
                Ok(data) => {
                    write(meta, &data)?;
                    self.summary.messages += 1;
                    self.summary.bytes += data.len() as u64;
                }
                Err(e) => {
                    let error = MessageError {
                        position: Position::Stored {
                            mailbox: mailbox.name.clone(),
                            uid: Some(meta.uid),
                        },
                        reason: e.to_string(),
                    };
                    if report(&mut self.summary, self.on_error, self.progress, error).is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Creates `dir` if it is missing; refuses one with anything in it, so that an export
/// never mixes with or overwrites other files.
fn create_empty_dir(dir: &Path) -> Result<(), TransferError> {
    match fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) => Err(TransferError::NotEmpty(dir.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(io_error(dir))
        }
        Err(e) => Err(io_error(dir)(e)),
    }
}

/// The mbox file of a mailbox, relative to the export directory: "A/B" is "A/B.mbox".
fn mbox_path(name: &str) -> PathBuf {
    let mut levels: Vec<String> = name.split(SEPARATOR).map(escape_level).collect();
    if let Some(last) = levels.last_mut() {
        last.push_str(".mbox");
    }
    levels.iter().collect()
}

/// A mailbox name level as a plain file name: '%' as "%25", a leading '.' as "%2E"
/// (no ".", "..", or hidden names). '/' cannot occur; it separates levels.
fn escape_level(level: &str) -> String {
    let escaped = level.replace('%', "%25");
    match escaped.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => escaped,
    }
}

/// The maildir++ folder of a mailbox, `None` for the Inbox (the maildir itself).
fn maildir_folder(name: &str) -> Option<String> {
    (name != "Inbox").then(|| {
        let levels: Vec<String> = name.split(SEPARATOR).map(encode_mutf7).collect();
        format!(".{}", levels.join("."))
    })
}

/// Encodes one level of a maildir++ folder name in modified UTF-7 (RFC 3501 5.1.3).
/// '.' separates levels in maildir++, so a '.' inside a level is encoded too.
fn encode_mutf7(level: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    for c in level.chars() {
        if (' '..='~').contains(&c) && c != '.' {
            push_utf16_base64(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            pending.extend_from_slice(c.encode_utf16(&mut [0; 2]));
        }
    }
    push_utf16_base64(&mut out, &mut pending);
    out
}

/// Appends `units` as "&<modified base64>-" and empties it.
fn push_utf16_base64(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let (mut bits, mut count) = (0u32, 0);
    for unit in units.drain(..) {
        bits = (bits << 16) | u32::from(unit);
        count += 16;
        while count >= 6 {
            count -= 6;
            out.push(char::from(MUTF7_ALPHABET[(bits >> count) as usize & 63]));
        }
        bits &= (1 << count) - 1;
    }
    if count > 0 {
        out.push(char::from(
            MUTF7_ALPHABET[(bits << (6 - count)) as usize & 63],
        ));
    }
    out.push('-');
}

/// The keywords of a mailbox's messages, sorted: the first 26 get the letters a to z,
/// the others cannot be written.
fn maildir_keywords(messages: &[MessageMeta]) -> (Vec<String>, Vec<String>) {
    let all: BTreeSet<&String> = messages.iter().flat_map(|m| &m.keywords).collect();
    let mut named: Vec<String> = all.into_iter().cloned().collect();
    let left_out = named.split_off(named.len().min(MAX_MAILDIR_KEYWORDS));
    (named, left_out)
}

/// Dovecot's `dovecot-keywords`: "N name" for the keyword of letter 'a' + N.
fn write_dovecot_keywords(folder: &Path, keywords: &[String]) -> Result<(), TransferError> {
    if keywords.is_empty() {
        return Ok(());
    }
    let text: String = keywords
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{i} {k}\n"))
        .collect();
    let path = folder.join("dovecot-keywords");
    fs::write(&path, text).map_err(io_error(&path))
}

/// Writes a message to `cur` as `<internal date>.<id>.gannet:2,<flags>`, with the
/// internal date as mtime (which maildir readers take as the arrival time).
fn write_maildir_file(
    cur: &Path,
    meta: &MessageMeta,
    data: &[u8],
    keywords: &[String],
) -> Result<(), TransferError> {
    let name = format!(
        "{}.{}.gannet:2,{}",
        meta.internal_date,
        meta.id.0,
        info(meta, keywords)
    );
    let path = cur.join(name);
    let io = io_error(&path);
    let mut file = File::create_new(&path).map_err(&io)?;
    file.write_all(data).map_err(&io)?;
    file.set_modified(system_time(meta.internal_date))
        .map_err(&io)?;
    file.sync_all().map_err(&io)
}

/// The maildir info letters of a message: system flags, then keyword letters.
fn info(meta: &MessageMeta, keywords: &[String]) -> String {
    let flags = INFO_FLAGS
        .iter()
        .filter(|(_, flag)| meta.flags.contains(*flag))
        .map(|(letter, _)| *letter);
    let letters = ('a'..='z')
        .zip(keywords)
        .filter(|(_, k)| meta.keywords.contains(k))
        .map(|(letter, _)| letter);
    flags.chain(letters).collect()
}

fn system_time(unix: i64) -> SystemTime {
    let offset = Duration::from_secs(unix.unsigned_abs());
    let time = if unix >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    };
    time.unwrap_or(UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Flags, MailboxId, MessageId};

    #[test]
    fn mbox_paths_are_nested_plain_names() {
        assert_eq!(mbox_path("Inbox"), PathBuf::from("Inbox.mbox"));
        assert_eq!(mbox_path("A/B"), PathBuf::from("A/B.mbox"));
        assert_eq!(mbox_path("../x%/.y"), PathBuf::from("%2E./x%25/%2Ey.mbox"));
    }

    #[test]
    fn maildir_folders_are_maildirpp_in_modified_utf7() {
        assert_eq!(maildir_folder("Inbox"), None);
        assert_eq!(
            maildir_folder("Inbox/Lists").as_deref(),
            Some(".Inbox.Lists")
        );
        assert_eq!(
            maildir_folder("Entwürfe/Q&A").as_deref(),
            Some(".Entw&APw-rfe.Q&-A")
        );
        assert_eq!(maildir_folder("日本語").as_deref(), Some(".&ZeVnLIqe-"));
        assert_eq!(maildir_folder("v1.2").as_deref(), Some(".v1&AC4-2"));
    }

    #[test]
    fn at_most_26_keywords_get_letters() {
        let meta = |keywords: Vec<String>| MessageMeta {
            id: MessageId(1),
            mailbox: MailboxId(1),
            uid: 1,
            modseq: 1,
            create_seq: 1,
            flags: Flags::SEEN.union(Flags::DRAFT),
            keywords,
            internal_date: 0,
            save_date: 0,
            size: 0,
            message_id: String::new(),
            thread_id: 1,
            email_id: 1,
        };
        let many: Vec<String> = (0..30).map(|i| format!("k{i:02}")).collect();
        let (named, left_out) = maildir_keywords(&[meta(many.clone())]);
        assert_eq!((named.len(), left_out.len()), (26, 4));
        let m = meta(vec!["k01".into(), "k29".into()]);
        assert_eq!(info(&m, &named), "DSb");
    }
}
