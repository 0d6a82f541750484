//! UIDONLY (RFC 9586): once enabled, the client names messages by UID only, and
//! commands that use message numbers are refused with BAD [UIDREQUIRED]. (The
//! responses' side, UIDFETCH and VANISHED, is where the responses are written.)

use crate::imap::{Command, QResync, SearchKey};

/// What in `command` is a message number, if anything, said for the client.
pub(super) fn message_numbers_in(command: &Command) -> Option<String> {
    let name = command.name();
    let (uid, key) = match command {
        Command::Fetch(f) => (f.uid, None),
        Command::Store(s) => (s.uid, None),
        Command::Copy { uid, .. } | Command::Move { uid, .. } | Command::Replace { uid, .. } => {
            (*uid, None)
        }
        Command::Search(s) | Command::Esearch { search: s, .. } => (s.uid, Some(&s.key)),
        Command::Sort(s) => (s.uid, Some(&s.key)),
        Command::Thread(t) => (t.uid, Some(&t.key)),
        Command::Select {
            qresync: Some(QResync {
                seq_match: Some(_), ..
            }),
            ..
        } => return Some("QRESYNC's message numbers".into()),
        _ => return None,
    };
    if !uid {
        return Some(format!("{name} takes message numbers"));
    }
    key.filter(|k| numbers_in_key(k))
        .map(|_| format!("a message number set in {name}"))
}

/// Whether a search key has a message number set (`1:10`), at any depth.
pub(super) fn numbers_in_key(key: &SearchKey) -> bool {
    match key {
        SearchKey::Sequence(_) => true,
        SearchKey::Not(k) => numbers_in_key(k),
        SearchKey::Or(a, b) => numbers_in_key(a) || numbers_in_key(b),
        SearchKey::And(keys) => keys.iter().any(numbers_in_key),
        _ => false,
    }
}
