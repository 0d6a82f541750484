//! The selected mailbox as this session shows it: message sequence numbers mapped to
//! UIDs, kept in step with the account's change feed.
//!
//! Changes by other sessions, SMTP delivery or the web interfaces arrive on the
//! feed as they commit. They are collected here and told to the client when IMAP
//! allows (RFC 9051 7.5.1): new messages and flag changes after any command,
//! expunges only outside FETCH, STORE and SEARCH (sequence numbers must not shift
//! under those), and at once while idling.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast::error::TryRecvError;

use super::messages::uid_set;
use super::{Done, Session};
use crate::imap::{SeqNumber, SequenceSet};
use crate::store::{
    Account, Change, ChangeSet, Flags, MailboxId, MessageMeta, ModSeq, StoreError, Uid,
};

/// Which messages each mailbox has shown as `\Recent` (IMAP4rev1): a message is
/// recent in exactly one session, the first to see it. Kept in memory, so after a
/// restart a mailbox's messages are recent once more.
#[derive(Default)]
pub struct RecentClaims {
    highest: Mutex<HashMap<(String, MailboxId), Uid>>,
}

impl RecentClaims {
    /// Claims the UIDs above the last claim, up to `last`; returns the first
    /// claimed UID (those from it up to `last` are recent for the caller).
    fn claim(&self, account: &str, mailbox: MailboxId, last: Uid) -> Uid {
        let mut map = self.highest.lock().unwrap_or_else(PoisonError::into_inner);
        let claimed = map.entry((account.to_string(), mailbox)).or_insert(0);
        let first = *claimed + 1;
        *claimed = (*claimed).max(last);
        first
    }

    /// The first UID no session has claimed yet.
    pub fn first_unclaimed(&self, account: &str, mailbox: MailboxId) -> Uid {
        let map = self.highest.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&(account.to_string(), mailbox))
            .map_or(1, |h| h + 1)
    }
}

/// Changes seen on the feed and not yet told to the client.
#[derive(Debug, Default)]
struct Pending {
    expunged: BTreeSet<Uid>,
    added: BTreeSet<Uid>,
    /// The newest flags of a message, and the modseq they got.
    flags: BTreeMap<Uid, (Flags, Vec<String>, ModSeq)>,
    /// The modseq of the oldest expunge in `expunged`: HIGHESTMODSEQ told while it
    /// waits must stay below it (RFC 7162 3.2).
    expunge_modseq: Option<ModSeq>,
    /// Annotation entries others changed (by full name), of the selected mailbox
    /// or the server (`None`).
    metadata: BTreeMap<Option<MailboxId>, Vec<String>>,
    /// The feed dropped changes: reload the mailbox and compare.
    lagged: bool,
    deleted: bool,
}

pub struct View {
    pub mailbox: MailboxId,
    pub read_only: bool,
    /// Sequence number - 1 -> UID, ascending.
    uids: Vec<Uid>,
    /// UIDs that are `\Recent` in this session.
    recent: BTreeSet<Uid>,
    /// Keywords in use in the mailbox, as last announced in FLAGS.
    keywords: BTreeSet<String>,
    /// The modseq of the last change set taken in: the feed's order.
    modseq: ModSeq,
    /// The modseq of the last change set that touched this mailbox.
    latest: ModSeq,
    /// A HIGHESTMODSEQ the client may resynchronize from: every change of the
    /// mailbox up to it has been told (RFC 7162 3.2: nothing may be lost if the
    /// connection drops).
    highest: ModSeq,
    /// Messages whose flags the session has told, with the modseq of what it
    /// told: feed changes up to then are old news, and telling them after would
    /// undo what the client knows.
    told: BTreeMap<Uid, ModSeq>,
    /// The flags this session gave messages with a silent STORE (not told): the
    /// client knows its own change, not others' before it. Should one of those
    /// come in, the client is told these flags, which hold both.
    silent: BTreeMap<Uid, (Flags, Vec<String>, ModSeq)>,
    /// Change sets of the session's own SETMETADATA: not told back to it.
    own_metadata: Vec<ModSeq>,
    /// The last SEARCH ... RETURN (SAVE) result (RFC 5182), as UIDs.
    pub saved: Vec<Uid>,
    pending: Pending,
}

impl View {
    /// The view of `messages`, the mailbox's current content, read with the
    /// account locked when the mailbox's HIGHESTMODSEQ was `highest`.
    pub(super) fn new(
        mailbox: MailboxId,
        read_only: bool,
        messages: &[MessageMeta],
        highest: ModSeq,
    ) -> View {
        let keywords = messages
            .iter()
            .flat_map(|m| m.keywords.iter().cloned())
            .collect();
        View {
            mailbox,
            read_only,
            uids: messages.iter().map(|m| m.uid).collect(),
            recent: BTreeSet::new(),
            keywords,
            modseq: 0,
            latest: highest,
            highest,
            told: BTreeMap::new(),
            silent: BTreeMap::new(),
            own_metadata: Vec::new(),
            saved: Vec::new(),
            pending: Pending::default(),
        }
    }

    pub fn len(&self) -> u32 {
        self.uids.len() as u32
    }

    pub fn uids(&self) -> &[Uid] {
        &self.uids
    }

    pub fn is_recent(&self, uid: Uid) -> bool {
        self.recent.contains(&uid)
    }

    pub fn recent_count(&self) -> usize {
        self.recent.len()
    }

    /// The sequence number of `uid`, if it is in the view.
    pub fn seq_of(&self, uid: Uid) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// The HIGHESTMODSEQ the client may resynchronize from.
    pub fn highest(&self) -> ModSeq {
        self.highest
    }

    pub fn keywords(&self) -> &BTreeSet<String> {
        &self.keywords
    }

    /// Keywords announced in a new FLAGS response.
    pub fn add_keywords(&mut self, keywords: impl IntoIterator<Item = String>) {
        self.keywords.extend(keywords);
    }

    /// Claims recent messages among the UIDs from `from` on (not in EXAMINE).
    /// EXAMINE shows them without claiming them (RFC 3501 6.3.2: a read-only
    /// session does not take \Recent away from others).
    fn claim_recent(&mut self, claims: &RecentClaims, account: &str, from: usize) {
        if from >= self.uids.len() {
            return;
        }
        let last = *self.uids.last().expect("checked non-empty");
        let first = match self.read_only {
            true => claims.first_unclaimed(account, self.mailbox),
            false => claims.claim(account, self.mailbox, last),
        };
        self.recent
            .extend(self.uids[from..].iter().copied().filter(|&u| u >= first));
    }

    /// Remembers that the client has been told the flags of `uid` as of `modseq`
    /// (a STORE's answer, or the session's own change).
    pub fn told(&mut self, uid: Uid, modseq: ModSeq) {
        let entry = self.told.entry(uid).or_insert(modseq);
        *entry = (*entry).max(modseq);
        if self.pending.flags.get(&uid).is_some_and(|p| p.2 <= modseq) {
            self.pending.flags.remove(&uid);
        }
    }

    /// Remembers that the session changed the flags of `m` with a silent STORE.
    /// An older change by others still waiting to be told is told as `m`'s flags,
    /// which hold it and the session's own.
    pub fn changed_silently(&mut self, m: &MessageMeta) {
        let state = (m.flags, m.keywords.clone(), m.modseq);
        if self
            .pending
            .flags
            .get(&m.uid)
            .is_some_and(|p| p.2 < m.modseq)
        {
            self.pending.flags.insert(m.uid, state.clone());
        }
        self.silent.insert(m.uid, state);
    }

    /// Remembers that change set `modseq` is the session's own SETMETADATA.
    pub fn own_metadata(&mut self, modseq: ModSeq) {
        self.own_metadata.push(modseq);
    }

    /// Takes the annotation changes waiting to be told.
    pub fn take_metadata(&mut self) -> BTreeMap<Option<MailboxId>, Vec<String>> {
        std::mem::take(&mut self.pending.metadata)
    }

    /// Takes in a committed change set.
    fn apply(&mut self, set: &ChangeSet) {
        if set.modseq <= self.modseq {
            return;
        }
        for change in &set.changes {
            let ours = match change {
                Change::Added { mailbox, uid, .. } if *mailbox == self.mailbox => {
                    self.pending.added.insert(*uid);
                    true
                }
                Change::Expunged { mailbox, uids } if *mailbox == self.mailbox => {
                    for uid in uids {
                        self.pending.added.remove(uid);
                        self.pending.flags.remove(uid);
                        self.pending.expunged.insert(*uid);
                    }
                    self.pending.expunge_modseq.get_or_insert(set.modseq);
                    true
                }
                Change::FlagsChanged {
                    mailbox,
                    uid,
                    flags,
                    keywords,
                } if *mailbox == self.mailbox => {
                    let told = self.told.get(uid).is_some_and(|&m| m >= set.modseq);
                    let entry = match self.silent.get(uid) {
                        // The session's own silent change: the client knows it.
                        Some(own) if own.2 == set.modseq => None,
                        // Older than the session's own silent change: tell the
                        // flags after that change, which include this one.
                        Some(own) if own.2 > set.modseq => Some(own.clone()),
                        _ => Some((*flags, keywords.clone(), set.modseq)),
                    };
                    if let (false, Some(entry)) = (told, entry) {
                        self.pending.flags.insert(*uid, entry);
                    }
                    true
                }
                Change::MailboxDeleted { mailbox, .. } if *mailbox == self.mailbox => {
                    self.pending.deleted = true;
                    true
                }
                Change::AnnotationChanged {
                    mailbox,
                    entry,
                    private,
                } if mailbox.is_none_or(|m| m == self.mailbox) => {
                    if !self.own_metadata.contains(&set.modseq) {
                        let name = super::metadata::full_name(*private, entry);
                        let names = self.pending.metadata.entry(*mailbox).or_default();
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                    mailbox.is_some()
                }
                _ => false,
            };
            if ours {
                self.latest = set.modseq;
            }
        }
        self.modseq = set.modseq;
        // The feed comes in modseq order: nothing older than this will come again.
        self.told.retain(|_, &mut m| m > set.modseq);
        self.silent.retain(|_, own| own.2 > set.modseq);
        self.own_metadata.retain(|&m| m > set.modseq);
    }

    /// Resolves a sequence set (of sequence numbers, or of UIDs when `uid`) to the
    /// UIDs in the view, ascending. Sequence numbers beyond the mailbox are an
    /// error (RFC 9051 9: a BAD); UIDs that do not exist are simply not there.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<Uid>, Done> {
        let ranges = match set {
            SequenceSet::Saved => {
                let mut out: Vec<Uid> = self
                    .saved
                    .iter()
                    .copied()
                    .filter(|u| self.seq_of(*u).is_some())
                    .collect();
                out.sort_unstable();
                return Ok(out);
            }
            SequenceSet::Ranges(r) => r,
        };
        // Index ranges into `uids`, merged before anything is copied: a set like
        // `1:*,1:*,...` must not copy the mailbox once per range.
        let mut spans = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges {
            let (lo, hi) = if uid {
                let last = self.uids.last().copied().unwrap_or(0);
                let n = |s| match s {
                    SeqNumber::Number(n) => n,
                    SeqNumber::Last => last,
                };
                let (a, b) = (n(a), n(b));
                (a.min(b), a.max(b))
            } else {
                let (a, b) = (self.seq(a)?, self.seq(b)?);
                let (lo, hi) = (a.min(b), a.max(b));
                (self.uids[lo as usize - 1], self.uids[hi as usize - 1])
            };
            let start = self.uids.partition_point(|&u| u < lo);
            let end = self.uids.partition_point(|&u| u <= hi);
            if start < end {
                spans.push((start, end));
            }
        }
        spans.sort_unstable();
        let mut out = Vec::new();
        let mut covered = 0;
        for (start, end) in spans {
            let start = start.max(covered);
            if start < end {
                out.extend_from_slice(&self.uids[start..end]);
                covered = end;
            }
        }
        Ok(out)
    }

    /// A sequence number that must exist.
    fn seq(&self, n: SeqNumber) -> Result<u32, Done> {
        let count = self.len();
        match n {
            SeqNumber::Last if count > 0 => Ok(count),
            SeqNumber::Number(n) if n >= 1 && n <= count => Ok(n),
            SeqNumber::Last => Err(Done::bad("the mailbox is empty: there is no message *")),
            SeqNumber::Number(n) => Err(Done::bad(format!(
                "message sequence number {n} does not exist (the mailbox has {count} messages)"
            ))),
        }
    }

    /// Removes expunged UIDs this session expunged itself (EXPUNGE, MOVE), and
    /// returns their sequence numbers in the order to report them.
    pub fn remove(&mut self, uids: &[Uid]) -> Vec<u32> {
        let mut seqs = Vec::new();
        for uid in uids {
            if let Ok(i) = self.uids.binary_search(uid) {
                seqs.push(i as u32 + 1);
                self.uids.remove(i);
                self.recent.remove(uid);
            }
            self.pending.expunged.remove(uid);
            self.pending.flags.remove(uid);
        }
        if self.pending.expunged.is_empty() {
            self.pending.expunge_modseq = None;
        }
        seqs
    }
}

/// A FETCH response carrying `items`: `* 3 FETCH (UID 7 items)` (the UID item
/// when `with_uid`), or once UIDONLY is enabled (RFC 9586) `* 7 UIDFETCH (items)`,
/// numbered by UID, with the UID item only when the client asked for it.
pub fn fetch_response(uidonly: bool, seq: u32, uid: Uid, with_uid: bool, items: &str) -> String {
    match (uidonly, with_uid) {
        (true, _) => format!("* {uid} UIDFETCH ({items})"),
        (false, true) => format!("* {seq} FETCH (UID {uid} {items})"),
        (false, false) => format!("* {seq} FETCH ({items})"),
    }
}

/// The FLAGS list of a message: system flags, keywords, and `\Recent` where the
/// session shows it.
pub fn flag_list(flags: Flags, keywords: &[String], recent: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let system = flags.to_string();
    if !system.is_empty() {
        parts.push(system);
    }
    parts.extend(keywords.iter().cloned());
    if recent {
        parts.push("\\Recent".into());
    }
    format!("({})", parts.join(" "))
}

impl Session {
    /// Reads the changes that arrived and tells the client what it may be told
    /// after `command` (the name of the command being completed, or "IDLE").
    pub(super) fn sync_view(&mut self, command: &str) {
        let Some(auth) = self.auth.as_mut() else {
            return;
        };
        if self.selected.is_none() && self.notify.is_none() {
            return;
        }
        let selected = self.selected.as_ref().map(|v| v.mailbox);
        let mut lagged = false;
        loop {
            match auth.changes.try_recv() {
                Ok(set) => {
                    if let Some(view) = self.selected.as_mut() {
                        view.apply(&set);
                    }
                    if let Some(notify) = self.notify.as_mut() {
                        notify.take_in(&set, selected);
                    }
                }
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if lagged {
            self.notify_overflow();
        }
        self.flush_notify();
        let (Some(auth), Some(view)) = (self.auth.as_mut(), self.selected.as_mut()) else {
            return;
        };
        view.pending.lagged |= lagged;
        if view.pending.deleted {
            self.selected = None;
            self.line("* BYE the selected mailbox was deleted by another session; closing");
            self.action = super::Action::Close;
            return;
        }
        if view.pending.lagged {
            view.pending.lagged = false;
            let account = Arc::clone(&auth.account);
            let current = read_by_id(&super::lock(&account), view.mailbox);
            match current {
                Ok((mailbox, messages)) => view.compare(&messages, mailbox.modseq),
                Err(e) => tracing::error!(error = %e, "reloading the selected mailbox failed"),
            }
        }
        // RFC 9051 7.5.1, and RFC 5256 4 for SORT and THREAD; UID commands may.
        let expunges_allowed = !matches!(command, "FETCH" | "STORE" | "SEARCH" | "SORT" | "THREAD");
        self.flush_pending(expunges_allowed);
    }

    /// Writes the untagged responses for the pending changes.
    fn flush_pending(&mut self, expunges_allowed: bool) {
        if expunges_allowed {
            let expunged: Vec<Uid> = match self.selected.as_mut() {
                Some(view) => std::mem::take(&mut view.pending.expunged)
                    .into_iter()
                    .collect(),
                None => return,
            };
            self.report_expunged(&expunged);
        }
        let added = self.flush_added();
        self.notify_new_messages(&added);
        self.flush_flags();
        self.flush_metadata();
        let condstore = self.enabled.condstore;
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        match view.pending.expunge_modseq {
            None => view.highest = view.highest.max(view.latest),
            // RFC 7162 3.2: modseqs were told while an expunge waits; a client that
            // loses the connection now must resynchronize from before it.
            Some(_) if condstore => {
                let line = format!(
                    "* OK [HIGHESTMODSEQ {}] an expunge is yet to be told",
                    view.highest
                );
                self.line(&line);
            }
            Some(_) => {}
        }
    }

    /// Tells the client that these messages are gone (EXPUNGE, or VANISHED once
    /// QRESYNC is enabled) and takes them out of the view.
    pub(super) fn report_expunged(&mut self, uids: &[Uid]) {
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        let present: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|u| view.seq_of(*u).is_some())
            .collect();
        let seqs = view.remove(uids);
        // QRESYNC and UIDONLY (RFC 9586) tell expunges by UID.
        if self.enabled.qresync || self.enabled.uidonly {
            if !present.is_empty() {
                self.line(&format!("* VANISHED {}", uid_set(&present)));
            }
            return;
        }
        for seq in seqs {
            self.line(&format!("* {seq} EXPUNGE"));
        }
    }

    /// EXISTS (and RECENT for rev1) for messages that arrived; returns them.
    fn flush_added(&mut self) -> Vec<Uid> {
        let rev2 = self.enabled.rev2;
        let account = self
            .auth
            .as_ref()
            .map(|a| a.login.account.clone())
            .unwrap_or_default();
        let Some(view) = self.selected.as_mut() else {
            return Vec::new();
        };
        let last = view.uids.last().copied().unwrap_or(0);
        let added: Vec<Uid> = std::mem::take(&mut view.pending.added)
            .into_iter()
            .filter(|&u| u > last && !view.pending.expunged.contains(&u))
            .collect();
        if added.is_empty() {
            return added;
        }
        let from = view.uids.len();
        view.uids.extend(&added);
        // IMAP4rev2 has no \Recent (RFC 9051 E.6): a rev2 session neither shows
        // nor takes it.
        if !rev2 {
            view.claim_recent(&self.services.recent, &account, from);
        }
        let (exists, recent) = (view.len(), view.recent_count());
        self.line(&format!("* {exists} EXISTS"));
        if !rev2 {
            self.line(&format!("* {recent} RECENT"));
        }
        added
    }

    /// FETCH FLAGS for messages whose flags others changed (with MODSEQ once
    /// CONDSTORE is enabled), after a new FLAGS list if keywords came up.
    fn flush_flags(&mut self) {
        let (condstore, uidonly) = (self.enabled.condstore, self.enabled.uidonly);
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        let flags = std::mem::take(&mut view.pending.flags);
        let new_keywords: BTreeSet<String> = flags
            .values()
            .flat_map(|(_, k, _)| k.iter())
            .filter(|k| !view.keywords.contains(*k))
            .cloned()
            .collect();
        let mut lines = Vec::new();
        if !new_keywords.is_empty() {
            view.keywords.extend(new_keywords);
            lines.push(format!("* FLAGS {}", mailbox_flags(&view.keywords)));
        }
        for (uid, (f, k, modseq)) in flags {
            if let Some(seq) = view.seq_of(uid) {
                let list = flag_list(f, &k, view.is_recent(uid));
                let items = match condstore {
                    true => format!("FLAGS {list} MODSEQ ({modseq})"),
                    false => format!("FLAGS {list}"),
                };
                lines.push(fetch_response(uidonly, seq, uid, true, &items));
            }
        }
        for l in lines {
            self.line(&l);
        }
    }

    /// Opens the view of a mailbox for SELECT/EXAMINE: reads its messages with the
    /// account locked, dropping feed changes up to then (they are in what was read).
    pub(super) fn open_view(
        &mut self,
        name: &str,
        read_only: bool,
    ) -> Result<(crate::store::Mailbox, Vec<MessageMeta>), Done> {
        let auth = self
            .auth
            .as_mut()
            .ok_or_else(|| Done::bad("log in first (LOGIN or AUTHENTICATE)"))?;
        let account = Arc::clone(&auth.account);
        let guard = super::lock(&account);
        // Changes up to now are in what is read; NOTIFY still hears of them.
        let mut lagged = false;
        loop {
            match auth.changes.try_recv() {
                Ok(set) => {
                    if let Some(notify) = self.notify.as_mut() {
                        notify.take_in(&set, None);
                    }
                }
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let (mailbox, messages) = read_mailbox(&guard, name).map_err(Done::from)?;
        drop(guard);
        if lagged {
            self.notify_overflow();
        }
        let auth = self.authenticated()?;
        let mut view = View::new(mailbox.id, read_only, &messages, mailbox.modseq);
        if !self.enabled.rev2 {
            view.claim_recent(&self.services.recent, &auth.login.account, 0);
        }
        self.selected = Some(view);
        Ok((mailbox, messages))
    }
}

fn read_mailbox(
    account: &Account,
    name: &str,
) -> Result<(crate::store::Mailbox, Vec<MessageMeta>), StoreError> {
    read_by_id(account, account.mailbox(name)?.id)
}

/// A mailbox and its messages, read together (under the caller's lock).
fn read_by_id(
    account: &Account,
    id: MailboxId,
) -> Result<(crate::store::Mailbox, Vec<MessageMeta>), StoreError> {
    let mailbox = account.mailbox_by_id(id)?;
    let messages = account.messages(id)?;
    Ok((mailbox, messages))
}

/// The FLAGS response list: system flags and the keywords in use.
pub fn mailbox_flags(keywords: &BTreeSet<String>) -> String {
    let mut parts = vec!["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];
    parts.extend(keywords.iter().map(String::as_str));
    format!("({})", parts.join(" "))
}

impl View {
    /// After the feed lagged: compares the view with the mailbox as it is now and
    /// makes the differences pending.
    /// `highest` is the mailbox's HIGHESTMODSEQ as read with `messages`.
    fn compare(&mut self, messages: &[MessageMeta], highest: ModSeq) {
        let now: BTreeSet<Uid> = messages.iter().map(|m| m.uid).collect();
        for uid in &self.uids {
            if !now.contains(uid) {
                self.pending.expunged.insert(*uid);
                // When they were expunged is not known: after what was told.
                self.pending.expunge_modseq.get_or_insert(self.highest + 1);
            }
        }
        self.latest = self.latest.max(highest);
        let last = self.uids.last().copied().unwrap_or(0);
        for m in messages {
            if m.uid > last {
                self.pending.added.insert(m.uid);
            } else {
                // Flags may have changed; telling them again is harmless.
                self.pending
                    .flags
                    .insert(m.uid, (m.flags, m.keywords.clone(), m.modseq));
            }
        }
    }
}
