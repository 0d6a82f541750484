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
    let mut held = new(&["a@example.net"]);
    held.hold = true;
    let id = outbox.enqueue(&held, b"x\r\n", 1).unwrap();
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
