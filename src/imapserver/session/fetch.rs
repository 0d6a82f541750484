//! FETCH and UID FETCH. Metadata comes from the store's rows; ENVELOPE,
//! BODYSTRUCTURE and body sections are computed from the raw message (sizes and
//! offsets exactly as stored). Fetching a body without .PEEK sets `\Seen`, and the
//! new flags are part of the answer.

use std::borrow::Cow;

use super::resync::UidRanges;
use super::view::flag_list;
use super::{Done, Mode, OUTPUT_PAUSE, Outcome, Session, lock};
use crate::imap::encode::{literal, literal8, nstring, string};
use crate::imap::{
    Fetch, FetchItem, Partial, Section, SectionText, binary_of, bodystructure_of, envelope,
    partial, section_of,
};
use crate::message::mime::{self, Part};
use crate::store::{FlagOp, Flags, MessageMeta, SharedAccount, Uid};

/// Characters of PREVIEW text at most (RFC 8970 3: at most 256 octets; 200
/// characters of UTF-8 may need more, so the octet limit is applied as well).
const PREVIEW_CHARS: usize = 200;
const PREVIEW_OCTETS: usize = 256;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date-time as RFC 9051 writes it (INTERNALDATE, SAVEDATE):
/// `"22-Nov-2026 21:17:00 +0000"`.
fn date_time(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "\"{:02}-{}-{:04} {:02}:{:02}:{:02} +0000\"",
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether fetching `item` reads the message file.
fn needs_body(item: &FetchItem) -> bool {
    !matches!(
        item,
        FetchItem::Flags
            | FetchItem::InternalDate
            | FetchItem::Uid
            | FetchItem::Rfc822Size
            | FetchItem::ModSeq
            | FetchItem::SaveDate
            | FetchItem::EmailId
            | FetchItem::ThreadId
    )
}

/// Whether fetching `item` marks the message `\Seen` (RFC 9051 6.4.5).
fn sets_seen(item: &FetchItem) -> bool {
    match item {
        FetchItem::Rfc822 | FetchItem::Rfc822Text => true,
        FetchItem::BodySection { peek, .. } | FetchItem::Binary { peek, .. } => !peek,
        _ => false,
    }
}

/// The name of a section in a response: `1.2.HEADER.FIELDS (From To)`.
fn section_name(s: &Section) -> String {
    let mut parts: Vec<String> = s.part.iter().map(u32::to_string).collect();
    match &s.text {
        None => {}
        Some(SectionText::Header) => parts.push("HEADER".into()),
        Some(SectionText::Text) => parts.push("TEXT".into()),
        Some(SectionText::Mime) => parts.push("MIME".into()),
        Some(SectionText::HeaderFields { not, fields }) => {
            let kind = if *not {
                "HEADER.FIELDS.NOT"
            } else {
                "HEADER.FIELDS"
            };
            parts.push(format!("{kind} ({})", fields.join(" ")));
        }
    }
    parts.join(".")
}

fn part_name(part: &[u32]) -> String {
    part.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// `<offset>` after a partial section's name; the bytes of the range.
fn apply_partial(bytes: &[u8], p: Option<Partial>) -> (String, &[u8]) {
    match p {
        None => (String::new(), bytes),
        Some(p) => (format!("<{}>", p.offset), partial(bytes, p)),
    }
}

/// BODY[] must not carry NUL (RFC 3516 4.3: binary content is to be sent in a
/// content transfer encoding; BINARY[] is how a client asks for it decoded), so
/// such content goes out in base64.
fn without_nul(bytes: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    use base64::Engine;
    if !bytes.contains(&0) {
        return bytes;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    Cow::Owned(out)
}

/// PREVIEW (RFC 8970): the start of the message's text, whitespace collapsed.
fn preview(raw: &[u8]) -> String {
    let text = crate::store::parse_owned(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default();
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = word.chars().count() + usize::from(!out.is_empty());
        if out.chars().count() + extra > PREVIEW_CHARS
            || out.len() + word.len() + 1 > PREVIEW_OCTETS
        {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A FETCH in progress: what is asked and the messages still to answer.
pub(super) struct FetchRun {
    tag: String,
    name: &'static str,
    items: Vec<FetchItem>,
    /// In reverse order: the next message to answer is the last.
    rest: Vec<MessageMeta>,
    /// A message that could not be read (the command ends with NO).
    failed: Option<Uid>,
}

/// One message being answered: its row, bytes and MIME structure.
#[derive(Clone, Copy)]
struct Message<'a> {
    meta: &'a MessageMeta,
    raw: &'a [u8],
    tree: &'a Part<'a>,
    /// Whether the session shows it as `\Recent`.
    recent: bool,
}

impl Session {
    pub(super) fn fetch(&mut self, tag: &str, fetch: &Fetch) -> Outcome {
        let view = self.view()?;
        let (mailbox, read_only) = (view.mailbox, view.read_only);
        let uids = view.resolve(&fetch.set, fetch.uid)?;
        if fetch.vanished && !self.enabled.qresync {
            return Err(Done::bad("VANISHED needs ENABLE QRESYNC first"));
        }
        let mut items = fetch.items.clone();
        // UID FETCH answers with the UID; under UIDONLY the response is numbered by
        // it already (RFC 9586).
        if fetch.uid && !self.enabled.uidonly && !items.contains(&FetchItem::Uid) {
            items.insert(0, FetchItem::Uid);
        }
        // RFC 7162 3.1.4: CHANGEDSINCE implies MODSEQ.
        if fetch.changed_since.is_some() && !items.contains(&FetchItem::ModSeq) {
            items.push(FetchItem::ModSeq);
        }
        if items.contains(&FetchItem::ModSeq) {
            self.enable_condstore();
        }
        if let (true, Some(since)) = (fetch.vanished, fetch.changed_since) {
            let asked = UidRanges::new(&fetch.set, &self.view()?.saved);
            self.vanished_earlier(mailbox, since as i64, |u| asked.contains(u))?;
        }
        let mark_seen = !read_only && items.iter().any(sets_seen);
        let mut metas = self.with_account(|a| a.messages_by_uid(mailbox, &uids))?;
        if let Some(since) = fetch.changed_since {
            metas.retain(|m| m.modseq > since as i64);
        }
        // RFC 9394: a page of what the set (and CHANGEDSINCE) selected.
        if let Some(range) = fetch.partial {
            metas = range.of(&metas).to_vec();
        }
        if mark_seen {
            self.mark_seen(&mut metas, &mut items)?;
        }
        metas.reverse();
        let run = FetchRun {
            tag: tag.to_string(),
            name: if fetch.uid { "UID FETCH" } else { "FETCH" },
            items,
            rest: metas,
            failed: None,
        };
        self.fetch_some(run)
    }

    /// Answers the messages of a FETCH until the output reaches [`OUTPUT_PAUSE`];
    /// the rest waits in [`Mode::Fetch`] for the next [`Session::feed`].
    fn fetch_some(&mut self, mut run: FetchRun) -> Outcome {
        let account = std::sync::Arc::clone(&self.authenticated()?.account);
        while let Some(meta) = run.rest.pop() {
            // Expunged meanwhile by another session, or a lost file: this message
            // is skipped and the command says so.
            if !self.fetch_read(&account, &meta, &run.items)? {
                run.failed = Some(meta.uid);
            }
            if self.out.len() >= OUTPUT_PAUSE && !run.rest.is_empty() {
                self.mode = Mode::Fetch(Box::new(run));
                return Ok(Done::pending());
            }
        }
        match run.failed {
            Some(uid) => {
                Err(Done::no(format!("message UID {uid} could not be read")).code("EXPUNGEISSUED"))
            }
            None => Ok(Done::ok("FETCH done")),
        }
    }

    /// Reads what `items` need of a message and writes its FETCH response; false
    /// (and nothing written) when the message could not be read.
    fn fetch_read(
        &mut self,
        account: &SharedAccount,
        meta: &MessageMeta,
        items: &[FetchItem],
    ) -> Result<bool, Done> {
        let raw = match items.iter().any(needs_body) {
            true => match lock(account).read(meta.id) {
                Ok(raw) => Some(raw),
                Err(e) => {
                    tracing::warn!(error = %e, uid = meta.uid, "reading a message for FETCH failed");
                    return Ok(false);
                }
            },
            false => None,
        };
        self.fetch_one(meta, raw.as_deref(), items)?;
        Ok(true)
    }

    /// FETCH responses for `uids` (NOTIFY's MessageNew attributes for messages that
    /// just arrived), up to [`OUTPUT_PAUSE`] of output: past it the client has the
    /// EXISTS and fetches the rest itself. A message that cannot be read is left
    /// out.
    pub(super) fn fetch_now(&mut self, uids: &[Uid], items: Vec<FetchItem>) -> Result<(), Done> {
        let mailbox = self.view()?.mailbox;
        let account = std::sync::Arc::clone(&self.authenticated()?.account);
        for &uid in uids {
            if self.out.len() >= OUTPUT_PAUSE {
                break;
            }
            let metas = lock(&account)
                .messages_by_uid(mailbox, &[uid])
                .map_err(Done::from)?;
            if let Some(meta) = metas.first() {
                self.fetch_read(&account, meta, &items)?;
            }
        }
        Ok(())
    }

    /// Goes on with a FETCH that paused; false when none is going on.
    pub(super) fn fetch_more(&mut self) -> bool {
        let Mode::Fetch(run) = std::mem::replace(&mut self.mode, Mode::Command) else {
            return false;
        };
        let (tag, name) = (run.tag.clone(), run.name);
        let outcome = self.fetch_some(*run);
        self.complete(&tag, name, outcome);
        true
    }

    /// Sets `\Seen` on the messages that lack it, and makes sure their FLAGS are in
    /// the answer.
    fn mark_seen(
        &mut self,
        metas: &mut [MessageMeta],
        items: &mut Vec<FetchItem>,
    ) -> Result<(), Done> {
        let unseen: Vec<Uid> = metas
            .iter()
            .filter(|m| !m.flags.contains(Flags::SEEN))
            .map(|m| m.uid)
            .collect();
        if unseen.is_empty() {
            return Ok(());
        }
        let mailbox = self.view()?.mailbox;
        let result = self
            .with_account(|a| a.set_flags(mailbox, &unseen, FlagOp::Add, Flags::SEEN, &[], None))?;
        let view = self.selected.as_mut().expect("checked above");
        for m in &result.changed {
            view.told(m.uid, m.modseq);
        }
        for changed in result.changed {
            if let Some(m) = metas.iter_mut().find(|m| m.uid == changed.uid) {
                *m = changed;
            }
        }
        // The new flags are part of the answer; once CONDSTORE is on, with UID and
        // the new MODSEQ (RFC 7162 3.2.4).
        let mut wanted = vec![FetchItem::Flags];
        if self.enabled.condstore {
            if !self.enabled.uidonly {
                wanted.push(FetchItem::Uid);
            }
            wanted.push(FetchItem::ModSeq);
        }
        for item in wanted {
            if !items.contains(&item) {
                items.push(item);
            }
        }
        Ok(())
    }

    /// Writes the FETCH response of one message.
    fn fetch_one(
        &mut self,
        meta: &MessageMeta,
        raw: Option<&[u8]>,
        items: &[FetchItem],
    ) -> Result<(), Done> {
        let view = self.view()?;
        let Some(seq) = view.seq_of(meta.uid) else {
            return Ok(());
        };
        let recent = view.is_recent(meta.uid);
        let raw = raw.unwrap_or_default();
        // The MIME structure is parsed once for all items of the message.
        let tree = mime::parse(raw);
        let message = Message {
            meta,
            raw,
            tree: &tree,
            recent,
        };
        let mut out = match self.enabled.uidonly {
            true => format!("* {} UIDFETCH (", meta.uid),
            false => format!("* {seq} FETCH ("),
        }
        .into_bytes();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            self.fetch_item(&mut out, item, &message)?;
        }
        out.extend_from_slice(b")\r\n");
        self.out.extend_from_slice(&out);
        Ok(())
    }

    fn fetch_item(&self, out: &mut Vec<u8>, item: &FetchItem, m: &Message<'_>) -> Result<(), Done> {
        let Message {
            meta,
            raw,
            tree,
            recent,
        } = *m;
        let section = |s: &Section| section_of(raw, tree, s);
        let binary = |part: &[u32]| {
            binary_of(raw, tree, part).map_err(|e| Done::no(e.to_string()).code("UNKNOWN-CTE"))
        };
        let mut put = |s: &str| out.extend_from_slice(s.as_bytes());
        match item {
            FetchItem::Uid => put(&format!("UID {}", meta.uid)),
            FetchItem::Flags => put(&format!(
                "FLAGS {}",
                flag_list(meta.flags, &meta.keywords, recent)
            )),
            FetchItem::InternalDate => {
                put(&format!("INTERNALDATE {}", date_time(meta.internal_date)))
            }
            FetchItem::Rfc822Size => put(&format!("RFC822.SIZE {}", meta.size)),
            FetchItem::ModSeq => put(&format!("MODSEQ ({})", meta.modseq)),
            FetchItem::SaveDate => put(&format!("SAVEDATE {}", date_time(meta.save_date))),
            // RFC 8474 5: objectids, from the store's ids.
            FetchItem::EmailId => put(&format!("EMAILID (E{})", meta.email_id)),
            FetchItem::ThreadId => put(&format!("THREADID (T{})", meta.thread_id)),
            FetchItem::Envelope => {
                put("ENVELOPE ");
                envelope(raw, out);
            }
            FetchItem::Body => {
                put("BODY ");
                bodystructure_of(raw, tree, false, out);
            }
            FetchItem::BodyStructure => {
                put("BODYSTRUCTURE ");
                bodystructure_of(raw, tree, true, out);
            }
            FetchItem::Rfc822 => {
                put("RFC822 ");
                literal(out, raw);
            }
            FetchItem::Rfc822Header | FetchItem::Rfc822Text => {
                let (name, text) = match item {
                    FetchItem::Rfc822Header => ("RFC822.HEADER ", SectionText::Header),
                    _ => ("RFC822.TEXT ", SectionText::Text),
                };
                put(name);
                let s = Section {
                    part: Vec::new(),
                    text: Some(text),
                };
                let bytes = section(&s).unwrap_or_default();
                literal(out, &bytes);
            }
            FetchItem::BodySection {
                section: s,
                partial: p,
                ..
            } => {
                let bytes = section(s).map(without_nul);
                let (origin, _) = apply_partial(&[], *p);
                put(&format!("BODY[{}]{origin} ", section_name(s)));
                match &bytes {
                    Some(b) => literal(out, apply_partial(b, *p).1),
                    None => nstring(out, None),
                }
            }
            FetchItem::Binary {
                part, partial: p, ..
            } => {
                let bytes = binary(part)?;
                let (origin, _) = apply_partial(&[], *p);
                put(&format!("BINARY[{}]{origin} ", part_name(part)));
                match &bytes {
                    Some(b) => {
                        let b = apply_partial(b, *p).1;
                        match b.contains(&0) {
                            true => literal8(out, b),
                            false => literal(out, b),
                        }
                    }
                    None => nstring(out, None),
                }
            }
            FetchItem::BinarySize(part) => {
                let bytes = binary(part)?;
                let size = bytes.map_or(Cow::Borrowed("NIL"), |b| Cow::Owned(b.len().to_string()));
                put(&format!("BINARY.SIZE[{}] {size}", part_name(part)));
            }
            FetchItem::Preview { .. } => {
                put("PREVIEW ");
                string(out, preview(raw).as_bytes());
            }
        }
        Ok(())
    }
}
