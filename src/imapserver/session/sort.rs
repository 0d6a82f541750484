//! SORT and THREAD (RFC 5256), ESORT (RFC 5267) and SORT=DISPLAY (RFC 5957): the
//! messages SEARCH would find, ordered or threaded by what their header sections
//! say (`crate::imap::sort` and `crate::imap::thread` hold the algorithms).

use super::search::{esearch_line, tag_correlator};
use super::{Done, Outcome, Session};
use crate::imap::sort::{SortFields, sort};
use crate::imap::thread::{ThreadMessage, thread};
use crate::imap::{SearchReturn, Sort, Thread};
use crate::store::MessageMeta;

impl Session {
    pub(super) fn sort(&mut self, tag: &str, command: &Sort) -> Outcome {
        let headers = self.matching_headers(tag, &command.charset, &command.key, command.uid)?;
        let fields: Vec<SortFields> = headers
            .iter()
            .map(|(meta, number, header)| {
                SortFields::from_header(*number, header, meta.internal_date, meta.size)
            })
            .collect();
        let sorted = sort(&fields, &command.criteria);
        if let Some(returns) = &command.returns
            && returns.contains(&SearchReturn::Save)
        {
            // RFC 5182 2.4: SORT saves its matches like SEARCH (as a set).
            let view = self.selected.as_mut().expect("matching checked it");
            view.saved = headers.iter().map(|(m, _, _)| m.uid).collect();
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
        let headers = self.matching_headers(tag, &command.charset, &command.key, command.uid)?;
        let messages: Vec<ThreadMessage> = headers
            .iter()
            .map(|(meta, number, header)| {
                ThreadMessage::from_header(*number, header, meta.internal_date)
            })
            .collect();
        let mut line = b"* THREAD ".to_vec();
        thread(&messages, command.algorithm).encode(&mut line);
        self.line(String::from_utf8_lossy(&line).trim_end());
        Ok(Done::ok("THREAD done"))
    }

    /// The messages matching `key`, each with the number to answer with (UID for
    /// UID SORT/THREAD, else sequence number) and its header section.
    fn matching_headers(
        &mut self,
        tag: &str,
        charset: &str,
        key: &crate::imap::SearchKey,
        uid: bool,
    ) -> Result<Vec<(MessageMeta, u32, Vec<u8>)>, Done> {
        let found = self.matching(tag, Some(charset), key)?;
        let mailbox = self.view()?.mailbox;
        let read = self.with_account(|a| {
            let metas = a.messages_by_uid(mailbox, &found)?;
            metas
                .into_iter()
                .map(|m| {
                    let header = a.header(m.id)?;
                    Ok((m, header))
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let view = self.view()?;
        Ok(read
            .into_iter()
            .filter_map(|(m, header)| {
                let number = match uid {
                    true => m.uid,
                    false => view.seq_of(m.uid)?,
                };
                Some((m, number, header))
            })
            .collect())
    }
}
