//! Store behaviour, with the consistency check after every operation.

use super::*;

fn open() -> (tempfile::TempDir, Account) {
    let dir = tempfile::tempdir().unwrap();
    let account = Account::open(&dir.path().join("alice"), "alice").unwrap();
    assert_consistent(&account);
    (dir, account)
}

fn assert_consistent(account: &Account) {
    let problems = account.verify().unwrap();
    assert!(
        problems.is_empty(),
        "inconsistent store:\n{}",
        problems.join("\n")
    );
}

fn msg(subject: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{subject}@example.org>\r\nSubject: {subject}\r\n\r\nBody of {subject}.\r\n"
    )
    .into_bytes()
}

fn deliver(account: &mut Account, mailbox: &str, messages: &[&[u8]]) -> Vec<Uid> {
    let mb = account.mailbox(mailbox).unwrap().id;
    let staged = messages
        .iter()
        .map(|m| (account.stage(m).unwrap(), NewMessage::default()))
        .collect();
    let uids = account.deliver(mb, staged).unwrap();
    assert_consistent(account);
    uids
}

#[test]
fn a_new_account_has_the_standard_mailboxes_subscribed() {
    let (_dir, account) = open();
    let names: Vec<(String, Option<SpecialUse>)> = account
        .mailboxes()
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.special_use))
        .collect();
    assert_eq!(
        names,
        [
            ("Archive".to_string(), Some(SpecialUse::Archive)),
            ("Drafts".to_string(), Some(SpecialUse::Drafts)),
            ("Inbox".to_string(), None),
            ("Junk".to_string(), Some(SpecialUse::Junk)),
            ("Sent".to_string(), Some(SpecialUse::Sent)),
            ("Trash".to_string(), Some(SpecialUse::Trash)),
        ]
    );
    assert_eq!(account.subscriptions().unwrap().len(), 6);
    let validities: std::collections::HashSet<u32> = account
        .mailboxes()
        .unwrap()
        .iter()
        .map(|m| m.uid_validity)
        .collect();
    assert_eq!(validities.len(), 6, "each mailbox has its own UIDVALIDITY");
}

#[test]
fn delivered_messages_read_back_byte_for_byte_and_are_announced() {
    let (_dir, mut account) = open();
    let mut feed = account.subscribe();
    let (a, b) = (msg("one"), msg("two"));
    assert_eq!(deliver(&mut account, "inbox", &[&a, &b]), [1, 2]);
    let inbox = account.mailbox("Inbox").unwrap();
    assert_eq!(
        (inbox.uid_next, inbox.counts.total, inbox.counts.unseen),
        (3, 2, 2)
    );
    assert_eq!(inbox.counts.size, (a.len() + b.len()) as u64);
    let messages = account.messages(inbox.id).unwrap();
    assert_eq!(account.read(messages[0].id).unwrap(), a);
    assert_eq!(messages[1].message_id, "two@example.org");
    let parsed = account.parsed(messages[1].id).unwrap().unwrap();
    assert_eq!(parsed.subject(), Some("two"));
    let set = feed.try_recv().unwrap();
    assert!(
        matches!(
            &set.changes[..],
            [Change::Added { uid: 1, .. }, Change::Added { uid: 2, .. }]
        ),
        "{set:?}"
    );
    assert_eq!(set.modseq, messages[0].modseq);
}

#[test]
fn flags_follow_add_remove_replace_and_unchangedsince() {
    let (_dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("a"), &msg("b")]);
    let inbox = account.mailbox("Inbox").unwrap().id;
    let kw = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let r = account
        .set_flags(
            inbox,
            &[1, 2],
            FlagOp::Add,
            Flags::SEEN,
            &kw(&["$Forwarded"]),
            None,
        )
        .unwrap();
    assert_eq!(r.changed.len(), 2);
    assert_eq!(r.changed[0].keywords, ["$Forwarded"], "spelling kept");
    // Another spelling is the same keyword: adding it changes nothing, and
    // removing it removes the keyword.
    let r = account
        .set_flags(
            inbox,
            &[1],
            FlagOp::Add,
            Flags::default(),
            &kw(&["$FORWARDED"]),
            None,
        )
        .unwrap();
    assert!(r.changed.is_empty());
    let found = account
        .search(inbox, &SearchKey::Keyword("$FORWARDED".into(), true))
        .unwrap();
    assert_eq!(found, [1, 2]);
    let r = account
        .set_flags(
            inbox,
            &[2],
            FlagOp::Remove,
            Flags::default(),
            &kw(&["$forwarded"]),
            None,
        )
        .unwrap();
    assert!(r.changed[0].keywords.is_empty());
    account
        .set_flags(
            inbox,
            &[2],
            FlagOp::Add,
            Flags::default(),
            &kw(&["$Forwarded"]),
            None,
        )
        .unwrap();
    assert_consistent(&account);
    assert_eq!(account.mailbox("Inbox").unwrap().counts.unseen, 0);
    let before = account.messages(inbox).unwrap()[0].modseq;
    account
        .set_flags(inbox, &[2], FlagOp::Add, Flags::DELETED, &[], None)
        .unwrap();
    let changed = account.changed_since(inbox, before).unwrap();
    let changed: Vec<(Uid, Flags)> = changed.iter().map(|m| (m.uid, m.flags)).collect();
    assert_eq!(
        changed,
        [(2, Flags::SEEN.union(Flags::DELETED))],
        "CHANGEDSINCE sees only UID 2"
    );
    // UID 2 changed after `before`; UID 1 did not.
    let r = account
        .set_flags(
            inbox,
            &[1, 2],
            FlagOp::Remove,
            Flags::SEEN,
            &[],
            Some(before),
        )
        .unwrap();
    assert_eq!(r.modified, [2]);
    assert_eq!(r.changed.iter().map(|m| m.uid).collect::<Vec<_>>(), [1]);
    assert_consistent(&account);
    let r = account
        .set_flags(inbox, &[1], FlagOp::Replace, Flags::FLAGGED, &[], None)
        .unwrap();
    assert_eq!(
        (r.changed[0].flags, r.changed[0].keywords.len()),
        (Flags::FLAGGED, 0)
    );
    let counts = account.mailbox("Inbox").unwrap().counts;
    assert_eq!((counts.unseen, counts.deleted), (1, 1));
    let none = account
        .set_flags(inbox, &[1], FlagOp::Add, Flags::FLAGGED, &[], None)
        .unwrap();
    assert!(none.changed.is_empty(), "no change, no new modseq");
    assert!(
        account
            .set_flags(
                inbox,
                &[1],
                FlagOp::Add,
                Flags::default(),
                &kw(&["two words"]),
                None
            )
            .is_err()
    );
}

#[test]
fn expunge_leaves_tombstones_for_qresync_and_removes_files() {
    let (_dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("a"), &msg("b"), &msg("c")]);
    let inbox = account.mailbox("Inbox").unwrap();
    let doomed = account.messages_by_uid(inbox.id, &[2]).unwrap()[0].id;
    assert_eq!(account.expunge(inbox.id, &[2, 9]).unwrap(), [2]);
    assert_consistent(&account);
    assert!(account.read(doomed).is_err(), "the file is gone");
    assert_eq!(account.expunged_since(inbox.id, inbox.modseq).unwrap(), [2]);
    assert_eq!(
        account
            .messages(inbox.id)
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(account.mailbox("Inbox").unwrap().counts.total, 2);
}

#[test]
fn copy_and_move_assign_new_uids_and_move_expunges_the_source() {
    let (_dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("a"), &msg("b")]);
    let (inbox, archive) = (
        account.mailbox("Inbox").unwrap().id,
        account.mailbox("Archive").unwrap().id,
    );
    account
        .set_flags(inbox, &[2], FlagOp::Add, Flags::FLAGGED, &[], None)
        .unwrap();
    assert_eq!(
        account.copy(inbox, &[2, 1], archive).unwrap(),
        [(1, 1), (2, 2)]
    );
    assert_consistent(&account);
    let copied = account.messages(archive).unwrap();
    assert_eq!(copied[1].flags, Flags::FLAGGED);
    assert_eq!(account.read(copied[0].id).unwrap(), msg("a"));
    assert_eq!(
        account.move_messages(inbox, &[1], archive).unwrap(),
        [(1, 3)]
    );
    assert_consistent(&account);
    assert_eq!(account.mailbox("Inbox").unwrap().counts.total, 1);
    assert_eq!(account.mailbox("Archive").unwrap().counts.total, 3);
    assert_eq!(
        account
            .read(account.messages(archive).unwrap()[2].id)
            .unwrap(),
        msg("a")
    );
}

#[test]
fn mailboxes_create_parents_rename_children_and_refuse_bad_deletes() {
    let (_dir, mut account) = open();
    account.create_mailbox("Lists/rust/announce", None).unwrap();
    assert_consistent(&account);
    assert!(account.mailbox("Lists/rust").is_ok());
    assert!(
        account.create_mailbox("lists/rust", None).is_ok(),
        "names are case-sensitive but Inbox"
    );
    assert!(matches!(
        account.create_mailbox("Lists", None),
        Err(StoreError::MailboxExists(_))
    ));
    deliver(&mut account, "Lists/rust", &[&msg("a")]);
    let validity = account.mailbox("Lists/rust").unwrap().uid_validity;
    account
        .rename_mailbox("Lists/rust", "Archive/2026/rust")
        .unwrap();
    assert_consistent(&account);
    let renamed = account.mailbox("Archive/2026/rust").unwrap();
    assert_eq!((renamed.uid_validity, renamed.counts.total), (validity, 1));
    assert!(account.mailbox("Archive/2026/rust/announce").is_ok());
    assert!(account.mailbox("Lists/rust").is_err());
    assert!(matches!(
        account.delete_mailbox("Archive/2026/rust"),
        Err(StoreError::HasChildren(_))
    ));
    assert!(matches!(
        account.delete_mailbox("INBOX"),
        Err(StoreError::InboxFixed(_))
    ));
    assert!(matches!(
        account.rename_mailbox("Archive", "Archive/x"),
        Err(StoreError::InvalidMailboxName { .. })
    ));
    account
        .delete_mailbox("Archive/2026/rust/announce")
        .unwrap();
    account.delete_mailbox("Archive/2026/rust").unwrap();
    assert_consistent(&account);
    let recreated = account.create_mailbox("Archive/2026/rust", None).unwrap();
    assert_ne!(
        recreated.uid_validity, validity,
        "a new mailbox under an old name gets a new UIDVALIDITY"
    );
}

#[test]
fn quota_refuses_what_does_not_fit() {
    let (_dir, mut account) = open();
    let m = msg("a");
    account.set_quota(Quota {
        bytes: Some(m.len() as u64 + 10),
        messages: None,
    });
    deliver(&mut account, "Inbox", &[&m]);
    let inbox = account.mailbox("Inbox").unwrap().id;
    let staged = vec![(account.stage(&m).unwrap(), NewMessage::default())];
    assert!(matches!(
        account.deliver(inbox, staged),
        Err(StoreError::OverQuota { unit: "bytes", .. })
    ));
    // A limit on messages counts messages, in every mailbox; COPY counts too,
    // MOVE does not add any.
    account.set_quota(Quota {
        bytes: None,
        messages: Some(2),
    });
    let archive = account.mailbox("Archive").unwrap().id;
    account.copy(inbox, &[1], archive).unwrap();
    assert_eq!(
        account.usage().unwrap(),
        Usage {
            bytes: 2 * m.len() as u64,
            messages: 2
        }
    );
    let refused = account.copy(inbox, &[1], archive).err().unwrap();
    assert_eq!(
        refused.to_string(),
        "over quota: 2 of 2 messages used, 1 more needed"
    );
    account.move_messages(inbox, &[1], archive).unwrap();
    let staged = vec![(account.stage(&m).unwrap(), NewMessage::default())];
    assert!(account.deliver(inbox, staged).is_err());
    assert_consistent(&account);
}

#[test]
fn replies_join_their_parents_thread() {
    let (_dir, mut account) = open();
    let parent = msg("parent");
    let reply = b"Message-ID: <r@x>\r\nIn-Reply-To: <parent@example.org>\r\n\r\nreply\r\n".to_vec();
    deliver(&mut account, "Inbox", &[&parent]);
    deliver(&mut account, "Sent", &[&reply]);
    let p = &account
        .messages(account.mailbox("Inbox").unwrap().id)
        .unwrap()[0];
    let r = &account
        .messages(account.mailbox("Sent").unwrap().id)
        .unwrap()[0];
    assert_eq!(r.thread_id, p.thread_id);
}

#[test]
fn reopening_removes_crash_leftovers_and_keeps_committed_mail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice");
    let mut account = Account::open(&path, "alice").unwrap();
    deliver(&mut account, "Inbox", &[&msg("kept")]);
    let staged = account.stage(&msg("lost")).unwrap();
    std::mem::forget(staged); // as if the process died after staging
    std::fs::create_dir_all(path.join("msg/0")).unwrap();
    std::fs::write(path.join("msg/0/999"), b"renamed, never committed").unwrap();
    assert_eq!(account.verify().unwrap().len(), 1, "the orphan is reported");
    drop(account);
    let account = Account::open(&path, "alice").unwrap();
    assert_consistent(&account);
    assert!(
        std::fs::read_dir(path.join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
    let inbox = account.mailbox("Inbox").unwrap().id;
    assert_eq!(
        account
            .read(account.messages(inbox).unwrap()[0].id)
            .unwrap(),
        msg("kept")
    );
}

#[test]
fn repair_fixes_counts_and_expunges_messages_whose_file_is_gone() {
    let (dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("a"), &msg("b")]);
    let inbox = account.mailbox("Inbox").unwrap().id;
    let lost = account.messages(inbox).unwrap()[0].id;
    std::fs::remove_file(dir.path().join("alice/msg/0").join(lost.0.to_string())).unwrap();
    account
        .db
        .execute("UPDATE mailbox SET unseen = 7 WHERE name = 'Inbox'", [])
        .unwrap();
    let problems = account.verify().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    let done = account.repair().unwrap();
    assert!(done.iter().any(|d| d.contains("had no file")), "{done:?}");
    assert_consistent(&account);
    assert_eq!(account.mailbox("Inbox").unwrap().counts.total, 1);
}

#[test]
fn search_combines_flags_sizes_dates_headers_and_text() {
    let (_dir, mut account) = open();
    let a = b"From: Alice <alice@example.org>\r\nSubject: Lunch on Friday\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nShall we try the new noodle place?\r\n";
    let b = b"From: Bob <bob@example.org>\r\nSubject: =?utf-8?q?R=C3=A9union?= notes\r\n\r\nMinutes attached: 50% done_ok.\r\n";
    let c = msg("third");
    deliver(&mut account, "Inbox", &[a, b, &c]);
    let inbox = account.mailbox("Inbox").unwrap().id;
    account
        .set_flags(
            inbox,
            &[2],
            FlagOp::Add,
            Flags::SEEN,
            &["$Important".to_string()],
            None,
        )
        .unwrap();
    let s = |k: SearchKey| account.search(inbox, &k).unwrap();
    let text = |t: &str| t.to_string();
    assert_eq!(s(SearchKey::All), [1, 2, 3]);
    assert_eq!(s(SearchKey::Flags(Flags::SEEN, false)), [1, 3]);
    assert_eq!(s(SearchKey::Keyword(text("$IMPORTANT"), true)), [2]);
    assert_eq!(
        s(SearchKey::Keyword(text("$imp_rtant"), true)),
        Vec::<Uid>::new(),
        "no wildcards"
    );
    assert_eq!(s(SearchKey::Header(text("subject"), text("lunch"))), [1]);
    assert_eq!(
        s(SearchKey::Header(text("Subject"), text("réunion"))),
        [2],
        "encoded words are decoded"
    );
    assert_eq!(s(SearchKey::Header(text("From"), text("alice@"))), [1]);
    assert_eq!(
        s(SearchKey::Header(text("To"), text(""))),
        Vec::<Uid>::new()
    );
    assert_eq!(s(SearchKey::Body(text("NOODLE"))), [1]);
    assert_eq!(
        s(SearchKey::Body(text("50%"))),
        [2],
        "wildcards are literal"
    );
    assert_eq!(s(SearchKey::Body(text("0%_d"))), Vec::<Uid>::new());
    assert_eq!(
        s(SearchKey::Body(text("noodle place"))),
        [1],
        "the words in sequence"
    );
    assert_eq!(
        s(SearchKey::Body(text("noodle noodle"))),
        Vec::<Uid>::new(),
        "every trigram of it is in the body, but not this text"
    );
    assert_eq!(s(SearchKey::Text(text("third"))), [3]);
    assert_eq!(s(SearchKey::Larger(c.len() as u64)), [1, 2]);
    assert_eq!(
        s(SearchKey::Date {
            field: DateField::Sent,
            from: Some(1795305600),
            until: Some(1795392000)
        }),
        [1]
    );
    assert_eq!(
        s(SearchKey::Date {
            field: DateField::Arrived,
            from: None,
            until: Some(0)
        }),
        Vec::<Uid>::new()
    );
    // Saved now, so after the epoch and before tomorrow.
    assert_eq!(
        s(SearchKey::Date {
            field: DateField::Saved,
            from: Some(0),
            until: Some(crate::message::now() + 86_400)
        }),
        [1, 2, 3]
    );
    assert_eq!(s(SearchKey::Uids(vec![2..=3])), [2, 3]);
    let or = SearchKey::Or(
        Box::new(SearchKey::Uids(vec![1..=1])),
        Box::new(SearchKey::Keyword(text("$important"), true)),
    );
    assert_eq!(
        s(SearchKey::And(vec![
            or,
            SearchKey::Not(Box::new(SearchKey::Body(text("noodle"))))
        ])),
        [2]
    );
    let latest = account.messages(inbox).unwrap()[1].modseq;
    assert_eq!(s(SearchKey::ModSeq(latest)), [2]);
}

/// The full-text index's mark and how many messages it holds.
fn index_state(account: &Account) -> (i64, i64) {
    account
        .db
        .query_row(
            "SELECT indexed_through, (SELECT count(*) FROM message_text) FROM account_state",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn text_search_indexes_waiting_messages_first_so_results_are_exact() {
    let (_dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("alpha"), &msg("beta")]);
    let inbox = account.mailbox("Inbox").unwrap().id;
    assert_eq!(
        index_state(&account),
        (0, 0),
        "fewer than a batch wait: not indexed yet"
    );
    assert_eq!(account.search(inbox, &SearchKey::All).unwrap(), [1, 2]);
    assert_eq!(
        index_state(&account),
        (0, 0),
        "nor does a search without text"
    );
    let body = |t: &str| SearchKey::Body(t.to_string());
    assert_eq!(account.search(inbox, &body("of beta")).unwrap(), [2]);
    let newest = account.messages(inbox).unwrap()[1].id.0;
    assert_eq!(index_state(&account), (newest, 2));
    assert_consistent(&account);
    deliver(&mut account, "Inbox", &[&msg("gamma")]);
    let not_gamma = SearchKey::Not(Box::new(SearchKey::Text("gamma".into())));
    assert_eq!(account.search(inbox, &not_gamma).unwrap(), [1, 2]);
    assert_eq!(index_state(&account).1, 3);
}

/// Delivers `count` distinct messages to the Inbox in one call.
fn deliver_many(account: &mut Account, count: i64) {
    let messages: Vec<Vec<u8>> = (0..count).map(|i| msg(&format!("m{i}"))).collect();
    let refs: Vec<&[u8]> = messages.iter().map(|m| &m[..]).collect();
    deliver(account, "Inbox", &refs);
}

#[test]
fn deliveries_index_in_batches_in_proportion_to_their_size() {
    let batch = search::INDEX_BATCH;
    let (_dir, mut account) = open();
    let inbox = account.mailbox("Inbox").unwrap().id;
    let newest = |a: &Account| a.messages(inbox).unwrap().last().unwrap().id.0;
    deliver_many(&mut account, batch - 1);
    assert_eq!(index_state(&account), (0, 0), "below a batch: nothing yet");
    deliver(&mut account, "Inbox", &[&msg("last")]);
    assert_eq!(
        index_state(&account),
        (newest(&account), batch),
        "the delivery that makes a batch indexes it"
    );
    deliver_many(&mut account, 2 * batch + 1);
    assert_eq!(
        index_state(&account).1,
        3 * batch,
        "a large delivery indexes as many batches as it fills"
    );
    assert_eq!(newest(&account) - index_state(&account).0, 1);
}

#[test]
fn copies_and_expunges_keep_the_index_exact() {
    let (_dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("kept"), &msg("gone")]);
    let (inbox, archive) = (
        account.mailbox("Inbox").unwrap().id,
        account.mailbox("Archive").unwrap().id,
    );
    let text = |t: &str| SearchKey::Text(t.to_string());
    assert_eq!(account.search(inbox, &text("kept")).unwrap(), [1]);
    // An indexed message and a waiting one are copied; the waiting one is expunged.
    account.copy(inbox, &[1], archive).unwrap();
    deliver(&mut account, "Inbox", &[&msg("waiting")]);
    account.copy(inbox, &[3], archive).unwrap();
    account.expunge(inbox, &[2, 3]).unwrap();
    assert_consistent(&account);
    assert_eq!(account.search(archive, &text("kept")).unwrap(), [1]);
    assert_eq!(account.search(archive, &text("waiting")).unwrap(), [2]);
    assert_eq!(account.search(inbox, &text("waiting")).unwrap(), [0; 0]);
    assert_eq!(account.search(inbox, &text("gone")).unwrap(), [0; 0]);
    assert_eq!(index_state(&account).1, 3, "no text for expunged messages");
    assert_consistent(&account);
}

#[test]
fn verify_reports_search_text_past_the_mark() {
    let (_dir, mut account) = open();
    deliver(&mut account, "Inbox", &[&msg("early")]);
    let inbox = account.mailbox("Inbox").unwrap().id;
    let id = account.messages(inbox).unwrap()[0].id.0;
    account
        .db
        .execute(
            "INSERT INTO message_text (rowid, headers, body) VALUES (?, '', 'early')",
            [id],
        )
        .unwrap();
    let problems = account.verify().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("past the indexed mark"),
        "{problems:?}"
    );
}

/// One annotation to set (`Some`) or remove (`None`).
fn annotation(entry: &str, private: bool, value: Option<&[u8]>) -> AnnotationUpdate {
    AnnotationUpdate {
        entry: entry.to_string(),
        private,
        value: value.map(<[u8]>::to_vec),
    }
}

#[test]
fn annotations_are_set_replaced_removed_and_announced() {
    let (_dir, mut account) = open();
    let inbox = account.mailbox("Inbox").unwrap();
    let mut feed = account.subscribe();
    let mut set = |mailbox, entry, private, value: Option<&[u8]>| {
        account.set_annotations(mailbox, &[annotation(entry, private, value)])
    };
    set(Some(inbox.id), "/comment", false, Some(b"shared note")).unwrap();
    set(Some(inbox.id), "/comment", true, Some(b"mine")).unwrap();
    set(Some(inbox.id), "/comment", true, Some(b"mine, edited")).unwrap();
    set(
        None,
        "/admin",
        false,
        Some(b"mailto:postmaster@example.org"),
    )
    .unwrap();
    let values = |account: &Account| {
        account
            .annotations(Some(inbox.id))
            .unwrap()
            .into_iter()
            .map(|a| (a.private, a.value))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(&account),
        [
            (false, b"shared note".to_vec()),
            (true, b"mine, edited".to_vec())
        ]
    );
    assert!(
        account.mailbox("Inbox").unwrap().modseq > inbox.modseq,
        "the mailbox's modseq moves"
    );
    assert_eq!(account.annotations(None).unwrap().len(), 1);
    account
        .set_annotations(Some(inbox.id), &[annotation("/comment", true, None)])
        .unwrap();
    assert_eq!(values(&account), [(false, b"shared note".to_vec())]);
    assert!(
        account
            .set_annotations(None, &[annotation("no-slash", false, Some(b"x"))])
            .is_err()
    );
    let announced = std::iter::from_fn(|| feed.try_recv().ok()).count();
    assert_eq!(announced, 5);
    assert_consistent(&account);
}

/// Concurrent deliveries through the registry share transactions: every one gets
/// its own UID, and the account is consistent afterwards.
#[test]
fn concurrent_deliveries_are_committed_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::new(dir.path().to_path_buf()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let m = msg(&format!("t{t}m{i}"));
                        store
                            .deliver("alice", "Inbox", &m, NewMessage::default())
                            .unwrap()
                    })
                    .collect::<Vec<Uid>>()
            })
        })
        .collect();
    let mut uids: Vec<Uid> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 80, "every delivery has its own UID");
    let shared = store.account("alice").unwrap();
    let account = shared.lock().unwrap();
    assert_consistent(&account);
    let inbox = account.mailbox("Inbox").unwrap();
    assert_eq!(inbox.counts.total, 80);
    let subjects: std::collections::BTreeSet<Vec<u8>> = account
        .messages(inbox.id)
        .unwrap()
        .iter()
        .map(|m| account.read(m.id).unwrap())
        .collect();
    assert_eq!(subjects.len(), 80, "each stored message is a different one");
}

/// A queued delivery that does not fit the quota is refused alone; the others in
/// the same transaction are stored.
#[test]
fn grouped_deliveries_get_their_own_quota_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().to_path_buf());
    let small = msg("small");
    let big = [msg("big"), vec![b'x'; 1000]].concat();
    {
        let shared = store.account("alice").unwrap();
        let mut account = shared.lock().unwrap();
        account.set_quota(Quota {
            bytes: Some(2 * small.len() as u64 + 10),
            messages: None,
        });
    }
    let shared = store.account("alice").unwrap();
    // Hold the lock so that all three queue up and are committed as one batch.
    let guard = shared.lock().unwrap();
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = [&small, &big, &small]
            .into_iter()
            .map(|m| {
                let store = &store;
                let handle =
                    s.spawn(move || store.deliver("alice", "Inbox", m, NewMessage::default()));
                // Queue in this order.
                std::thread::sleep(std::time::Duration::from_millis(50));
                handle
            })
            .collect();
        drop(guard);
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(results[1], Err(StoreError::OverQuota { .. })),
        "{results:?}"
    );
    let account = shared.lock().unwrap();
    assert_eq!(account.mailbox("Inbox").unwrap().counts.total, 2);
    assert_consistent(&account);
}

#[test]
fn one_writer_per_account_and_readers_alongside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice");
    let mut writer = Account::open(&path, "alice").unwrap();
    deliver(&mut writer, "Inbox", &[&msg("first")]);
    // A second writer (another process, in practice) is refused, not let in to
    // remove the first one's staged files.
    let refused = Account::open(&path, "alice").err().unwrap();
    assert!(matches!(refused, StoreError::InUse(ref name) if name == "alice"));
    assert!(
        refused
            .to_string()
            .contains("in use by another gannet process")
    );
    // A reader sees what the writer committed, and what it commits later.
    let reader = Account::open_read_only(&path, "alice").unwrap();
    let inbox = reader.mailbox("Inbox").unwrap().id;
    assert_eq!(reader.messages(inbox).unwrap().len(), 1);
    deliver(&mut writer, "Inbox", &[&msg("second")]);
    assert_eq!(reader.messages(inbox).unwrap().len(), 2);
    // Once the writer is gone, another may open the account.
    drop(writer);
    Account::open(&path, "alice").unwrap();
    assert!(Account::open_read_only(&dir.path().join("nobody"), "nobody").is_err());
}

#[test]
fn a_reader_never_finds_an_account_half_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            Account::open(&path, "alice").unwrap();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // Until the account is there, a reader finds nothing; from then on, all of it.
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            match Account::open_read_only(&path, "alice") {
                Ok(reader) => {
                    assert!(reader.mailbox("Inbox").is_ok());
                    break;
                }
                Err(StoreError::Io { ref source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && !finished => {}
                Err(e) => panic!("a reader found {e}"),
            }
        }
    });
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["alice"], "no staging folder is left");
}

#[test]
fn annotations_have_limits_and_change_all_or_nothing() {
    let (_dir, mut account) = open();
    let update = |entry: &str, value| annotation(entry, false, value);
    let many: Vec<AnnotationUpdate> = (0..MAX_ANNOTATIONS)
        .map(|i| update(&format!("/n{i}"), Some(b"v")))
        .collect();
    account.set_annotations(None, &many).unwrap();
    let one_more = [update("/last", Some(b"v"))];
    assert!(matches!(
        account.set_annotations(None, &one_more),
        Err(StoreError::TooManyAnnotations)
    ));
    // Removing one makes room; setting a value it already has changes nothing.
    let swap = [update("/n0", None), update("/last", Some(b"v"))];
    assert!(account.set_annotations(None, &swap).unwrap().is_some());
    assert_eq!(account.set_annotations(None, &swap[1..]).unwrap(), None);
    let too_big = vec![b'x'; MAX_ANNOTATION_VALUE + 1];
    let mixed = [update("/n1", None), update("/big", Some(&too_big))];
    assert!(matches!(
        account.set_annotations(None, &mixed),
        Err(StoreError::AnnotationTooBig(_))
    ));
    assert_eq!(account.annotations(None).unwrap().len(), MAX_ANNOTATIONS);
    assert_consistent(&account);
}
