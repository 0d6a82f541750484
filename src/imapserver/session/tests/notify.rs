//! NOTIFY (RFC 5465): events of other mailboxes as STATUS, LIST and METADATA,
//! MessageNew's fetch attributes for the selected one, and the rules on events.

use super::*;

#[test]
fn notify_tells_what_happens_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Archive", MESSAGE);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 SELECT INBOX\r\n", &mut log);
    a.send(
        "a2 NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge)) (subtree Archive (MessageNew MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange))\r\n",
        &mut log,
    );
    append_message(&server, "alice", "Archive", MESSAGE);
    append_message(&server, "alice", "Inbox", MESSAGE);
    b.send("b1 SELECT Archive\r\n", &mut log);
    b.send("b2 STORE 1 +FLAGS (\\Seen)\r\n", &mut log);
    // Archive and below follow the subtree group, which has no MailboxName.
    b.send("b3 CREATE Projects\r\n", &mut log);
    b.send("b3a CREATE Archive/2026\r\n", &mut log);
    b.send("b4 RENAME Projects Work\r\n", &mut log);
    b.send("b5 UNSUBSCRIBE Junk\r\n", &mut log);
    b.send(
        "b6 SETMETADATA Sent (/shared/comment \"outgoing\")\r\n",
        &mut log,
    );
    b.send(
        "b7 SETMETADATA \"\" (/shared/admin \"mailto:me@example.org\")\r\n",
        &mut log,
    );
    // Drafts is followed for mailbox events only: no STATUS for its messages.
    append_message(&server, "alice", "Drafts", MESSAGE);
    a.send("a3 IDLE\r\n", &mut log);
    a.send("DONE\r\n", &mut log);
    a.send("a4 NOTIFY NONE\r\n", &mut log);
    append_message(&server, "alice", "Archive", MESSAGE);
    a.send("a5 NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn notify_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b NOTIFY SET (selected (MessageNew))\r\n",
            "c NOTIFY SET (selected (FlagChange))\r\n",
            "d NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))\r\n",
            "e NOTIFY SET (selected (MailboxName))\r\n",
            "f NOTIFY SET (personal (MessageNew (FLAGS) MessageExpunge))\r\n",
            "g NOTIFY SET (personal (AnnotationChange MessageNew MessageExpunge))\r\n",
            "h NOTIFY SET (inboxes (SomethingNew))\r\n",
            "i NOTIFY SET (mailboxes (INBOX Sent) NONE)\r\n",
            "j NOTIFY SET (nowhere (MailboxName))\r\n",
            "k NOTIFY NONE\r\n",
        ]
    ));
}

#[test]
fn events_before_a_select_are_still_told() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 NOTIFY SET (personal (MailboxName))\r\n", &mut log);
    b.send("b1 CREATE Projects\r\n", &mut log);
    a.send("a2 SELECT INBOX\r\n", &mut log);
    assert!(
        log.contains("AS: * LIST () \\\"/\\\" Projects\\r\\n"),
        "{log}"
    );
}
