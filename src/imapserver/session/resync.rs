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

/// Whether `uid` is in a UID set as a client wrote it. `*` stands for any UID
/// from the range's other end up: for expunged messages, which may have had UIDs
/// above the largest one left, that is what the client means.
pub(super) fn uid_in(set: &SequenceSet, saved: &[Uid], uid: Uid) -> bool {
    let SequenceSet::Ranges(ranges) = set else {
        return saved.contains(&uid);
    };
    let end = |n: SeqNumber| match n {
        SeqNumber::Number(n) => n,
        SeqNumber::Last => Uid::MAX,
    };
    ranges.iter().any(|&(a, b)| {
        let (a, b) = (end(a), end(b));
        (a.min(b)..=a.max(b)).contains(&uid)
    })
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
        let known = |uid| q.known_uids.as_ref().is_none_or(|k| uid_in(k, &[], uid));
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
    pub(super) fn vanished_earlier(
        &mut self,
        mailbox: MailboxId,
        since: ModSeq,
        wanted: impl Fn(Uid) -> bool,
    ) -> Result<(), Done> {
        let mut gone = self.with_account(|a| a.expunged_since(mailbox, since))?;
        gone.retain(|&u| wanted(u));
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
        ]);
        assert!(!uid_in(&set, &[], 2));
        assert!(uid_in(&set, &[], 4));
        assert!(!uid_in(&set, &[], 50));
        assert!(uid_in(&set, &[], 100));
        assert!(uid_in(&set, &[], 4_000_000_000));
        assert!(uid_in(&SequenceSet::Saved, &[7], 7));
        assert!(!uid_in(&SequenceSet::Saved, &[7], 8));
    }
}
