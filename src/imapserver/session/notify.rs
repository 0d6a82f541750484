//! NOTIFY (RFC 5465): the client names mailboxes and the events it wants to hear of,
//! and is told of them after each command and during IDLE: STATUS for messages
//! arriving, going or changing in mailboxes other than the selected one, LIST for
//! mailboxes created, renamed, deleted or (un)subscribed, METADATA for annotations,
//! and the fetch attributes it asked for with each new message of the selected one.
//!
//! The selected mailbox keeps the usual EXISTS, EXPUNGE and FETCH responses whatever
//! the setting (with NOTIFY NONE too): clients rely on them. Per-message
//! annotations do not exist here, so AnnotationChange is refused with BADEVENT.

use std::collections::{BTreeMap, BTreeSet};

use super::metadata::full_name;
use super::{Done, Outcome, Session};
use crate::imap::{Event, EventGroup, FetchItem, MailboxFilter, NotifySet, StatusItem};
use crate::store::{Change, ChangeSet, MailboxId, SEPARATOR, Uid};

/// The events gannet can tell, as BADEVENT lists them (RFC 5465 5).
const SUPPORTED: &str = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange";

/// A NOTIFY SET in force, with the mailbox names in the store's form.
pub(super) struct Notify {
    groups: Vec<EventGroup>,
    pending: Pending,
}

/// What happened that has not been told yet.
#[derive(Default)]
struct Pending {
    /// Mailboxes whose messages changed; `true` when flags changed.
    status: BTreeMap<MailboxId, bool>,
    /// LIST responses to make: (store name, attributes, old name when renamed),
    /// and whether the change is of a subscription.
    names: Vec<(String, &'static str, Option<String>, bool)>,
    /// Annotations changed: the mailbox (`None` for the server) and entry names.
    metadata: Vec<(Option<MailboxId>, String)>,
}

impl Notify {
    /// Takes in a committed change set, apart from the selected mailbox's message
    /// changes (the view tells those).
    pub(super) fn take_in(&mut self, set: &ChangeSet, selected: Option<MailboxId>) {
        let pending = &mut self.pending;
        for change in &set.changes {
            match change {
                Change::Added { mailbox, .. } | Change::Expunged { mailbox, .. }
                    if Some(*mailbox) != selected =>
                {
                    pending.status.entry(*mailbox).or_insert(false);
                }
                Change::FlagsChanged { mailbox, .. } if Some(*mailbox) != selected => {
                    pending.status.insert(*mailbox, true);
                }
                Change::MailboxCreated { name, .. } => {
                    pending.names.push((name.clone(), "", None, false));
                }
                Change::MailboxRenamed { old, new, .. } => {
                    pending
                        .names
                        .push((new.clone(), "", Some(old.clone()), false));
                }
                Change::MailboxDeleted { name, .. } => {
                    pending
                        .names
                        .push((name.clone(), "\\NonExistent", None, false));
                }
                Change::Subscribed { name, subscribed } => {
                    let attrs = if *subscribed { "\\Subscribed" } else { "" };
                    pending.names.push((name.clone(), attrs, None, true));
                }
                Change::AnnotationChanged {
                    mailbox,
                    entry,
                    private,
                } if mailbox.is_none() || *mailbox != selected => {
                    pending
                        .metadata
                        .push((*mailbox, full_name(*private, entry)));
                }
                _ => {}
            }
        }
    }

    /// The group whose filter takes mailbox `name` first, for a mailbox that is not
    /// the selected one (RFC 5465 6: the first that matches applies).
    fn group_for(&self, name: &str, subscribed: &BTreeSet<String>) -> Option<&EventGroup> {
        self.groups
            .iter()
            .find(|g| takes(&g.filter, name, subscribed, None))
    }

    /// The fetch attributes to send with each new message of the selected mailbox.
    pub(super) fn new_message_items(&self) -> Option<&[FetchItem]> {
        self.groups
            .iter()
            .filter(|g| g.filter.is_selected())
            .flat_map(|g| &g.events)
            .find_map(|e| match e {
                Event::MessageNew(items) if !items.is_empty() => Some(items.as_slice()),
                _ => None,
            })
    }
}

/// Whether `filter` (of NOTIFY or ESEARCH IN) takes mailbox `name`; `selected` is
/// the selected mailbox's name.
pub(super) fn takes(
    filter: &MailboxFilter,
    name: &str,
    subscribed: &BTreeSet<String>,
    selected: Option<&str>,
) -> bool {
    let below = |root: &String| {
        name.strip_prefix(root.as_str())
            .and_then(|rest| rest.strip_prefix(SEPARATOR))
    };
    match filter {
        MailboxFilter::Selected | MailboxFilter::SelectedDelayed => selected == Some(name),
        // The store spells it "Inbox"; IMAP names it INBOX in any case.
        MailboxFilter::Inboxes => name.eq_ignore_ascii_case("INBOX"),
        MailboxFilter::Personal => true,
        MailboxFilter::Subscribed => subscribed.contains(name),
        MailboxFilter::Subtree(roots) => roots.iter().any(|r| name == r || below(r).is_some()),
        MailboxFilter::SubtreeOne(roots) => roots
            .iter()
            .any(|r| name == r || below(r).is_some_and(|rest| !rest.contains(SEPARATOR))),
        MailboxFilter::Mailboxes(names) => names.iter().any(|n| n == name),
    }
}

/// Whether a group asks for message events, and for flag changes.
fn message_events(group: &EventGroup) -> (bool, bool) {
    let has = |e: &Event| group.events.iter().any(|g| g == e);
    let new = group
        .events
        .iter()
        .any(|e| matches!(e, Event::MessageNew(_)));
    (new || has(&Event::MessageExpunge), has(&Event::FlagChange))
}

/// The problem with a NOTIFY SET's events (RFC 5465 5), as a BAD or a NO.
fn check(set: &NotifySet) -> Result<(), Done> {
    if set.groups.iter().filter(|g| g.filter.is_selected()).count() > 1 {
        return Err(Done::bad(
            "only one selected or selected-delayed group may be given",
        ));
    }
    let mut unsupported = false;
    for group in &set.groups {
        let is_selected = group.filter.is_selected();
        let new = group
            .events
            .iter()
            .any(|e| matches!(e, Event::MessageNew(_)));
        let expunge = group.events.contains(&Event::MessageExpunge);
        let flags = group.events.contains(&Event::FlagChange);
        if new != expunge || (flags && !new) {
            return Err(Done::bad(
                "MessageNew and MessageExpunge go together, and FlagChange needs both",
            ));
        }
        for event in &group.events {
            match event {
                Event::MessageNew(items) if !items.is_empty() && !is_selected => {
                    return Err(Done::bad(
                        "MessageNew takes fetch attributes for the selected mailbox only",
                    ));
                }
                Event::MailboxName
                | Event::SubscriptionChange
                | Event::MailboxMetadataChange
                | Event::ServerMetadataChange
                    if is_selected =>
                {
                    return Err(Done::bad("the selected mailbox takes message events only"));
                }
                Event::AnnotationChange | Event::Other(_) => unsupported = true,
                _ => {}
            }
        }
    }
    match unsupported {
        true => {
            Err(Done::no("an event asked for is not supported")
                .code(format!("BADEVENT ({SUPPORTED})")))
        }
        false => Ok(()),
    }
}

impl Session {
    pub(super) fn notify(&mut self, set: Option<NotifySet>) -> Outcome {
        self.authenticated()?;
        let Some(set) = set else {
            self.notify = None;
            return Ok(Done::ok("NOTIFY NONE done"));
        };
        check(&set)?;
        let mut groups = set.groups;
        for group in &mut groups {
            self.filter_store_names(&mut group.filter)?;
        }
        // Changes before now are not news for the new setting: the selected view
        // takes them in as usual, or (with nothing selected) no one needs them.
        match self.selected.is_some() {
            true => self.sync_view("NOTIFY"),
            false => self.drain_feed(),
        }
        let notify = Notify {
            groups,
            pending: Pending::default(),
        };
        if set.status {
            self.status_now(&notify)?;
        }
        self.notify = Some(notify);
        Ok(Done::ok("NOTIFY done"))
    }

    /// The mailbox names of a filter as the store has them.
    pub(super) fn filter_store_names(&self, filter: &mut MailboxFilter) -> Result<(), Done> {
        if let MailboxFilter::Subtree(names)
        | MailboxFilter::SubtreeOne(names)
        | MailboxFilter::Mailboxes(names) = filter
        {
            for name in names.iter_mut() {
                *name = self.store_name(name)?;
            }
        }
        Ok(())
    }

    /// Drops the changes waiting on the feed.
    fn drain_feed(&mut self) {
        if let Some(auth) = self.auth.as_mut() {
            while !matches!(
                auth.changes.try_recv(),
                Err(tokio::sync::broadcast::error::TryRecvError::Empty
                    | tokio::sync::broadcast::error::TryRecvError::Closed)
            ) {}
        }
    }

    /// NOTIFY SET STATUS: the state of every mailbox whose messages the client
    /// follows, but the selected one.
    fn status_now(&mut self, notify: &Notify) -> Result<(), Done> {
        let (mailboxes, subscribed) =
            self.with_account(|a| Ok((a.mailboxes()?, a.subscriptions()?.into_iter().collect())))?;
        let selected = self.selected.as_ref().map(|v| v.mailbox);
        for m in mailboxes.iter().filter(|m| Some(m.id) != selected) {
            if let Some(group) = notify.group_for(&m.name, &subscribed) {
                let (message, flags) = message_events(group);
                if message {
                    let line = self.status_line(m, &status_items(flags))?;
                    self.line(&line);
                }
            }
        }
        Ok(())
    }

    /// Tells what happened since the last command (or during IDLE).
    pub(super) fn flush_notify(&mut self) {
        let Some(mut notify) = self.notify.take() else {
            return;
        };
        let pending = std::mem::take(&mut notify.pending);
        if let Err(e) = self.tell(&notify, pending) {
            tracing::warn!(error = e.text, "telling NOTIFY events failed");
        }
        self.notify = Some(notify);
    }

    fn tell(&mut self, notify: &Notify, pending: Pending) -> Result<(), Done> {
        let subscribed: BTreeSet<String> =
            self.with_account(|a| Ok(a.subscriptions()?.into_iter().collect()))?;
        for (id, flags_changed) in pending.status {
            let Ok(m) = self.with_account(|a| a.mailbox_by_id(id)) else {
                continue; // deleted meanwhile: its LIST tells
            };
            let Some(group) = notify.group_for(&m.name, &subscribed) else {
                continue;
            };
            let (message, flags) = message_events(group);
            if message && (!flags_changed || flags) {
                let line = self.status_line(&m, &status_items(flags))?;
                self.line(&line);
            }
        }
        for (name, attrs, old, subscription) in pending.names {
            let event = match subscription {
                true => Event::SubscriptionChange,
                false => Event::MailboxName,
            };
            let wanted = notify
                .group_for(&name, &subscribed)
                .is_some_and(|g| g.events.contains(&event));
            if !wanted {
                continue;
            }
            let mut line = format!("* LIST ({attrs}) \"/\" {}", self.name_value(&name));
            if let Some(old) = old {
                line.push_str(&format!(" (\"OLDNAME\" ({}))", self.name_value(&old)));
            }
            self.line(&line);
        }
        for (mailbox, entry) in pending.metadata {
            // With ENABLE METADATA and a mailbox selected, the view tells server
            // annotations already.
            let told_by_view = self.enabled.metadata && self.selected.is_some();
            let shown = match mailbox {
                None if !told_by_view
                    && notify
                        .groups
                        .iter()
                        .any(|g| g.events.contains(&Event::ServerMetadataChange)) =>
                {
                    "\"\"".to_string()
                }
                None => continue,
                Some(id) => {
                    let Ok(m) = self.with_account(|a| a.mailbox_by_id(id)) else {
                        continue;
                    };
                    let wanted = notify
                        .group_for(&m.name, &subscribed)
                        .is_some_and(|g| g.events.contains(&Event::MailboxMetadataChange));
                    if !wanted {
                        continue;
                    }
                    self.name_value(&m.name)
                }
            };
            let entry = super::metadata::entry_value(&entry);
            self.line(&format!("* METADATA {shown} {entry}"));
        }
        Ok(())
    }

    /// MessageNew's fetch attributes for messages that just arrived in the selected
    /// mailbox.
    pub(super) fn notify_new_messages(&mut self, uids: &[Uid]) {
        let Some(items) = self
            .notify
            .as_ref()
            .and_then(Notify::new_message_items)
            .map(<[FetchItem]>::to_vec)
        else {
            return;
        };
        if let Err(e) = self.fetch_now(uids, items) {
            tracing::warn!(error = e.text, "fetching for NOTIFY MessageNew failed");
        }
    }

    /// The feed dropped changes: NOTIFY cannot tell them all (RFC 5465 5.8), so it
    /// stops, and the client is told.
    pub(super) fn notify_overflow(&mut self) {
        if self.notify.take().is_some() {
            self.line("* OK [NOTIFICATIONOVERFLOW] too many changes at once; NOTIFY is off");
        }
    }
}

/// The STATUS items NOTIFY tells (RFC 5465 5.1): HIGHESTMODSEQ when flag changes
/// are followed.
fn status_items(flags: bool) -> Vec<StatusItem> {
    let mut items = vec![
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
    ];
    if flags {
        items.push(StatusItem::HighestModSeq);
    }
    items
}
