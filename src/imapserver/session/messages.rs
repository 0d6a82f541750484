//! Commands that change messages of the selected mailbox: STORE, COPY, MOVE
//! (RFC 6851), EXPUNGE and UID EXPUNGE (RFC 4315), CLOSE and UNSELECT.

use super::view::{fetch_response, flag_list, mailbox_flags};
use super::{Done, Outcome, Session, lock};
use crate::imap::{AppendMessage, Flag, SeqNumber, SequenceSet, Store, StoreAction};
use crate::store::{FlagOp, Flags, SearchKey, Uid};

/// Splits IMAP flags into the store's system flags and keywords. `\Recent` and
/// unknown `\` flags cannot be set.
pub(super) fn store_flags(flags: &[Flag]) -> Result<(Flags, Vec<String>), Done> {
    let mut system = Flags::default();
    let mut keywords = Vec::new();
    for flag in flags {
        system = system.union(match flag {
            Flag::Seen => Flags::SEEN,
            Flag::Answered => Flags::ANSWERED,
            Flag::Flagged => Flags::FLAGGED,
            Flag::Deleted => Flags::DELETED,
            Flag::Draft => Flags::DRAFT,
            Flag::Keyword(k) => {
                keywords.push(k.clone());
                continue;
            }
            Flag::Recent => return Err(Done::bad("\\Recent cannot be set")),
            Flag::Extension(name) => {
                return Err(Done::bad(format!(
                    "\\{name} is not a flag this server knows"
                )));
            }
        });
    }
    Ok((system, keywords))
}

/// UIDs as a compact sequence set (`1:3,7`), for COPYUID and the like; empty for
/// none.
pub(super) fn uid_set(uids: &[Uid]) -> String {
    crate::imap::sort::sequence_set(uids).unwrap_or_default()
}

impl Session {
    /// The refusal for changing a mailbox opened with EXAMINE.
    fn writable(&self) -> Result<(), Done> {
        match self.view()?.read_only {
            true => Err(Done::no("the mailbox is open read-only (EXAMINE)").code("READ-ONLY")),
            false => Ok(()),
        }
    }

    pub(super) fn store(&mut self, store: &Store) -> Outcome {
        self.writable()?;
        let (flags, keywords) = store_flags(&store.flags)?;
        if store.unchanged_since.is_some() {
            self.enable_condstore();
        }
        let (condstore, uidonly) = (self.enabled.condstore, self.enabled.uidonly);
        let view = self.view()?;
        let mailbox = view.mailbox;
        let uids = view.resolve(&store.set, store.uid)?;
        let op = match store.action {
            StoreAction::Replace => FlagOp::Replace,
            StoreAction::Add => FlagOp::Add,
            StoreAction::Remove => FlagOp::Remove,
        };
        let unchanged_since = store.unchanged_since.map(|m| m as i64);
        let (result, current) = self.with_account(|a| {
            let result = a.set_flags(mailbox, &uids, op, flags, &keywords, unchanged_since)?;
            let current = match store.silent {
                // RFC 7162 3.1.3: even .SILENT tells the new modseqs.
                true if condstore => result.changed.clone(),
                true => Vec::new(),
                false => a.messages_by_uid(mailbox, &uids)?,
            };
            Ok((result, current))
        })?;
        let view = self.selected.as_mut().expect("checked above");
        if store.silent {
            for m in &result.changed {
                view.changed_silently(m);
            }
        }
        let mut lines = Vec::new();
        let new_keywords: Vec<String> = result
            .changed
            .iter()
            .flat_map(|m| m.keywords.iter())
            .filter(|k| !view.keywords().contains(*k))
            .cloned()
            .collect();
        if !new_keywords.is_empty() {
            view.add_keywords(new_keywords);
            lines.push(format!("* FLAGS {}", mailbox_flags(view.keywords())));
        }
        for m in &current {
            let Some(seq) = view.seq_of(m.uid) else {
                continue;
            };
            // Messages that failed UNCHANGEDSINCE are told in MODIFIED instead.
            if result.modified.contains(&m.uid) {
                continue;
            }
            let mut items = Vec::new();
            if !store.silent {
                let list = flag_list(m.flags, &m.keywords, view.is_recent(m.uid));
                items.push(format!("FLAGS {list}"));
            }
            if condstore {
                items.push(format!("MODSEQ ({})", m.modseq));
            }
            // Once CONDSTORE is on, every FETCH a STORE causes has UID and MODSEQ
            // (RFC 7162 3.2.4).
            let with_uid = store.uid || condstore;
            let items = items.join(" ");
            lines.push(fetch_response(uidonly, seq, m.uid, with_uid, &items));
            if !store.silent {
                view.told(m.uid, m.modseq);
            }
        }
        for l in lines {
            self.line(&l);
        }
        if !result.modified.is_empty() {
            let set = match store.uid {
                true => uid_set(&result.modified),
                false => {
                    let view = self.view()?;
                    let seqs: Vec<u32> = result
                        .modified
                        .iter()
                        .filter_map(|u| view.seq_of(*u))
                        .collect();
                    uid_set(&seqs)
                }
            };
            return Ok(Done::ok("conditional STORE done").code(format!("MODIFIED {set}")));
        }
        Ok(Done::ok("STORE done"))
    }

    /// COPY, or MOVE when `remove`.
    pub(super) fn copy(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        target: &str,
        remove: bool,
    ) -> Outcome {
        if remove {
            self.writable()?;
        }
        let view = self.view()?;
        let from = view.mailbox;
        let uids = view.resolve(set, uid)?;
        let store_name = self.store_name(target)?;
        let to = self.target_mailbox(&store_name, target)?;
        let verb = if remove { "MOVE" } else { "COPY" };
        if uids.is_empty() {
            return Ok(Done::ok(format!("{verb} done: no messages")));
        }
        let pairs = self.with_account(|a| match remove {
            true => a.move_messages(from, &uids, to.id),
            false => a.copy(from, &uids, to.id),
        })?;
        if pairs.is_empty() {
            // Expunged by another session meanwhile: nothing to report in COPYUID.
            return Ok(Done::ok(format!(
                "{verb} done: the messages were expunged meanwhile"
            )));
        }
        let (sources, targets): (Vec<Uid>, Vec<Uid>) = pairs.iter().copied().unzip();
        let code = format!(
            "COPYUID {} {} {}",
            to.uid_validity,
            uid_set(&sources),
            uid_set(&targets)
        );
        if !remove {
            return Ok(Done::ok("COPY done").code(code));
        }
        // RFC 6851 3.3: the COPYUID goes in an untagged OK before the expunges.
        self.line(&format!("* OK [{code}] moved"));
        self.report_expunged(&sources);
        Ok(Done::ok("MOVE done"))
    }

    /// REPLACE (RFC 8508): appends `message` to `target` and expunges the message
    /// numbered, in one transaction.
    pub(super) fn replace(
        &mut self,
        uid: bool,
        number: SeqNumber,
        target: &str,
        message: AppendMessage,
    ) -> Outcome {
        self.writable()?;
        self.check_utf8_data(&message)?;
        let view = self.view()?;
        let from = view.mailbox;
        let old = match view.resolve(&SequenceSet::Ranges(vec![(number, number)]), uid)?[..] {
            [old] => old,
            _ => {
                return Err(Done::no("the message to replace does not exist").code("NONEXISTENT"));
            }
        };
        let store_name = self.store_name(target)?;
        let to = self.target_mailbox(&store_name, target)?;
        let (data, new) = super::mailboxes::prepare(message)?;
        let account = self.authenticated()?.login.account.clone();
        // Staged before the account is held, as deliveries are.
        let staged = self
            .services
            .store
            .stage(&account, &data)
            .map_err(Done::from)?;
        let new_uid = self.with_account(|a| a.replace((from, old), to.id, (staged, new)))?;
        // RFC 8508 3.3, as MOVE: the APPENDUID before the expunge.
        self.line(&format!(
            "* OK [APPENDUID {} {new_uid}] replaced",
            to.uid_validity
        ));
        self.report_expunged(&[old]);
        Ok(Done::ok("REPLACE done"))
    }

    /// EXPUNGE, or UID EXPUNGE of the given UIDs only.
    pub(super) fn expunge(&mut self, uids: Option<&SequenceSet>) -> Outcome {
        self.writable()?;
        let only = match uids {
            Some(set) => Some(self.view()?.resolve(set, true)?),
            None => None,
        };
        let expunged = self.expunge_deleted(only)?;
        self.report_expunged(&expunged);
        Ok(Done::ok("EXPUNGE done"))
    }

    /// Expunges the selected mailbox's messages flagged \Deleted (among `only`);
    /// returns their UIDs.
    fn expunge_deleted(&mut self, only: Option<Vec<Uid>>) -> Result<Vec<Uid>, Done> {
        let mailbox = self.view()?.mailbox;
        let auth = self.authenticated()?;
        let expunged = {
            let mut account = lock(&auth.account);
            let mut deleted = account
                .search(mailbox, &SearchKey::Flags(Flags::DELETED, true))
                .map_err(Done::from)?;
            if let Some(only) = only {
                deleted.retain(|u| only.binary_search(u).is_ok());
            }
            account.expunge(mailbox, &deleted).map_err(Done::from)
        }?;
        Ok(expunged)
    }

    /// CLOSE: expunges silently (unless read-only) and deselects.
    pub(super) fn close(&mut self) -> Outcome {
        let read_only = self.view()?.read_only;
        if !read_only {
            self.expunge_deleted(None)?;
        }
        self.selected = None;
        Ok(Done::ok("CLOSE done"))
    }

    pub(super) fn unselect(&mut self) -> Outcome {
        self.view()?;
        self.selected = None;
        Ok(Done::ok("UNSELECT done"))
    }
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
    }
}
