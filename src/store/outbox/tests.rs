use super::*;

fn new(recipients: &[&str]) -> NewOutgoing {
    NewOutgoing {
        account: "mjones".into(),
        sender: "mjones@example.org".into(),
        header_message_id: "<1@example.org>".into(),
        recipients: recipients
            .iter()
            .map(|a| NewRecipient {
                address: a.to_string(),
                domain: a.rsplit('@').next().unwrap().to_string(),
                params: String::new(),
            })
            .collect(),
        first_attempt: 100,
        ..NewOutgoing::default()
    }
}

fn attempt(at: i64, outcome: Outcome) -> Attempt {
    Attempt {
        at,
        host: "mx.example.net".into(),
        result: format!("{outcome:?}"),
        outcome,
    }
}

#[test]
fn a_message_is_due_retried_and_retired_then_its_file_goes() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let id = outbox
        .enqueue(
            &new(&["a@example.net", "b@example.com"]),
            b"Subject: x\r\n\r\nhi\r\n",
            50,
        )
        .unwrap();
    assert_eq!(outbox.read(id).unwrap(), b"Subject: x\r\n\r\nhi\r\n");
    assert!(outbox.due(99, 10).unwrap().is_empty());
    assert_eq!(outbox.next_due().unwrap(), Some(100));
    let due = outbox.due(100, 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(
        (due[0].domain.as_str(), due[0].attempts),
        ("example.net", 0)
    );

    outbox
        .record(due[0].recipient, &attempt(100, Outcome::Retry(550)))
        .unwrap();
    outbox
        .record(due[1].recipient, &attempt(100, Outcome::Delivered))
        .unwrap();
    assert_eq!(outbox.next_due().unwrap(), Some(550));
    let queued = outbox.list().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].attempts, queued[0].last_error.as_str()),
        (1, "Retry(550)")
    );

    outbox
        .record(due[0].recipient, &attempt(550, Outcome::Failed))
        .unwrap();
    assert!(outbox.list().unwrap().is_empty());
    assert!(
        outbox.read(id).is_err(),
        "the file goes with the last recipient"
    );
    let retired = outbox.retired().unwrap();
    assert_eq!(retired.len(), 2);
    assert_eq!((retired[0].delivered, retired[0].attempts), (false, 2));
    assert_eq!(retired[1].header_message_id, "<1@example.org>");
    assert_eq!(outbox.history(due[0].recipient).unwrap().len(), 2);

    assert_eq!(outbox.prune_retired(551).unwrap(), 2);
    assert!(outbox.history(due[0].recipient).unwrap().is_empty());
}

#[test]
fn held_recipients_are_not_due_and_reopening_removes_orphan_files() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    outbox.add_hold_rule(&HoldRule::default()).unwrap();
    let id = outbox
        .enqueue(&new(&["a@example.net"]), b"x\r\n", 1)
        .unwrap();
    assert!(outbox.due(1000, 10).unwrap().is_empty());
    assert_eq!(outbox.next_due().unwrap(), None);
    drop(outbox);
    // A file no row refers to, as a crash between install and commit leaves.
    let orphan = Files::new(&dir.path().join("queue")).path(crate::store::MessageId(id + 1));
    std::fs::copy(
        Files::new(&dir.path().join("queue")).path(crate::store::MessageId(id)),
        &orphan,
    )
    .unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    assert!(!orphan.exists());
    assert_eq!(outbox.read(id).unwrap(), b"x\r\n");
}

#[test]
fn hold_rules_hold_new_recipients_by_account_sender_domain_and_recipient_domain() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let rule = |account: &str, from: &str, to: &str| HoldRule {
        id: 0,
        account: account.into(),
        sender_domain: from.into(),
        recipient_domain: to.into(),
    };
    let added = outbox.add_hold_rule(&rule("", "", "Example.NET")).unwrap();
    assert_eq!(
        (added.id, added.recipient_domain.as_str()),
        (1, "example.net")
    );
    outbox.add_hold_rule(&rule("other", "", "")).unwrap();
    outbox
        .add_hold_rule(&rule("", "example.org", "example.com"))
        .unwrap();
    outbox
        .enqueue(
            &new(&["a@example.net", "b@example.com", "c@example.edu"]),
            b"x\r\n",
            1,
        )
        .unwrap();
    let held: Vec<_> = outbox.list().unwrap().iter().map(|q| q.hold).collect();
    assert_eq!(held, [true, true, false]);

    assert!(outbox.remove_hold_rule(1).unwrap());
    assert!(!outbox.remove_hold_rule(1).unwrap());
    assert_eq!(outbox.hold_rules().unwrap().len(), 2);
    // Held recipients stay held until released.
    let ids: Vec<i64> = outbox.list().unwrap().iter().map(|q| q.recipient).collect();
    assert_eq!(outbox.due(1000, 10).unwrap().len(), 1);
    assert_eq!(outbox.set_hold(&ids, false).unwrap(), 3);
    assert_eq!(outbox.due(1000, 10).unwrap().len(), 3);
    assert_eq!(outbox.reschedule(&ids[..1], 5000).unwrap(), 1);
    assert_eq!(outbox.due(1000, 10).unwrap().len(), 2);
    assert_eq!(outbox.due_rows(&ids[..2]).unwrap().len(), 2);
}

#[test]
fn recording_for_a_recipient_no_longer_queued_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    outbox
        .enqueue(&new(&["a@example.net"]), b"x\r\n", 1)
        .unwrap();
    let r = outbox.list().unwrap()[0].recipient;
    assert!(outbox.record(r, &attempt(200, Outcome::Failed)).unwrap());
    assert!(!outbox.record(r, &attempt(201, Outcome::Failed)).unwrap());
    assert!(
        !outbox
            .record(r, &attempt(202, Outcome::Retry(300)))
            .unwrap()
    );
    assert_eq!(outbox.history(r).unwrap().len(), 1);
    assert_eq!(outbox.retired().unwrap().len(), 1);
}

#[test]
fn suppression_lists_match_addresses_in_any_case_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let entry = Suppressed {
        account: "mjones".into(),
        address: "Bob@Example.net".into(),
        reason: "550 5.1.1".into(),
        manual: false,
        created: 10,
    };
    assert!(outbox.suppress(&entry).unwrap());
    assert!(!outbox.suppress(&entry).unwrap(), "the first entry stays");
    assert_eq!(
        outbox
            .suppressed("mjones", "bob@example.NET")
            .unwrap()
            .as_deref(),
        Some("550 5.1.1")
    );
    assert_eq!(outbox.suppressed("other", "bob@example.net").unwrap(), None);
    assert_eq!(outbox.suppressions(None).unwrap(), [entry]);
    assert!(outbox.suppressions(Some("other")).unwrap().is_empty());
    assert!(outbox.unsuppress("mjones", "BOB@example.net").unwrap());
    assert!(!outbox.unsuppress("mjones", "bob@example.net").unwrap());
}

#[test]
fn the_last_deliveries_to_a_recipient_failing_is_seen_in_the_retired_record() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let deliver = |at: i64, outcome: Outcome| {
        outbox
            .enqueue(&new(&["a@example.net"]), b"x\r\n", at)
            .unwrap();
        let r = outbox.list().unwrap()[0].recipient;
        outbox.record(r, &attempt(at, outcome)).unwrap();
    };
    deliver(1, Outcome::Failed);
    deliver(2, Outcome::Failed);
    assert!(!outbox.failed_last("mjones", "A@example.net", 3).unwrap());
    deliver(3, Outcome::Delivered);
    deliver(4, Outcome::Failed);
    deliver(5, Outcome::Failed);
    assert!(!outbox.failed_last("mjones", "a@example.net", 3).unwrap());
    deliver(6, Outcome::Failed);
    assert!(outbox.failed_last("mjones", "A@example.net", 3).unwrap());
    assert!(!outbox.failed_last("other", "a@example.net", 3).unwrap());
    // Failures no attempt decided (the operator's, the suppression list's) do
    // not count, and do not hide the attempts before them.
    deliver(7, Outcome::Delivered);
    deliver(8, Outcome::Failed);
    deliver(9, Outcome::Cancelled);
    deliver(10, Outcome::Cancelled);
    deliver(11, Outcome::Failed);
    assert!(!outbox.failed_last("mjones", "a@example.net", 3).unwrap());
    deliver(12, Outcome::Failed);
    assert!(outbox.failed_last("mjones", "a@example.net", 3).unwrap());
}

#[test]
fn a_suppressed_recipient_is_never_due() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let entry = Suppressed {
        account: "mjones".into(),
        address: "b@example.com".into(),
        reason: "manual".into(),
        manual: true,
        created: 1,
    };
    outbox.suppress(&entry).unwrap();
    outbox
        .enqueue(&new(&["a@example.net", "B@example.com"]), b"x\r\n", 1)
        .unwrap();
    let due = outbox.due(i64::MAX - 1, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].address, "a@example.net");
}

#[test]
fn a_later_dsn_matches_by_message_id_without_a_unique_mail_from() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    outbox
        .enqueue(&new(&["a@example.net"]), b"x\r\n", 1)
        .unwrap();
    let r = outbox.list().unwrap()[0].recipient;
    outbox.record(r, &attempt(2, Outcome::Delivered)).unwrap();
    let dsn = |account, message_id| LaterDsn {
        account,
        returned_to: "mjones@example.org",
        message_id,
        recipient: "A@example.net",
        summary: "failed 5.1.1",
    };
    // The DSN parser gives the Message-ID without its brackets.
    assert_eq!(
        outbox
            .match_later_dsn(&dsn("mjones", Some("1@example.org")))
            .unwrap(),
        Some(LaterMatch {
            id: r,
            unique: false
        })
    );
    assert_eq!(outbox.retired().unwrap()[0].later_dsn, "failed 5.1.1");
    assert_eq!(
        outbox
            .match_later_dsn(&dsn("other", Some("1@example.org")))
            .unwrap(),
        None
    );
    assert_eq!(
        outbox
            .match_later_dsn(&dsn("mjones", Some("2@example.org")))
            .unwrap(),
        None
    );
    assert_eq!(outbox.match_later_dsn(&dsn("mjones", None)).unwrap(), None);
}
