//! SORT and THREAD (RFC 5256), ESORT (RFC 5267) and SORT=DISPLAY (RFC 5957): the
//! messages SEARCH would find, ordered or threaded by what their header sections
//! say (`crate::imap::sort` and `crate::imap::thread` hold the algorithms).

use super::search::{esearch_line, reported, tag_correlator};
use super::{Done, Outcome, Session};
use crate::imap::sort::{SortFields, sort};
use crate::imap::thread::{ThreadMessage, thread};
use crate::imap::{SearchReturn, Sort, Thread};
use crate::store::MessageMeta;

impl Session {
    pub(super) fn sort(&mut self, tag: &str, command: &Sort) -> Outcome {
        let fields = self.matching_headers(
            tag,
            &command.charset,
            &command.key,
            command.uid,
            |number, meta, header| {
                SortFields::from_header(number, header, meta.internal_date, meta.size)
            },
        )?;
        let sorted = sort(&fields, &command.criteria);
        if let Some(returns) = &command.returns
            && returns.contains(&SearchReturn::Save)
        {
            // RFC 5182 2.4: SORT saves like SEARCH: what MIN, MAX and PARTIAL pick
            // when only those are asked, else all, as UIDs.
            let picked = reported(returns, &sorted);
            let view = self.selected.as_mut().expect("matching checked it");
            view.saved = match command.uid {
                true => picked,
                false => picked
                    .iter()
                    .filter_map(|&seq| view.uids().get(seq as usize - 1).copied())
                    .collect(),
            };
            view.saved.sort_unstable();
            view.saved.dedup();
            if returns.iter().all(|r| *r == SearchReturn::Save) {
                return Ok(Done::ok("SORT done, result saved"));
            }
        }
        let Some(returns) = &command.returns else {
            let mut line = String::from("* SORT");
            for n in &sorted {
                line.push_str(&format!(" {n}"));
            }
            self.line(&line);
            return Ok(Done::ok("SORT done"));
        };
        // ESORT (RFC 5267 3.2): MIN and MAX are the first and last in sort order.
        let returns: &[SearchReturn] = match returns.is_empty() {
            true => &[SearchReturn::All],
            false => returns,
        };
        let correlator = tag_correlator(tag);
        self.line(&esearch_line(
            &correlator,
            command.uid,
            returns,
            &sorted,
            None,
        ));
        Ok(Done::ok("SORT done"))
    }

    pub(super) fn thread(&mut self, tag: &str, command: &Thread) -> Outcome {
        let messages = self.matching_headers(
            tag,
            &command.charset,
            &command.key,
            command.uid,
            |number, meta, header| ThreadMessage::from_header(number, header, meta.internal_date),
        )?;
        let mut line = b"* THREAD ".to_vec();
        thread(&messages, command.algorithm).encode(&mut line);
        self.line(String::from_utf8_lossy(&line).trim_end());
        Ok(Done::ok("THREAD done"))
    }

    /// What `make` takes of each message matching `key`, given the number to
    /// answer with (UID for UID SORT/THREAD, else sequence number), the message and
    /// its header section. Headers are read a batch at a time, and each is made
    /// small at once: the account is not held, nor all headers kept, for the
    /// whole mailbox.
    fn matching_headers<T>(
        &mut self,
        tag: &str,
        charset: &str,
        key: &crate::imap::SearchKey,
        uid: bool,
        make: impl Fn(u32, &MessageMeta, &[u8]) -> T,
    ) -> Result<Vec<T>, Done> {
        let found = self.matching(tag, Some(charset), key)?;
        let mailbox = self.view()?.mailbox;
        let mut out = Vec::with_capacity(found.len());
        for batch in found.chunks(HEADER_BATCH) {
            let read = self.with_account(|a| {
                let metas = a.messages_by_uid(mailbox, batch)?;
                metas
                    .into_iter()
                    .map(|m| Ok((a.header(m.id)?, m)))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            let view = self.view()?;
            for (header, m) in read {
                let number = match uid {
                    true => Some(m.uid),
                    false => view.seq_of(m.uid),
                };
                if let Some(number) = number {
                    out.push(make(number, &m, &header));
                }
            }
        }
        Ok(out)
    }
}

/// Messages whose headers SORT and THREAD read per hold of the account.
const HEADER_BATCH: usize = 200;
