//! SEARCH and UID SEARCH: IMAP search keys become the store's search primitives
//! (evaluated in SQLite, text through the full-text index); what only the session
//! knows (sequence numbers, `\Recent`) becomes UID sets first. Answers are
//! `* SEARCH` for IMAP4rev1 clients, and ESEARCH (RFC 4731, part of IMAP4rev2) when
//! RETURN was given or IMAP4rev2 enabled; RETURN (SAVE) keeps the result for `$`
//! (RFC 5182).

use std::ops::RangeInclusive;

use std::time::Instant;

use time::{Date, Duration, OffsetDateTime, Time};

use super::view::View;
use super::{Done, Outcome, Session};
use crate::imap::sort::sequence_set;
use crate::imap::{Search, SearchKey as Key, SearchReturn, SeqNumber, SequenceSet};
use crate::store::{DateField, Flags, MailboxId, SearchKey, Uid};

/// Charsets a search string may be in; RFC 9051 requires UTF-8 and US-ASCII.
const CHARSETS: [&str; 2] = ["UTF-8", "US-ASCII"];

/// Seconds since the epoch at the start of `day`, UTC.
fn day_start(day: Date) -> i64 {
    OffsetDateTime::new_utc(day, Time::MIDNIGHT).unix_timestamp()
}

/// How a date search key relates to its day.
enum Day {
    Before,
    On,
    Since,
}

/// An EMAILID or THREADID key (RFC 8474): the store's id in an objectid gannet
/// made (`E12`), else nothing matches.
fn object(id: &str, prefix: char, key: fn(i64) -> SearchKey) -> SearchKey {
    match id.strip_prefix(prefix).and_then(|n| n.parse().ok()) {
        Some(n) => key(n),
        None => SearchKey::Uids(Vec::new()),
    }
}

/// A date search key: one of the message's times before, on or since a day.
fn dated(field: DateField, relation: Day, day: Date) -> SearchKey {
    let start = day_start(day);
    let (from, until) = match relation {
        Day::Before => (None, Some(start)),
        Day::On => (Some(start), Some(start + Duration::DAY.whole_seconds())),
        Day::Since => (Some(start), None),
    };
    SearchKey::Date { field, from, until }
}

/// UIDs as the store's UID ranges.
fn uid_ranges(uids: &[Uid]) -> SearchKey {
    let mut ranges: Vec<RangeInclusive<Uid>> = Vec::new();
    for &u in uids {
        match ranges.last_mut() {
            Some(r) if *r.end() + 1 == u => *r = *r.start()..=u,
            _ => ranges.push(u..=u),
        }
    }
    SearchKey::Uids(ranges)
}

/// A sequence set in a search: numbers past the end match nothing (rather than
/// being an error, as in FETCH), so `SEARCH 1:*` works on an empty mailbox.
fn search_set(view: &View, set: &SequenceSet, uid: bool) -> Vec<Uid> {
    let SequenceSet::Ranges(ranges) = set else {
        return view.resolve(set, uid).unwrap_or_default();
    };
    let count = view.len();
    let clamp = |n: SeqNumber| match n {
        SeqNumber::Number(n) if uid || n <= count => Some(n),
        SeqNumber::Number(_) => None,
        SeqNumber::Last if uid => view.uids().last().copied(),
        SeqNumber::Last => (count > 0).then_some(count),
    };
    let mut kept = Vec::new();
    for &(a, b) in ranges {
        let (a, b) = match (clamp(a), clamp(b)) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) | (None, Some(a)) if !uid => (a, count),
            _ => continue,
        };
        kept.push((SeqNumber::Number(a.min(b)), SeqNumber::Number(a.max(b))));
    }
    view.resolve(&SequenceSet::Ranges(kept), uid)
        .unwrap_or_default()
}

/// Of a result, what the return options show: the MIN, MAX and PARTIAL messages
/// when only those are asked for (RFC 4731 3.2, RFC 9394), else all of it.
pub(super) fn reported<T: Copy + PartialEq>(returns: &[SearchReturn], all: &[T]) -> Vec<T> {
    let has = |r| returns.contains(&r);
    let narrowed = returns.iter().any(|r| {
        matches!(
            r,
            SearchReturn::Min | SearchReturn::Max | SearchReturn::Partial(_)
        )
    });
    if has(SearchReturn::All) || has(SearchReturn::Count) || !narrowed {
        return all.to_vec();
    }
    let mut out: Vec<T> = Vec::new();
    if has(SearchReturn::Min) {
        out.extend(all.first());
    }
    for r in returns {
        if let SearchReturn::Partial(range) = r {
            out.extend_from_slice(range.of(all));
        }
    }
    if has(SearchReturn::Max) {
        out.extend(all.last());
    }
    // In a sorted result the picks come in order: a message picked twice is
    // picked in a row.
    out.dedup();
    out
}

/// An ESEARCH response (RFC 4731) for SEARCH RETURN and ESORT (RFC 5267):
/// `numbers` is the result as the client numbers it, in the order it is in
/// (ascending, or sort order), and sequence sets keep that order.
pub(super) fn esearch_line(
    correlator: &str,
    uid: bool,
    returns: &[SearchReturn],
    numbers: &[u32],
    modseq: Option<i64>,
) -> String {
    let mut line = format!("* ESEARCH ({correlator})");
    if uid {
        line.push_str(" UID");
    }
    // In one order whatever the client's: MIN, MAX, ALL, COUNT, PARTIAL.
    let rank = |r: &&SearchReturn| match r {
        SearchReturn::Min => 0,
        SearchReturn::Max => 1,
        SearchReturn::All => 2,
        SearchReturn::Count => 3,
        SearchReturn::Partial(_) => 4,
        SearchReturn::Save => 5,
    };
    let mut ordered: Vec<&SearchReturn> = returns.iter().collect();
    ordered.sort_by_key(rank);
    for r in ordered {
        match r {
            SearchReturn::Min => {
                if let Some(n) = numbers.first() {
                    line.push_str(&format!(" MIN {n}"));
                }
            }
            SearchReturn::Max => {
                if let Some(n) = numbers.last() {
                    line.push_str(&format!(" MAX {n}"));
                }
            }
            SearchReturn::All => {
                if let Some(set) = sequence_set(numbers) {
                    line.push_str(&format!(" ALL {set}"));
                }
            }
            SearchReturn::Count => line.push_str(&format!(" COUNT {}", numbers.len())),
            SearchReturn::Partial(range) => {
                let set = sequence_set(range.of(numbers));
                let set = set.as_deref().unwrap_or("NIL");
                line.push_str(&format!(" PARTIAL ({range} {set})"));
            }
            SearchReturn::Save => {}
        }
    }
    if let Some(m) = modseq {
        line.push_str(&format!(" MODSEQ {m}"));
    }
    line
}

/// The correlator of an ESEARCH response to command `tag` (RFC 4731 3.1).
pub(super) fn tag_correlator(tag: &str) -> String {
    format!("TAG \"{tag}\"")
}

/// Whether a MODSEQ key is among the keys: then the answer tells the highest
/// modseq found (RFC 7162 3.1.6).
pub(super) fn uses_modseq(key: &Key) -> bool {
    match key {
        Key::ModSeq { .. } => true,
        Key::Not(k) => uses_modseq(k),
        Key::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        Key::And(keys) => keys.iter().any(uses_modseq),
        _ => false,
    }
}

/// The store's key for an IMAP key; `recent` is the session's `\Recent` UIDs.
pub(super) fn convert(key: &Key, view: &View, recent: &[Uid]) -> SearchKey {
    let flag = |f, set| SearchKey::Flags(f, set);
    let header = |name: &str, text: &str| SearchKey::Header(name.to_string(), text.to_string());
    let convert = |k: &Key| convert(k, view, recent);
    match key {
        Key::All => SearchKey::All,
        Key::Answered => flag(Flags::ANSWERED, true),
        Key::Unanswered => flag(Flags::ANSWERED, false),
        Key::Deleted => flag(Flags::DELETED, true),
        Key::Undeleted => flag(Flags::DELETED, false),
        Key::Draft => flag(Flags::DRAFT, true),
        Key::Undraft => flag(Flags::DRAFT, false),
        Key::Flagged => flag(Flags::FLAGGED, true),
        Key::Unflagged => flag(Flags::FLAGGED, false),
        Key::Seen => flag(Flags::SEEN, true),
        Key::Unseen => flag(Flags::SEEN, false),
        Key::Keyword(k) => SearchKey::Keyword(k.clone(), true),
        Key::Unkeyword(k) => SearchKey::Keyword(k.clone(), false),
        Key::Recent => uid_ranges(recent),
        Key::New => SearchKey::And(vec![uid_ranges(recent), flag(Flags::SEEN, false)]),
        Key::Old => SearchKey::Not(Box::new(uid_ranges(recent))),
        Key::Bcc(s) => header("Bcc", s),
        Key::Cc(s) => header("Cc", s),
        Key::From(s) => header("From", s),
        Key::To(s) => header("To", s),
        Key::Subject(s) => header("Subject", s),
        Key::Header(name, s) => header(name, s),
        Key::Body(s) => SearchKey::Body(s.clone()),
        Key::Text(s) => SearchKey::Text(s.clone()),
        Key::Larger(n) => SearchKey::Larger(*n),
        Key::ModSeq { modseq, .. } => SearchKey::ModSeq(*modseq as i64),
        Key::Smaller(n) => SearchKey::Smaller(*n),
        Key::Before(d) => dated(DateField::Arrived, Day::Before, *d),
        Key::On(d) => dated(DateField::Arrived, Day::On, *d),
        Key::Since(d) => dated(DateField::Arrived, Day::Since, *d),
        Key::SentBefore(d) => dated(DateField::Sent, Day::Before, *d),
        Key::SentOn(d) => dated(DateField::Sent, Day::On, *d),
        Key::SentSince(d) => dated(DateField::Sent, Day::Since, *d),
        Key::SavedBefore(d) => dated(DateField::Saved, Day::Before, *d),
        Key::SavedOn(d) => dated(DateField::Saved, Day::On, *d),
        Key::SavedSince(d) => dated(DateField::Saved, Day::Since, *d),
        // Every mailbox keeps save dates (RFC 8514 4.3: then it matches all).
        Key::SaveDateSupported => SearchKey::All,
        Key::EmailId(id) => object(id, 'E', SearchKey::EmailId),
        Key::ThreadId(id) => object(id, 'T', SearchKey::ThreadId),
        // RFC 5032: by INTERNALDATE, counted from now.
        Key::Older(seconds) => SearchKey::Date {
            field: DateField::Arrived,
            from: None,
            until: Some(crate::message::now() - i64::from(*seconds)),
        },
        Key::Younger(seconds) => SearchKey::Date {
            field: DateField::Arrived,
            from: Some(crate::message::now() - i64::from(*seconds)),
            until: None,
        },
        Key::Uid(set) => uid_ranges(&search_set(view, set, true)),
        Key::Sequence(set) => uid_ranges(&search_set(view, set, false)),
        Key::Not(k) => SearchKey::Not(Box::new(convert(k))),
        Key::Or(a, b) => SearchKey::Or(Box::new(convert(a)), Box::new(convert(b))),
        Key::And(keys) => SearchKey::And(keys.iter().map(convert).collect()),
    }
}

impl Session {
    pub(super) fn search(&mut self, tag: &str, search: &Search) -> Outcome {
        let saving = search
            .returns
            .as_ref()
            .is_some_and(|r| r.contains(&SearchReturn::Save));
        let outcome = self.search_saving(tag, search);
        // RFC 5182 2.1: a SEARCH with SAVE that fails leaves `$` empty.
        if saving
            && outcome.is_err()
            && let Some(view) = self.selected.as_mut()
        {
            view.saved.clear();
        }
        outcome
    }

    fn search_saving(&mut self, tag: &str, search: &Search) -> Outcome {
        let modseq = uses_modseq(&search.key);
        let found = self.matching(tag, search.charset.as_deref(), &search.key)?;
        let view = self.selected.as_mut().expect("matching checked it");
        let mailbox = view.mailbox;
        let numbers: Vec<u32> = match search.uid {
            true => found.clone(),
            false => found.iter().filter_map(|u| view.seq_of(*u)).collect(),
        };
        let returns = match (&search.returns, self.enabled.rev2) {
            (Some(r), _) if r.is_empty() => Some(vec![SearchReturn::All]),
            (Some(r), _) => Some(r.clone()),
            (None, true) => Some(vec![SearchReturn::All]),
            (None, false) => None,
        };
        let Some(returns) = returns else {
            let mut line = String::from("* SEARCH");
            for n in &numbers {
                line.push_str(&format!(" {n}"));
            }
            if modseq && let Some(m) = self.highest_modseq(mailbox, &found)? {
                line.push_str(&format!(" (MODSEQ {m})"));
            }
            self.line(&line);
            return Ok(Done::ok("SEARCH done"));
        };
        // The messages the client is told of: saved for `$` (RFC 5182 2.1), and
        // the ones whose modseq counts (RFC 4731 3.2).
        let result = reported(&returns, &found);
        if returns.contains(&SearchReturn::Save) {
            view.saved = result.clone();
            if returns.iter().all(|r| *r == SearchReturn::Save) {
                return Ok(Done::ok("SEARCH done, result saved"));
            }
        }
        let highest = match modseq {
            true => self.highest_modseq(mailbox, &result)?,
            false => None,
        };
        let line = esearch_line(
            &tag_correlator(tag),
            search.uid,
            &returns,
            &numbers,
            highest,
        );
        self.line(&line);
        Ok(Done::ok("SEARCH done"))
    }

    /// Refuses a charset other than UTF-8 and US-ASCII (RFC 9051 6.4.4).
    pub(super) fn check_charset(&self, charset: Option<&str>) -> Result<(), Done> {
        match charset {
            Some(c) if !CHARSETS.iter().any(|known| known.eq_ignore_ascii_case(c)) => {
                Err(Done::no(format!("charset {c} is not supported"))
                    .code(format!("BADCHARSET ({})", CHARSETS.join(" "))))
            }
            _ => Ok(()),
        }
    }

    /// The UIDs of the selected mailbox's messages that match `key`, ascending.
    /// Shared by SEARCH, SORT and THREAD.
    ///
    /// A big mailbox is searched a chunk of messages at a time, and the client is
    /// told how far it got (RFC 9585 INPROGRESS) every so often.
    pub(super) fn matching(
        &mut self,
        tag: &str,
        charset: Option<&str>,
        key: &Key,
    ) -> Result<Vec<Uid>, Done> {
        self.check_charset(charset)?;
        if uses_modseq(key) {
            self.enable_condstore();
        }
        let view = self.view()?;
        let recent: Vec<Uid> = view
            .uids()
            .iter()
            .copied()
            .filter(|u| view.is_recent(*u))
            .collect();
        let key = convert(key, view, &recent);
        let mailbox = view.mailbox;
        // Messages not yet announced (EXISTS) are not the client's to see: only
        // the view's UIDs are searched.
        let chunks: Vec<(RangeInclusive<Uid>, u32)> = view
            .uids()
            .chunks(self.settings.progress.chunk.max(1))
            .map(|c| (c[0]..=c[c.len() - 1], c.len() as u32))
            .collect();
        let total = view.len();
        let (mut found, mut done) = (Vec::new(), 0);
        let mut told = Instant::now();
        for (range, size) in chunks {
            let chunk = SearchKey::And(vec![key.clone(), SearchKey::Uids(vec![range])]);
            found.extend(self.with_account(|a| a.search(mailbox, &chunk))?);
            done += size;
            if done < total && told.elapsed() >= self.settings.progress.every {
                self.line(&format!(
                    "* OK [INPROGRESS (\"{tag}\" {done} {total})] still searching"
                ));
                self.send_now();
                told = Instant::now();
            }
        }
        let view = self.view()?;
        found.retain(|u| view.seq_of(*u).is_some());
        Ok(found)
    }

    /// The highest modseq among these messages of `mailbox`.
    pub(super) fn highest_modseq(
        &self,
        mailbox: MailboxId,
        uids: &[Uid],
    ) -> Result<Option<i64>, Done> {
        let metas = self.with_account(|a| a.messages_by_uid(mailbox, uids))?;
        Ok(metas.iter().map(|m| m.modseq).max())
    }
}
