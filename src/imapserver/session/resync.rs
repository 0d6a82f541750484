//! CONDSTORE and QRESYNC (RFC 7162): enabling them, and what a client that
//! resynchronizes is told: HIGHESTMODSEQ, VANISHED (EARLIER) and the changed
//! messages' flags.
//!
//! Every change has a modseq and every expunge leaves a tombstone with its modseq,
//! so "what changed since n" is always answered exactly: the seq-match data of
//! SELECT (QRESYNC ...), which helps servers that forget expunges, is accepted and
//! not needed.

use super::view::{fetch_response, flag_list};
use super::{Done, Session, Status};
use crate::imap::{QResync, SeqNumber, SequenceSet};
use crate::store::{Mailbox, MailboxId, ModSeq, Uid};

use super::messages::uid_set;

/// A UID set as a client wrote it, as sorted, merged ranges to look UIDs up in.
/// `*` stands for any UID from the range's other end up: for expunged messages,
/// which may have had UIDs above the largest one left, that is what the client
/// means. `$` is the saved result.
pub(super) struct UidRanges(Vec<(Uid, Uid)>);

impl UidRanges {
    pub(super) fn new(set: &SequenceSet, saved: &[Uid]) -> UidRanges {
        let end = |n: SeqNumber| match n {
            SeqNumber::Number(n) => n,
            SeqNumber::Last => Uid::MAX,
        };
        let mut ranges: Vec<(Uid, Uid)> = match set {
            SequenceSet::Saved => saved.iter().map(|&u| (u, u)).collect(),
            SequenceSet::Ranges(r) => r
                .iter()
                .map(|&(a, b)| (end(a).min(end(b)), end(a).max(end(b))))
                .collect(),
        };
        ranges.sort_unstable();
        let mut merged: Vec<(Uid, Uid)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        UidRanges(merged)
    }

    pub(super) fn contains(&self, uid: Uid) -> bool {
        let i = self.0.partition_point(|&(lo, _)| lo <= uid);
        i > 0 && self.0[i - 1].1 >= uid
    }
}

impl Session {
    /// A CONDSTORE-enabling command (RFC 7162 3.1): from now on the session shows
    /// modseqs. When that happens with a mailbox selected, the client is told the
    /// mailbox's HIGHESTMODSEQ, which it did not get from SELECT.
    pub(super) fn enable_condstore(&mut self) {
        if std::mem::replace(&mut self.enabled.condstore, true) {
            return;
        }
        if let Some(view) = &self.selected {
            let highest = view.highest();
            self.line(&format!(
                "* OK [HIGHESTMODSEQ {highest}] modseqs are shown from now on"
            ));
        }
    }

    /// The tagged OK of EXPUNGE and UID EXPUNGE tells the new HIGHESTMODSEQ once
    /// CONDSTORE is enabled, so the client need not ask (RFC 7162 3.2).
    pub(super) fn expunge_highest(&self, command: &str, done: &mut Done) {
        let expunge = matches!(command, "EXPUNGE" | "UID EXPUNGE");
        if !expunge || !self.enabled.condstore || done.status != Status::Ok || done.code.is_some() {
            return;
        }
        if let Some(view) = &self.selected {
            done.code = Some(format!("HIGHESTMODSEQ {}", view.highest()));
        }
    }

    /// After SELECT (QRESYNC ...) whose UIDVALIDITY matches: the messages expunged
    /// and changed since the client's modseq (RFC 7162 3.2.5).
    pub(super) fn qresync_select(&mut self, q: &QResync, mailbox: &Mailbox) -> Result<(), Done> {
        if q.uid_validity != mailbox.uid_validity {
            return Ok(());
        }
        let since = q.modseq as ModSeq;
        let known_uids = q.known_uids.as_ref().map(|k| UidRanges::new(k, &[]));
        let known = |uid| known_uids.as_ref().is_none_or(|k| k.contains(uid));
        self.vanished_earlier(mailbox.id, since, known)?;
        let changed = self.with_account(|a| a.changed_since(mailbox.id, since))?;
        let view = self.view()?;
        let uidonly = self.enabled.uidonly;
        let lines: Vec<String> = changed
            .iter()
            .filter_map(|m| {
                let seq = view.seq_of(m.uid)?;
                let flags = flag_list(m.flags, &m.keywords, view.is_recent(m.uid));
                let items = format!("FLAGS {flags} MODSEQ ({})", m.modseq);
                Some(fetch_response(uidonly, seq, m.uid, true, &items))
            })
            .collect();
        for l in lines {
            self.line(&l);
        }
        Ok(())
    }

    /// `* VANISHED (EARLIER)` with the UIDs among `wanted` expunged after `since`.
    /// An expunge the view has not told yet is left to its own `* VANISHED`: the
    /// message still has its number until then, and telling it early would shift
    /// the client's numbers ahead of the server's.
    pub(super) fn vanished_earlier(
        &mut self,
        mailbox: MailboxId,
        since: ModSeq,
        wanted: impl Fn(Uid) -> bool,
    ) -> Result<(), Done> {
        let mut gone = self.with_account(|a| a.expunged_since(mailbox, since))?;
        let view = self.view()?;
        gone.retain(|&u| wanted(u) && view.seq_of(u).is_none());
        if !gone.is_empty() {
            self.line(&format!("* VANISHED (EARLIER) {}", uid_set(&gone)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_in_a_uid_set_reaches_past_the_last_uid() {
        let set = SequenceSet::Ranges(vec![
            (SeqNumber::Number(3), SeqNumber::Number(5)),
            (SeqNumber::Last, SeqNumber::Number(100)),
            (SeqNumber::Number(4), SeqNumber::Number(6)),
        ]);
        let ranges = UidRanges::new(&set, &[]);
        assert!(!ranges.contains(2));
        assert!(ranges.contains(4));
        assert!(ranges.contains(6));
        assert!(!ranges.contains(50));
        assert!(ranges.contains(100));
        assert!(ranges.contains(4_000_000_000));
        assert!(UidRanges::new(&SequenceSet::Saved, &[7]).contains(7));
        assert!(!UidRanges::new(&SequenceSet::Saved, &[7]).contains(8));
    }
}
