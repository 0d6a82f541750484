//! UIDONLY (RFC 9586): UIDFETCH and VANISHED responses, and message numbers
//! refused with BAD [UIDREQUIRED].

use super::*;

#[test]
fn uidonly_answers_by_uid_and_refuses_message_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    for _ in 0..3 {
        append_message(&server, "alice", "Inbox", MESSAGE);
    }
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    b.send("b1 SELECT INBOX\r\n", &mut log);
    for command in [
        "a1 ENABLE UIDONLY CONDSTORE\r\n",
        "a2 SELECT INBOX\r\n",
        "a3 UID FETCH 1:* (FLAGS)\r\n",
        "a4 UID FETCH 2 (UID RFC822.SIZE)\r\n",
        "a5 FETCH 1 (FLAGS)\r\n",
        "a6 STORE 1 +FLAGS (\\Seen)\r\n",
        "a7 UID SEARCH 1:2\r\n",
        "a8 UID SEARCH NOT (UID 1 OR SEEN 2)\r\n",
        "a9 COPY 1 Archive\r\n",
        "a10 SELECT INBOX (QRESYNC (1 5 (1 1)))\r\n",
        "a11 UID STORE 1 +FLAGS (\\Flagged)\r\n",
        "a12 UID SEARCH UNSEEN\r\n",
        "a13 UID FETCH 3 (BODY[HEADER.FIELDS (SUBJECT)])\r\n",
    ] {
        a.send(command, &mut log);
    }
    b.send("b2 STORE 2 +FLAGS ($Label)\r\n", &mut log);
    b.send("b3 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    b.send("b4 EXPUNGE\r\n", &mut log);
    a.send("a14 NOOP\r\n", &mut log);
    a.send("a15 UID STORE 2:3 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    a.send("a16 EXPUNGE\r\n", &mut log);
    insta::assert_snapshot!(log);
}
