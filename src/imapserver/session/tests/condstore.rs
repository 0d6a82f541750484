//! CONDSTORE and QRESYNC (RFC 7162): the RFC's examples played against a real store,
//! and the resynchronization cases a client depends on. Modseqs and UIDVALIDITY are
//! deterministic in a fresh store, so the transcripts are stable.

use super::*;

/// Three messages in alice's INBOX, the first seen.
fn three_messages(server: &Server) {
    for _ in 0..3 {
        append_message(server, "alice", "Inbox", MESSAGE);
    }
    let mut setup = server.logged_in("alice", "");
    setup.send("s1 SELECT INBOX\r\n", &mut String::new());
    setup.send("s2 STORE 1 +FLAGS (\\Seen)\r\n", &mut String::new());
}

#[test]
fn condstore_modseqs_in_select_fetch_store_search_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 SELECT INBOX (CONDSTORE)\r\n", &mut log);
    a.send("a2 FETCH 1:* (FLAGS) (CHANGEDSINCE 4)\r\n", &mut log);
    a.send("a3 UID FETCH 1:* (UID MODSEQ)\r\n", &mut log);
    // RFC 7162 3.1.3: a conditional STORE; message 3 changes meanwhile.
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 STORE 3 +FLAGS ($Important)\r\n", &mut log);
    a.send(
        "a4 STORE 2:3 (UNCHANGEDSINCE 17) +FLAGS.SILENT (\\Deleted)\r\n",
        &mut log,
    );
    a.send(
        "a5 UID STORE 3 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)\r\n",
        &mut log,
    );
    a.send("a6 STORE 1 -FLAGS (\\Seen)\r\n", &mut log);
    a.send("a7 SEARCH MODSEQ 6\r\n", &mut log);
    a.send(
        "a8 SEARCH MODSEQ \"/flags/\\\\deleted\" all 1 DELETED\r\n",
        &mut log,
    );
    a.send("a9 SEARCH MODSEQ 100\r\n", &mut log);
    a.send("a10 SEARCH RETURN (MIN COUNT) MODSEQ 1\r\n", &mut log);
    a.send("a11 STATUS Archive (HIGHESTMODSEQ MESSAGES)\r\n", &mut log);
    a.send("a12 EXPUNGE\r\n", &mut log);
    b.send("b3 STORE 1 +FLAGS (\\Answered)\r\n", &mut log);
    a.send("a13 NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn a_modseq_in_a_command_enables_condstore_while_selected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b SELECT INBOX\r\n",
            "c STORE 2 +FLAGS (\\Flagged)\r\n",
            "d FETCH 2 (MODSEQ)\r\n",
            "e STORE 2 -FLAGS (\\Flagged)\r\n",
            "f ENABLE CONDSTORE\r\n",
        ]
    ));
}

#[test]
fn qresync_select_tells_what_vanished_and_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    let mut log = String::new();
    // The client saw the mailbox at HIGHESTMODSEQ 17 (UIDs 1-3) and went away.
    let mut b = server.logged_in("alice", "B");
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    b.send("b3 EXPUNGE\r\n", &mut log);
    b.send("b4 STORE 2 +FLAGS.SILENT (\\Flagged)\r\n", &mut log);
    b.send("b5 LOGOUT\r\n", &mut log);
    append_message(&server, "alice", "Inbox", MESSAGE);
    let mut a = server.logged_in("alice", "A");
    a.send("a1 SELECT INBOX (QRESYNC (1 17))\r\n", &mut log);
    a.send("a2 ENABLE QRESYNC\r\n", &mut log);
    a.send("a3 SELECT INBOX (QRESYNC (1 17))\r\n", &mut log);
    // Known UIDs narrow VANISHED; a changed UIDVALIDITY means a full resync.
    a.send("a4 EXAMINE INBOX (QRESYNC (1 17 1:2,4))\r\n", &mut log);
    a.send("a5 SELECT INBOX (QRESYNC (99 17 1:3))\r\n", &mut log);
    a.send(
        "a6 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 17 VANISHED)\r\n",
        &mut log,
    );
    a.send(
        "a7 UID FETCH 3:* (FLAGS) (CHANGEDSINCE 9 VANISHED)\r\n",
        &mut log,
    );
    // With QRESYNC on, expunges are told as VANISHED.
    a.send("a8 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    a.send("a9 EXPUNGE\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn vanished_and_fetch_modifiers_need_what_they_build_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b SELECT INBOX\r\n",
            "c UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
            "d FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
            "e UID FETCH 1:* (FLAGS) (VANISHED)\r\n",
            "f SELECT INBOX (QRESYNC (1 0))\r\n",
            "g ENABLE QRESYNC CONDSTORE\r\n",
            "h ENABLE QRESYNC\r\n",
        ]
    ));
}

#[test]
fn flag_changes_told_while_an_expunge_waits_keep_highestmodseq_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 ENABLE CONDSTORE\r\n", &mut log);
    a.send("a2 SELECT INBOX\r\n", &mut log);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    b.send("b3 EXPUNGE\r\n", &mut log);
    b.send("b4 STORE 1 +FLAGS.SILENT (\\Flagged)\r\n", &mut log);
    // A FETCH may not tell the expunge, but tells the newer flag change: the
    // HIGHESTMODSEQ it gives must come before the expunge.
    a.send("a3 FETCH 2 (FLAGS)\r\n", &mut log);
    a.send("a4 NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn a_silent_store_does_not_hide_an_earlier_change_by_another_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 ENABLE QRESYNC\r\n", &mut log);
    a.send("a2 SELECT INBOX\r\n", &mut log);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 STORE 2 +FLAGS ($Label1)\r\n", &mut log);
    // A's own change is silent, but B's before it must still reach A, with the
    // flags that hold both.
    a.send("a3 UID STORE 2 +FLAGS.SILENT (\\Seen)\r\n", &mut log);
    a.send("a4 NOOP\r\n", &mut log);
    // Without CONDSTORE too; and a silent change nobody else made stays silent.
    let mut c = server.logged_in("alice", "C");
    c.send("c1 SELECT INBOX\r\n", &mut log);
    b.send("b3 STORE 3 +FLAGS ($Label2)\r\n", &mut log);
    c.send("c2 STORE 3 +FLAGS.SILENT (\\Flagged)\r\n", &mut log);
    c.send("c3 STORE 1 +FLAGS.SILENT (\\Answered)\r\n", &mut log);
    c.send("c4 NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn vanished_earlier_leaves_an_untold_expunge_to_its_own_vanished() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    three_messages(&server);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 ENABLE QRESYNC\r\n", &mut log);
    a.send("a2 SELECT INBOX\r\n", &mut log);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    b.send("b3 EXPUNGE\r\n", &mut log);
    // UID 2 is still message 2 for A until it is told VANISHED: an earlier-VANISHED
    // for it would shift the client's message numbers before the server's.
    a.send(
        "a3 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
        &mut log,
    );
    a.send("a4 NOOP\r\n", &mut log);
    a.send(
        "a5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
        &mut log,
    );
    insta::assert_snapshot!(log);
}
