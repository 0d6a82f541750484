//! Random operation sequences against a simple in-memory model: after every step the
//! store and the model agree on every mailbox's messages (UIDs, flags, keywords,
//! bytes) and UIDNEXT, and the consistency check passes.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// Mailbox names the operations pick from (besides the standard ones).
const NAMES: &[&str] = &["Inbox", "Archive", "A", "B", "C"];

#[derive(Debug, Clone)]
enum Op {
    Deliver {
        mailbox: usize,
        count: usize,
    },
    SetFlags {
        mailbox: usize,
        pick: usize,
        op: u8,
        flags: u8,
        keyword: bool,
    },
    Expunge {
        mailbox: usize,
        pick: usize,
    },
    Copy {
        from: usize,
        pick: usize,
        to: usize,
    },
    Move {
        from: usize,
        pick: usize,
        to: usize,
    },
    Create {
        mailbox: usize,
    },
    Delete {
        mailbox: usize,
    },
    Rename {
        from: usize,
        to: usize,
    },
    /// A header search for the Message-ID of content number `content` (modulo those
    /// delivered so far): it reads the full-text index, which lags behind deliveries.
    Search {
        mailbox: usize,
        content: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let mb = 0..NAMES.len();
    prop_oneof![
        4 => (mb.clone(), 1..4usize).prop_map(|(mailbox, count)| Op::Deliver { mailbox, count }),
        3 => (mb.clone(), any::<usize>(), 0..3u8, 0..32u8, any::<bool>())
            .prop_map(|(mailbox, pick, op, flags, keyword)| Op::SetFlags { mailbox, pick, op, flags, keyword }),
        2 => (mb.clone(), any::<usize>()).prop_map(|(mailbox, pick)| Op::Expunge { mailbox, pick }),
        1 => (mb.clone(), any::<usize>(), mb.clone()).prop_map(|(from, pick, to)| Op::Copy { from, pick, to }),
        1 => (mb.clone(), any::<usize>(), mb.clone()).prop_map(|(from, pick, to)| Op::Move { from, pick, to }),
        1 => mb.clone().prop_map(|mailbox| Op::Create { mailbox }),
        1 => mb.clone().prop_map(|mailbox| Op::Delete { mailbox }),
        1 => (mb.clone(), mb.clone()).prop_map(|(from, to)| Op::Rename { from, to }),
        2 => (mb, any::<usize>()).prop_map(|(mailbox, content)| Op::Search { mailbox, content }),
    ]
}

/// A message in the model: its content number (the bytes are derived from it), flags
/// and keywords.
#[derive(Debug, Clone, PartialEq)]
struct ModelMessage {
    content: usize,
    flags: Flags,
    keywords: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct ModelMailbox {
    uid_next: Uid,
    messages: BTreeMap<Uid, ModelMessage>,
}

fn content(n: usize) -> Vec<u8> {
    format!(
        "Message-ID: <{n}@model>\r\nSubject: message {n}\r\n\r\n{}\r\n",
        "body ".repeat(n % 7)
    )
    .into_bytes()
}

struct Harness {
    account: Account,
    model: BTreeMap<String, ModelMailbox>,
    next_content: usize,
}

impl Harness {
    fn mailbox_id(&self, name: &str) -> MailboxId {
        self.account.mailbox(name).unwrap().id
    }

    /// The UID at position `pick` of a mailbox that exists and has messages.
    fn pick(&self, name: &str, pick: usize) -> Option<Uid> {
        let mb = self.model.get(name)?;
        mb.messages
            .keys()
            .nth(pick % mb.messages.len().max(1))
            .copied()
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Deliver { mailbox, count } => {
                let Some(mb) = self.model.get_mut(NAMES[mailbox]) else {
                    return;
                };
                let mut batch = Vec::new();
                for _ in 0..count {
                    let n = self.next_content;
                    self.next_content += 1;
                    batch.push((
                        self.account.stage(&content(n)).unwrap(),
                        NewMessage::default(),
                    ));
                    mb.messages.insert(
                        mb.uid_next,
                        ModelMessage {
                            content: n,
                            flags: Flags::default(),
                            keywords: vec![],
                        },
                    );
                    mb.uid_next += 1;
                }
                let id = self.account.mailbox(NAMES[mailbox]).unwrap().id;
                self.account.deliver(id, batch).unwrap();
            }
            Op::SetFlags {
                mailbox,
                pick,
                op,
                flags,
                keyword,
            } => {
                let Some(uid) = self.pick(NAMES[mailbox], pick) else {
                    return;
                };
                let op = [FlagOp::Add, FlagOp::Remove, FlagOp::Replace][op as usize];
                let keywords: Vec<String> = if keyword {
                    vec!["$label1".into()]
                } else {
                    vec![]
                };
                let m = self
                    .model
                    .get_mut(NAMES[mailbox])
                    .unwrap()
                    .messages
                    .get_mut(&uid)
                    .unwrap();
                let flags = Flags(flags);
                (m.flags, m.keywords) = match op {
                    FlagOp::Add => (m.flags.union(flags), merge(&m.keywords, &keywords)),
                    FlagOp::Remove => (
                        m.flags.without(flags),
                        m.keywords
                            .iter()
                            .filter(|k| !keywords.contains(k))
                            .cloned()
                            .collect(),
                    ),
                    FlagOp::Replace => (flags, keywords.clone()),
                };
                let id = self.mailbox_id(NAMES[mailbox]);
                self.account
                    .set_flags(id, &[uid], op, flags, &keywords, None)
                    .unwrap();
            }
            Op::Expunge { mailbox, pick } => {
                let Some(uid) = self.pick(NAMES[mailbox], pick) else {
                    return;
                };
                self.model
                    .get_mut(NAMES[mailbox])
                    .unwrap()
                    .messages
                    .remove(&uid);
                let id = self.mailbox_id(NAMES[mailbox]);
                assert_eq!(self.account.expunge(id, &[uid]).unwrap(), [uid]);
            }
            Op::Copy { from, pick, to } | Op::Move { from, pick, to } => {
                let moving = matches!(op, Op::Move { .. });
                let Some(uid) = self.pick(NAMES[from], pick) else {
                    return;
                };
                if !self.model.contains_key(NAMES[to]) || (moving && from == to) {
                    return;
                }
                let message = self.model[NAMES[from]].messages[&uid].clone();
                if moving {
                    self.model
                        .get_mut(NAMES[from])
                        .unwrap()
                        .messages
                        .remove(&uid);
                }
                let target = self.model.get_mut(NAMES[to]).unwrap();
                let new_uid = target.uid_next;
                target.messages.insert(new_uid, message);
                target.uid_next += 1;
                let (f, t) = (self.mailbox_id(NAMES[from]), self.mailbox_id(NAMES[to]));
                let pairs = if moving {
                    self.account.move_messages(f, &[uid], t)
                } else {
                    self.account.copy(f, &[uid], t)
                };
                assert_eq!(pairs.unwrap(), [(uid, new_uid)]);
            }
            Op::Create { mailbox } => {
                let result = self.account.create_mailbox(NAMES[mailbox], None);
                match self.model.entry(NAMES[mailbox].to_string()) {
                    std::collections::btree_map::Entry::Occupied(_) => assert!(result.is_err()),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        result.unwrap();
                        v.insert(ModelMailbox {
                            uid_next: 1,
                            ..Default::default()
                        });
                    }
                }
            }
            Op::Delete { mailbox } => {
                let result = self.account.delete_mailbox(NAMES[mailbox]);
                if NAMES[mailbox] == "Inbox" || !self.model.contains_key(NAMES[mailbox]) {
                    assert!(result.is_err());
                } else {
                    result.unwrap();
                    self.model.remove(NAMES[mailbox]);
                }
            }
            Op::Search { mailbox, content } => self.search(NAMES[mailbox], content),
            Op::Rename { from, to } => {
                let result = self.account.rename_mailbox(NAMES[from], NAMES[to]);
                let allowed = NAMES[from] != "Inbox"
                    && self.model.contains_key(NAMES[from])
                    && !self.model.contains_key(NAMES[to]);
                if allowed {
                    result.unwrap();
                    let mb = self.model.remove(NAMES[from]).unwrap();
                    self.model.insert(NAMES[to].to_string(), mb);
                } else {
                    assert!(result.is_err());
                }
            }
        }
    }

    /// Searches as [`Op::Search`] says; the hits are the messages whose Message-ID has
    /// the searched one as a substring (`1@model` is in `11@model`).
    fn search(&self, name: &str, content: usize) {
        let Some(model) = self.model.get(name) else {
            return;
        };
        let wanted = format!("{}@model", content % self.next_content.max(1));
        let hits: Vec<Uid> = model
            .messages
            .iter()
            .filter(|(_, m)| format!("{}@model", m.content).contains(&wanted))
            .map(|(uid, _)| *uid)
            .collect();
        let key = SearchKey::Header("Message-ID".into(), wanted.clone());
        let found = self.account.search(self.mailbox_id(name), &key).unwrap();
        assert_eq!(found, hits, "search for {wanted} in {name}");
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let problems = self.account.verify().unwrap();
        prop_assert!(problems.is_empty(), "inconsistent: {problems:?}");
        for (name, model) in &self.model {
            let mb = self.account.mailbox(name).unwrap();
            prop_assert_eq!(mb.uid_next, model.uid_next, "UIDNEXT of {}", name);
            let stored = self.account.messages(mb.id).unwrap();
            let uids: Vec<Uid> = stored.iter().map(|m| m.uid).collect();
            prop_assert_eq!(
                uids,
                model.messages.keys().copied().collect::<Vec<_>>(),
                "UIDs of {}",
                name
            );
            for m in &stored {
                let want = &model.messages[&m.uid];
                prop_assert_eq!(
                    (m.flags, &m.keywords),
                    (want.flags, &want.keywords),
                    "flags of {} UID {}",
                    name,
                    m.uid
                );
                prop_assert_eq!(self.account.read(m.id).unwrap(), content(want.content));
            }
        }
        Ok(())
    }
}

fn merge(a: &[String], b: &[String]) -> Vec<String> {
    let mut k: Vec<String> = a.iter().chain(b).cloned().collect();
    k.sort();
    k.dedup();
    k
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let account = Account::open(&dir.path().join("a"), "a").unwrap();
        let model = ["Inbox", "Archive"].iter().map(|n| (n.to_string(), ModelMailbox { uid_next: 1, ..Default::default() })).collect();
        let mut h = Harness { account, model, next_content: 0 };
        for op in &ops {
            h.apply(op);
            h.check()?;
        }
    }
}
