//! Mailbox commands: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, LIST (with
//! RFC 5258 selection and return options, RFC 5819 STATUS, RFC 6154 special use),
//! LSUB, NAMESPACE, STATUS and APPEND.
//!
//! Names cross here between the client's form (modified UTF-7 until UTF-8 is
//! enabled, `INBOX` in capitals) and the store's (UTF-8, `Inbox`).

use std::collections::BTreeSet;

use super::view::mailbox_flags;
use super::{Done, Outcome, Session, lock};
use crate::imap::encode::astring;
use crate::imap::{
    AppendMessage, List, ListReturn, ListSelect, QResync, StatusItem, decode_mutf7, encode_mutf7,
};
use crate::store::{Flags, Mailbox, NewMessage, SEPARATOR, SpecialUse, StoreError};

/// The store's name for the Inbox (IMAP calls it INBOX).
const STORE_INBOX: &str = "Inbox";

/// One mailbox as LIST shows it.
struct Listed {
    /// The store's name.
    name: String,
    mailbox: Option<Mailbox>,
    subscribed: bool,
    has_children: bool,
    /// RECURSIVEMATCH: a child is subscribed though this one is not selected.
    child_subscribed: bool,
}

impl Session {
    /// The store's name for a mailbox name the client sent.
    pub(super) fn store_name(&self, name: &str) -> Result<String, Done> {
        let decoded = match self.enabled.utf8() {
            true => name.to_string(),
            // A name that is not valid modified UTF-7 names no mailbox that can exist.
            false => decode_mutf7(name)
                .map_err(|e| Done::no(format!("mailbox name {name:?}: {e}")).code("CANNOT"))?,
        };
        let trimmed = decoded.strip_suffix(SEPARATOR).unwrap_or(&decoded);
        Ok(match trimmed.split_once(SEPARATOR) {
            Some((first, rest)) if first.eq_ignore_ascii_case("INBOX") => {
                format!("{STORE_INBOX}{SEPARATOR}{rest}")
            }
            None if trimmed.eq_ignore_ascii_case("INBOX") => STORE_INBOX.to_string(),
            _ => trimmed.to_string(),
        })
    }

    /// The mailbox an APPEND, COPY or MOVE goes to; one that does not exist gets
    /// TRYCREATE (RFC 9051 7.1), so the client may create it and try again.
    pub(super) fn target_mailbox(&self, store_name: &str, name: &str) -> Result<Mailbox, Done> {
        self.with_account(|a| a.mailbox(store_name))
            .map_err(|e| match e.code.as_deref() {
                Some("NONEXISTENT") => {
                    Done::no(format!("mailbox {name:?} does not exist")).code("TRYCREATE")
                }
                _ => e,
            })
    }

    /// The client's name for a mailbox, as the session encodes names.
    pub(super) fn imap_name(&self, store_name: &str) -> String {
        let name = match store_name.split_once(SEPARATOR) {
            Some((STORE_INBOX, rest)) => format!("INBOX{SEPARATOR}{rest}"),
            None if store_name == STORE_INBOX => "INBOX".to_string(),
            _ => store_name.to_string(),
        };
        match self.enabled.utf8() {
            true => name,
            false => encode_mutf7(&name),
        }
    }

    /// A mailbox name written as a response value.
    pub(super) fn name_value(&self, store_name: &str) -> String {
        let mut out = Vec::new();
        astring(&mut out, &self.imap_name(store_name));
        String::from_utf8(out).unwrap_or_default()
    }

    pub(super) fn select(
        &mut self,
        name: &str,
        read_only: bool,
        condstore: bool,
        qresync: Option<&QResync>,
    ) -> Outcome {
        self.authenticated()?;
        if qresync.is_some() && !self.enabled.qresync {
            return Err(Done::bad("SELECT (QRESYNC ...) needs ENABLE QRESYNC first"));
        }
        let had_selected = self.selected.take().is_some();
        // RFC 7162 3.2.11 as well as IMAP4rev2: the responses that follow are the
        // new mailbox's.
        if had_selected && (self.enabled.rev2 || self.enabled.qresync) {
            self.line("* OK [CLOSED] previous mailbox closed");
        }
        if condstore {
            self.enable_condstore();
        }
        let store_name = self.store_name(name)?;
        let (mailbox, messages) = self.open_view(&store_name, read_only)?;
        let view = self.selected.as_ref().expect("just opened");
        let flags = mailbox_flags(view.keywords());
        let permanent = match read_only {
            true => "()".to_string(),
            false => format!("{} \\*)", flags.trim_end_matches(')')),
        };
        let mut lines = vec![
            format!("* FLAGS {flags}"),
            format!("* OK [PERMANENTFLAGS {permanent}] flags that can be changed"),
            format!("* {} EXISTS", view.len()),
        ];
        if !self.enabled.rev2 {
            lines.push(format!("* {} RECENT", view.recent_count()));
            // A message number, which UIDONLY does without (RFC 9586).
            let first_unseen = messages.iter().position(|m| !m.flags.contains(Flags::SEEN));
            if let (false, Some(i)) = (self.enabled.uidonly, first_unseen) {
                lines.push(format!("* OK [UNSEEN {}] first unseen message", i + 1));
            }
        }
        lines.push(format!(
            "* OK [UIDVALIDITY {}] UIDs valid",
            mailbox.uid_validity
        ));
        lines.push(format!(
            "* OK [UIDNEXT {}] predicted next UID",
            mailbox.uid_next
        ));
        lines.push(format!(
            "* OK [MAILBOXID ({})] mailbox id",
            mailbox_id(&mailbox)
        ));
        if self.enabled.condstore {
            lines.push(format!(
                "* OK [HIGHESTMODSEQ {}] highest modseq",
                view.highest()
            ));
        }
        if self.enabled.rev2 {
            lines.push(format!(
                "* LIST () \"/\" {}",
                self.name_value(&mailbox.name)
            ));
        }
        for l in lines {
            self.line(&l);
        }
        if let Some(q) = qresync {
            self.qresync_select(q, &mailbox)?;
        }
        let (code, verb) = match read_only {
            true => ("READ-ONLY", "EXAMINE"),
            false => ("READ-WRITE", "SELECT"),
        };
        Ok(Done::ok(format!("{verb} done")).code(code))
    }

    pub(super) fn create(&mut self, name: &str, special_use: &[String]) -> Outcome {
        let store_name = self.store_name(name)?;
        let role = match special_use {
            [] => None,
            [one] => Some(SpecialUse::from_attribute(one).ok_or_else(|| {
                Done::no(format!("{one} is not a special use this server knows")).code("USEATTR")
            })?),
            _ => return Err(Done::no("a mailbox can have one special use").code("USEATTR")),
        };
        let created = self.with_account(|a| a.create_mailbox(&store_name, role))?;
        Ok(Done::ok("CREATE done").code(format!("MAILBOXID ({})", mailbox_id(&created))))
    }

    pub(super) fn delete(&mut self, name: &str) -> Outcome {
        let store_name = self.store_name(name)?;
        if store_name == STORE_INBOX {
            return Err(Done::no("the INBOX cannot be deleted").code("CANNOT"));
        }
        let mailbox = self.with_account(|a| a.mailbox(&store_name))?;
        self.with_account(|a| a.delete_mailbox(&store_name))?;
        if self
            .selected
            .as_ref()
            .is_some_and(|v| v.mailbox == mailbox.id)
        {
            self.selected = None;
        }
        Ok(Done::ok("DELETE done"))
    }

    /// RENAME; renaming INBOX moves its messages to the new mailbox and leaves it
    /// empty (RFC 9051 6.3.6).
    pub(super) fn rename(&mut self, from: &str, to: &str) -> Outcome {
        let (from, to) = (self.store_name(from)?, self.store_name(to)?);
        if from != STORE_INBOX {
            self.with_account(|a| a.rename_mailbox(&from, &to))?;
            return Ok(Done::ok("RENAME done"));
        }
        self.with_account(|a| {
            let inbox = a.mailbox(STORE_INBOX)?;
            let target = a.create_mailbox(&to, None)?;
            let uids: Vec<_> = a.messages(inbox.id)?.iter().map(|m| m.uid).collect();
            a.move_messages(inbox.id, &uids, target.id)
        })?;
        Ok(Done::ok("RENAME done: the INBOX's messages moved"))
    }

    pub(super) fn subscribe_mailbox(&mut self, name: &str, subscribed: bool) -> Outcome {
        let store_name = self.store_name(name)?;
        if subscribed {
            // Subscribing to a mailbox that does not exist is allowed by RFC 9051
            // 6.3.7, but almost always a typing error.
            self.with_account(|a| a.mailbox(&store_name))?;
        }
        self.with_account(|a| a.set_subscribed(&store_name, subscribed))?;
        Ok(Done::ok(match subscribed {
            true => "SUBSCRIBE done",
            false => "UNSUBSCRIBE done",
        }))
    }

    pub(super) fn namespace(&mut self) -> Outcome {
        self.authenticated()?;
        self.line("* NAMESPACE ((\"\" \"/\")) NIL NIL");
        Ok(Done::ok("NAMESPACE done"))
    }

    pub(super) fn list(&mut self, list: &List) -> Outcome {
        self.authenticated()?;
        if list.patterns.len() == 1 && list.patterns[0].is_empty() && list.selection.is_empty() {
            // The hierarchy delimiter and root (RFC 9051 6.3.9).
            self.line("* LIST (\\Noselect) \"/\" \"\"");
            return Ok(Done::ok("LIST done"));
        }
        let patterns = list
            .patterns
            .iter()
            .filter_map(|p| self.pattern(&list.reference, p))
            .collect::<Vec<_>>();
        let subscribed_only = list.selection.contains(&ListSelect::Subscribed);
        let special_only = list.selection.contains(&ListSelect::SpecialUse);
        let recursive = list.selection.contains(&ListSelect::RecursiveMatch);
        let show_subscribed = subscribed_only || list.returns.contains(&ListReturn::Subscribed);
        // A basic LIST tells about children (as clients expect); an extended one
        // only when asked with RETURN (CHILDREN) (RFC 5258 4).
        let extended = !list.selection.is_empty() || !list.returns.is_empty();
        let show_children = !extended || list.returns.contains(&ListReturn::Children);
        let status = list.returns.iter().find_map(|r| match r {
            ListReturn::Status(items) => Some(items.clone()),
            _ => None,
        });
        let metadata = list.returns.iter().find_map(|r| match r {
            ListReturn::Metadata(entries) => Some(entries.clone()),
            _ => None,
        });
        let listed = self.listed(&patterns, subscribed_only, recursive)?;
        for l in listed {
            let role = l.mailbox.as_ref().and_then(|m| m.special_use);
            if special_only && role.is_none() {
                continue;
            }
            let mut attrs: Vec<&str> = Vec::new();
            match &l.mailbox {
                None if l.subscribed => attrs.push("\\NonExistent"),
                None => attrs.push("\\Noselect"),
                Some(_) => {}
            }
            if show_children {
                attrs.push(match l.has_children {
                    true => "\\HasChildren",
                    false => "\\HasNoChildren",
                });
            }
            if show_subscribed && l.subscribed {
                attrs.push("\\Subscribed");
            }
            // Special-use attributes are always shown (RFC 6154 2 allows it), as
            // clients look for them without asking.
            if let Some(role) = role {
                attrs.push(role.attribute());
            }
            let mut line = format!(
                "* LIST ({}) \"/\" {}",
                attrs.join(" "),
                self.name_value(&l.name)
            );
            if l.child_subscribed {
                line.push_str(" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            self.line(&line);
            if let (Some(items), Some(m)) = (&status, &l.mailbox) {
                let text = self.status_line(m, items)?;
                self.line(&text);
            }
            if let (Some(entries), Some(m)) = (&metadata, &l.mailbox) {
                self.list_metadata(m.id, &l.name, entries)?;
            }
        }
        Ok(Done::ok("LIST done"))
    }

    /// The IMAP4rev1 LSUB: the subscribed mailboxes that match.
    pub(super) fn lsub(&mut self, reference: &str, pattern: &str) -> Outcome {
        self.authenticated()?;
        let patterns: Vec<String> = self.pattern(reference, pattern).into_iter().collect();
        // A level that `%` stops at is listed when something below it is
        // subscribed, as \Noselect when it is not subscribed itself (RFC 3501 6.3.9).
        for l in self.listed(&patterns, true, true)? {
            let attrs = match l.mailbox.is_some() && l.subscribed {
                true => "",
                false => "\\Noselect",
            };
            let line = format!("* LSUB ({attrs}) \"/\" {}", self.name_value(&l.name));
            self.line(&line);
        }
        Ok(Done::ok("LSUB done"))
    }

    /// A LIST pattern in store form: the reference and the pattern joined. `None`
    /// when it is not valid modified UTF-7: it can match no mailbox's name.
    fn pattern(&self, reference: &str, pattern: &str) -> Option<String> {
        let joined = match (reference.is_empty(), pattern.starts_with(SEPARATOR)) {
            (true, _) | (false, true) => pattern.to_string(),
            (false, false) if reference.ends_with(SEPARATOR) => format!("{reference}{pattern}"),
            (false, false) => format!("{reference}{SEPARATOR}{pattern}"),
        };
        let decoded = match self.enabled.utf8() {
            true => joined,
            false => decode_mutf7(&joined).ok()?,
        };
        // INBOX matches in any case.
        Some(match decoded.get(..5) {
            Some(first)
                if first.eq_ignore_ascii_case("INBOX")
                    && matches!(decoded.as_bytes().get(5), None | Some(b'/')) =>
            {
                format!("{STORE_INBOX}{}", &decoded[5..])
            }
            _ => decoded,
        })
    }

    /// The mailboxes (and, with `subscribed_only`, subscriptions) matching any of
    /// `patterns`, INBOX first.
    fn listed(
        &self,
        patterns: &[String],
        subscribed_only: bool,
        recursive: bool,
    ) -> Result<Vec<Listed>, Done> {
        let (mailboxes, subscriptions) =
            self.with_account(|a| Ok((a.mailboxes()?, a.subscriptions()?)))?;
        let subscribed: BTreeSet<&str> = subscriptions.iter().map(String::as_str).collect();
        let matches = |name: &str| patterns.iter().any(|p| pattern_matches(p, name));
        let has_children = |name: &str| {
            let prefix = format!("{name}{SEPARATOR}");
            mailboxes.iter().any(|m| m.name.starts_with(&prefix))
        };
        let mut out = Vec::new();
        let mut names: BTreeSet<&str> = mailboxes.iter().map(|m| m.name.as_str()).collect();
        if subscribed_only {
            names.extend(subscribed.iter().copied());
        }
        for name in names {
            if !matches(name) {
                continue;
            }
            let is_subscribed = subscribed.contains(name);
            let prefix = format!("{name}{SEPARATOR}");
            // CHILDINFO tells of a subscribed child the patterns do not list
            // themselves (RFC 5258 3.5).
            let child_subscribed = recursive
                && !is_subscribed
                && subscribed
                    .iter()
                    .any(|s| s.starts_with(&prefix) && !matches(s));
            if subscribed_only && !is_subscribed && !child_subscribed {
                continue;
            }
            out.push(Listed {
                name: name.to_string(),
                mailbox: mailboxes.iter().find(|m| m.name == name).cloned(),
                subscribed: is_subscribed,
                has_children: has_children(name),
                child_subscribed,
            });
        }
        out.sort_by_key(|l| l.name != STORE_INBOX);
        Ok(out)
    }

    pub(super) fn status(&mut self, name: &str, items: &[StatusItem]) -> Outcome {
        if items.contains(&StatusItem::HighestModSeq) {
            self.enable_condstore();
        }
        let store_name = self.store_name(name)?;
        let mailbox = self.with_account(|a| a.mailbox(&store_name))?;
        let line = self.status_line(&mailbox, items)?;
        self.line(&line);
        Ok(Done::ok("STATUS done"))
    }

    /// `* STATUS name (items)`.
    pub(super) fn status_line(&self, m: &Mailbox, items: &[StatusItem]) -> Result<String, Done> {
        let mut values = Vec::new();
        for item in items {
            let (label, value): (_, u64) = match item {
                StatusItem::MailboxId => {
                    values.push(format!("MAILBOXID ({})", mailbox_id(m)));
                    continue;
                }
                StatusItem::Messages => ("MESSAGES", m.counts.total.into()),
                StatusItem::UidNext => ("UIDNEXT", m.uid_next.into()),
                StatusItem::UidValidity => ("UIDVALIDITY", m.uid_validity.into()),
                StatusItem::Unseen => ("UNSEEN", m.counts.unseen.into()),
                StatusItem::Deleted => ("DELETED", m.counts.deleted.into()),
                StatusItem::Size => ("SIZE", m.counts.size),
                StatusItem::Recent => ("RECENT", self.recent_in(m)?),
                StatusItem::HighestModSeq => ("HIGHESTMODSEQ", m.modseq as u64),
                // RFC 7889 4: the same limit for every mailbox.
                StatusItem::AppendLimit => ("APPENDLIMIT", self.settings.limits.max_literal),
                StatusItem::DeletedStorage => {
                    let bytes = self.with_account(|a| a.deleted_storage(m.id))?;
                    ("DELETED-STORAGE", super::quota::kib(bytes))
                }
            };
            values.push(format!("{label} {value}"));
        }
        Ok(format!(
            "* STATUS {} ({})",
            self.name_value(&m.name),
            values.join(" ")
        ))
    }

    /// How many messages of a mailbox no session has shown as recent yet.
    fn recent_in(&self, m: &Mailbox) -> Result<u64, Done> {
        let auth = self.authenticated()?;
        let first = self
            .services
            .recent
            .first_unclaimed(&auth.login.account, m.id);
        if first >= m.uid_next {
            return Ok(0);
        }
        let messages = lock(&auth.account).messages(m.id).map_err(Done::from)?;
        Ok(messages.iter().filter(|x| x.uid >= first).count() as u64)
    }

    /// APPEND of one message, or MULTIAPPEND of several (RFC 3502): all are
    /// appended, or none.
    pub(super) fn append(&mut self, name: &str, messages: Vec<AppendMessage>) -> Outcome {
        for m in &messages {
            self.check_utf8_data(m)?;
        }
        let store_name = self.store_name(name)?;
        let auth = self.authenticated()?;
        let account_name = auth.login.account.clone();
        let mailbox = self.target_mailbox(&store_name, name)?;
        let count = messages.len();
        let mut prepared = Vec::with_capacity(count);
        for (i, message) in messages.into_iter().enumerate() {
            let message = prepare(message);
            prepared.push(match count {
                1 => message?,
                _ => message.map_err(|e| e.prefixed(&format!("message {}: ", i + 1)))?,
            });
        }
        let uids = match prepared.len() {
            // One message joins concurrent deliveries' transaction.
            1 => {
                let (data, new) = prepared.pop().expect("one");
                vec![
                    self.services
                        .store
                        .deliver(&account_name, &mailbox.name, &data, new)
                        .map_err(Done::from)?,
                ]
            }
            _ => {
                // Staged before the account is held, as deliveries are.
                let staged = prepared
                    .into_iter()
                    .map(|(data, new)| Ok((self.services.store.stage(&account_name, &data)?, new)))
                    .collect::<Result<Vec<_>, StoreError>>()
                    .map_err(Done::from)?;
                self.with_account(|a| a.deliver(mailbox.id, staged))?
            }
        };
        let code = format!(
            "APPENDUID {} {}",
            mailbox.uid_validity,
            super::messages::uid_set(&uids)
        );
        Ok(Done::ok("APPEND done").code(code))
    }
}

impl Session {
    /// APPEND's UTF8 data (RFC 6855 4) is for clients that enabled UTF8=ACCEPT.
    pub(super) fn check_utf8_data(&self, message: &AppendMessage) -> Result<(), Done> {
        match message.utf8 && !self.enabled.utf8_accept {
            true => Err(Done::bad(
                "UTF8 (...) message data needs ENABLE UTF8=ACCEPT first",
            )),
            false => Ok(()),
        }
    }
}

/// A message to append: its bytes and what the store keeps with it.
pub(super) fn prepare(message: AppendMessage) -> Result<(Vec<u8>, NewMessage), Done> {
    if message.data.is_empty() {
        return Err(Done::no("an empty message cannot be appended"));
    }
    let (flags, keywords) = super::messages::store_flags(&message.flags)?;
    let data = message
        .data
        .bytes()
        .map_err(|e| Done::no(format!("reading the message failed: {e}")).code("SERVERBUG"))?
        .into_owned();
    let new = NewMessage {
        flags,
        keywords,
        internal_date: message.date.map(|d| d.unix_timestamp()),
        ..NewMessage::default()
    };
    Ok((data, new))
}

/// A mailbox's objectid (RFC 8474 4): from its row id, which the store never
/// gives again (AUTOINCREMENT) and which RENAME keeps.
pub(super) fn mailbox_id(m: &Mailbox) -> String {
    format!("M{}", m.id.0)
}

/// Whether a LIST pattern (`*` matches anything, `%` anything but the hierarchy
/// separator) matches a name. Dynamic programming over both strings, so a pattern
/// like `*a*a*a*b` cannot take exponential time.
pub(super) fn pattern_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // row[j]: pattern[..i] matches name[..j].
    let mut row = vec![false; n.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        match pc {
            '*' | '%' => {
                let mut reach = false;
                for j in 0..=n.len() {
                    if row[j] {
                        reach = true;
                    }
                    next[j] = reach;
                    if pc == '%' && j < n.len() && n[j] == SEPARATOR {
                        reach = false;
                    }
                }
            }
            c => {
                for j in 0..n.len() {
                    next[j + 1] = row[j] && n[j] == c;
                }
            }
        }
        row = next;
    }
    row[n.len()]
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn list_wildcards() {
        assert!(pattern_matches("*", "a/b/c"));
        assert!(pattern_matches("%", "a"));
        assert!(!pattern_matches("%", "a/b"));
        assert!(pattern_matches("a/%", "a/b"));
        assert!(!pattern_matches("a/%", "a/b/c"));
        assert!(pattern_matches("a*c", "a/b/c"));
        assert!(pattern_matches("a%c", "abc"));
        assert!(!pattern_matches("a%c", "a/c"));
        assert!(pattern_matches("Inbox", "Inbox"));
        assert!(!pattern_matches("Inbox", "Inbox/x"));
        assert!(pattern_matches("", ""));
        assert!(!pattern_matches("", "a"));
        let evil = "*a".repeat(50) + "b";
        assert!(!pattern_matches(&evil, &"a".repeat(200)));
    }
}
