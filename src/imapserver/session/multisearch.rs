//! ESEARCH (RFC 7377 MULTISEARCH): one search over several mailboxes, named with the
//! filters of NOTIFY, answered with an ESEARCH response per mailbox that has
//! matches, by UID, with the mailbox and its UIDVALIDITY in the correlator.

use std::collections::BTreeSet;

use super::notify::takes;
use super::search::{convert, esearch_line, reported, tag_correlator, uses_modseq};
use super::view::View;
use super::{Done, Outcome, Session};
use crate::imap::{MailboxFilter, Search, SearchReturn};
use crate::store::Mailbox;

impl Session {
    pub(super) fn esearch(
        &mut self,
        tag: &str,
        sources: Option<Vec<MailboxFilter>>,
        search: &Search,
    ) -> Outcome {
        let Some(mut sources) = sources else {
            // Without IN: the selected mailbox, as UID SEARCH RETURN (RFC 7377 2).
            let mut search = search.clone();
            search.returns.get_or_insert_with(Vec::new);
            return self.search(tag, &search).map(|_| Done::ok("ESEARCH done"));
        };
        self.authenticated()?;
        if super::uidonly::numbers_in_key(&search.key) {
            return Err(Done::bad(
                "message numbers mean nothing across mailboxes; use UID",
            ));
        }
        let returns = match &search.returns {
            Some(r) if r.contains(&SearchReturn::Save) => {
                return Err(Done::bad(
                    "RETURN (SAVE) is for one mailbox, not ESEARCH IN",
                ));
            }
            Some(r) if !r.is_empty() => r.clone(),
            _ => vec![SearchReturn::All],
        };
        for filter in &mut sources {
            self.filter_store_names(filter)?;
        }
        if uses_modseq(&search.key) {
            self.enable_condstore();
        }
        for m in self.searched_mailboxes(&sources)? {
            self.esearch_one(tag, &m, search, &returns)?;
        }
        Ok(Done::ok("ESEARCH done"))
    }

    /// The mailboxes any of `sources` takes, by name.
    fn searched_mailboxes(&self, sources: &[MailboxFilter]) -> Result<Vec<Mailbox>, Done> {
        let (mailboxes, subscribed) = self.with_account(|a| {
            let subscribed: BTreeSet<String> = a.subscriptions()?.into_iter().collect();
            Ok((a.mailboxes()?, subscribed))
        })?;
        let selected = self.selected.as_ref().map(|v| v.mailbox);
        let selected_name = mailboxes
            .iter()
            .find(|m| Some(m.id) == selected)
            .map(|m| m.name.clone());
        Ok(mailboxes
            .into_iter()
            .filter(|m| {
                sources
                    .iter()
                    .any(|f| takes(f, &m.name, &subscribed, selected_name.as_deref()))
            })
            .collect())
    }

    /// The ESEARCH response for one mailbox, if anything in it matches.
    fn esearch_one(
        &mut self,
        tag: &str,
        m: &Mailbox,
        search: &Search,
        returns: &[SearchReturn],
    ) -> Result<(), Done> {
        self.check_charset(search.charset.as_deref())?;
        let messages = self.with_account(|a| a.messages(m.id))?;
        // A view of its own, read-only, for the UID sets of the keys.
        let view = View::new(m.id, true, &messages, m.modseq);
        let key = convert(&search.key, &view, &[]);
        let found = self.with_account(|a| a.search(m.id, &key))?;
        if found.is_empty() {
            return Ok(());
        }
        let modseq = match uses_modseq(&search.key) {
            true => self.highest_modseq(m.id, &reported(returns, &found))?,
            false => None,
        };
        let correlator = format!(
            "{} MAILBOX {} UIDVALIDITY {}",
            tag_correlator(tag),
            self.name_value(&m.name),
            m.uid_validity
        );
        let line = esearch_line(&correlator, true, returns, &found, modseq);
        self.line(&line);
        Ok(())
    }
}
