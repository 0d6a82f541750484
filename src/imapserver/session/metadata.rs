//! METADATA (RFC 5464) and LIST-METADATA (RFC 9590): annotations of mailboxes and
//! of the server (mailbox ""), private to the account or shared. The store keeps
//! an entry as its name below `/private` or `/shared` and a private flag.
//!
//! An entry asked for that does not exist is answered NIL (as Dovecot does; RFC
//! 5464 leaves it open); those found only through DEPTH are listed when they exist.

use super::{Done, Outcome, Session};
use crate::imap::Depth;
use crate::imap::encode::{astring, nstring};
use crate::store::{Annotation, AnnotationUpdate, MailboxId};

/// A client's entry name as the store keeps it: whether private, and the rest
/// (`/private/comment` is `(true, "/comment")`). RFC 5464 3.2's rules; a broken
/// name is a BAD.
fn split_entry(name: &str) -> Result<(bool, String), Done> {
    let bad = |why: &str| Err(Done::bad(format!("entry {name:?} {why}")));
    let (private, rest) = match (name.strip_prefix("/private"), name.strip_prefix("/shared")) {
        (Some(rest), _) => (true, rest),
        (_, Some(rest)) => (false, rest),
        _ => return bad("does not start with /private/ or /shared/"),
    };
    if rest.len() < 2 || !rest.starts_with('/') {
        return bad("needs a name after /private or /shared");
    }
    if rest.ends_with('/') || rest.contains("//") {
        return bad("has an empty part ('//' or a '/' at the end)");
    }
    if rest.contains(['*', '%']) {
        return bad("has a wildcard ('*' or '%')");
    }
    Ok((private, rest.to_string()))
}

/// An entry name as an astring in a response (names may hold spaces or quotes).
pub(super) fn entry_value(name: &str) -> String {
    let mut out = Vec::new();
    astring(&mut out, name);
    String::from_utf8_lossy(&out).into_owned()
}

/// An entry's name as clients see it.
pub(super) fn full_name(private: bool, entry: &str) -> String {
    let prefix = if private { "/private" } else { "/shared" };
    format!("{prefix}{entry}")
}

/// What a GETMETADATA (or LIST-METADATA) answers for one mailbox: the entries and
/// values, and the size of the largest value left out for MAXSIZE.
struct Answer<'a> {
    entries: Vec<(String, Option<&'a [u8]>)>,
    /// The names in `entries`, so each is listed once however often it is asked.
    named: std::collections::HashSet<String>,
    longest_left_out: Option<usize>,
}

/// The entries of `stored` that `requested` (client names) asks for.
fn answer<'a>(
    stored: &'a [Annotation],
    requested: &[(bool, String)],
    depth: Depth,
    max_size: Option<u64>,
) -> Answer<'a> {
    let mut answer = Answer {
        entries: Vec::new(),
        named: Default::default(),
        longest_left_out: None,
    };
    let mut asked = std::collections::HashSet::new();
    for (private, entry) in requested {
        if !asked.insert((*private, entry)) {
            continue;
        }
        let exact = stored
            .iter()
            .find(|a| a.private == *private && a.entry == *entry);
        let below = format!("{entry}/");
        let found = stored.iter().filter(|a| {
            a.private == *private
                && a.entry
                    .strip_prefix(&below)
                    .is_some_and(|rest| match depth {
                        Depth::Zero => false,
                        Depth::One => !rest.contains('/'),
                        Depth::Infinity => true,
                    })
        });
        let name = full_name(*private, entry);
        match exact {
            Some(a) => answer.add(name, &a.value, max_size),
            None => answer.add_nil(name),
        }
        for a in found {
            answer.add(full_name(a.private, &a.entry), &a.value, max_size);
        }
    }
    answer
}

impl<'a> Answer<'a> {
    fn add(&mut self, name: String, value: &'a [u8], max_size: Option<u64>) {
        if max_size.is_some_and(|max| value.len() as u64 > max) {
            self.longest_left_out = self.longest_left_out.max(Some(value.len()));
        } else if self.named.insert(name.clone()) {
            self.entries.push((name, Some(value)));
        }
    }

    /// An entry asked for that does not exist.
    fn add_nil(&mut self, name: String) {
        if self.named.insert(name.clone()) {
            self.entries.push((name, None));
        }
    }

    /// `* METADATA "mailbox" (entry value ...)`, with its CRLF; nothing when there
    /// is nothing to tell.
    fn response(&self, shown_mailbox: &str) -> Vec<u8> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        let mut out = format!("* METADATA {shown_mailbox} (").into_bytes();
        for (i, (name, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            astring(&mut out, name);
            out.push(b' ');
            nstring(&mut out, *value);
        }
        out.extend_from_slice(b")\r\n");
        out
    }
}

impl Session {
    /// The mailbox a METADATA command names: `None` for the server ("").
    fn metadata_mailbox(&self, name: &str) -> Result<Option<MailboxId>, Done> {
        if name.is_empty() {
            return Ok(None);
        }
        let store_name = self.store_name(name)?;
        Ok(Some(self.with_account(|a| a.mailbox(&store_name))?.id))
    }

    /// How a mailbox (or the server) is named in a METADATA response.
    fn metadata_name(&self, mailbox: &str) -> Result<String, Done> {
        match mailbox.is_empty() {
            true => Ok("\"\"".into()),
            false => Ok(self.name_value(&self.store_name(mailbox)?)),
        }
    }

    pub(super) fn getmetadata(
        &mut self,
        mailbox: &str,
        entries: &[String],
        max_size: Option<u64>,
        depth: Depth,
    ) -> Outcome {
        let requested = entries
            .iter()
            .map(|e| split_entry(e))
            .collect::<Result<Vec<_>, _>>()?;
        let id = self.metadata_mailbox(mailbox)?;
        let stored = self.with_account(|a| a.annotations(id))?;
        let answer = answer(&stored, &requested, depth, max_size);
        let response = answer.response(&self.metadata_name(mailbox)?);
        self.out.extend_from_slice(&response);
        Ok(match answer.longest_left_out {
            // RFC 5464 4.2.1: the size of the largest value left out.
            Some(n) => Done::ok("GETMETADATA done").code(format!("METADATA LONGENTRIES {n}")),
            None => Done::ok("GETMETADATA done"),
        })
    }

    pub(super) fn setmetadata(
        &mut self,
        mailbox: &str,
        values: &[(String, Option<Vec<u8>>)],
    ) -> Outcome {
        let mut updates = Vec::with_capacity(values.len());
        for (name, value) in values {
            let (private, entry) = split_entry(name)?;
            updates.push(AnnotationUpdate {
                entry,
                private,
                value: value.clone(),
            });
        }
        let id = self.metadata_mailbox(mailbox)?;
        let modseq = self.with_account(|a| a.set_annotations(id, &updates))?;
        if let (Some(m), Some(view)) = (modseq, self.selected.as_mut()) {
            view.own_metadata(m);
        }
        Ok(Done::ok("SETMETADATA done"))
    }

    /// LIST-METADATA (RFC 9590): the METADATA response after a mailbox's LIST.
    pub(super) fn list_metadata(
        &mut self,
        id: MailboxId,
        store_name: &str,
        entries: &[String],
    ) -> Result<(), Done> {
        let requested = entries
            .iter()
            .map(|e| split_entry(e))
            .collect::<Result<Vec<_>, _>>()?;
        let stored = self.with_account(|a| a.annotations(Some(id)))?;
        let answer = answer(&stored, &requested, Depth::Zero, None);
        let response = answer.response(&self.name_value(store_name));
        self.out.extend_from_slice(&response);
        Ok(())
    }

    /// Unsolicited METADATA (RFC 5464 4.4, once ENABLE METADATA): which entries of
    /// the selected mailbox and of the server others changed, names only.
    pub(super) fn flush_metadata(&mut self) {
        let Some(view) = self.selected.as_mut() else {
            return;
        };
        let changed = view.take_metadata();
        if !self.enabled.metadata {
            return;
        }
        let selected = view.mailbox;
        for (mailbox, names) in changed {
            let shown = match mailbox {
                None => Ok("\"\"".to_string()),
                Some(_) => self
                    .with_account(|a| a.mailbox_by_id(selected))
                    .map(|m| self.name_value(&m.name)),
            };
            let names: Vec<String> = names.iter().map(|n| entry_value(n)).collect();
            match shown {
                Ok(shown) => self.line(&format!("* METADATA {shown} {}", names.join(" "))),
                Err(e) => tracing::warn!(error = e.text, "naming a mailbox for METADATA"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_follow_rfc_5464() {
        assert_eq!(
            split_entry("/private/comment").unwrap(),
            (true, "/comment".into())
        );
        assert_eq!(
            split_entry("/shared/vendor/x/y").unwrap(),
            (false, "/vendor/x/y".into())
        );
        for bad in [
            "/foo/bar",
            "/shared",
            "/shared/",
            "/sharedcomment",
            "/shared//comment",
            "/shared/comment/",
            "/private/a*",
            "/private/%",
            "comment",
        ] {
            let done = split_entry(bad).unwrap_err();
            assert!(done.text.starts_with(&format!("entry {bad:?}")), "{bad}");
        }
    }
}
