//! OBJECTID (RFC 8474): MAILBOXID stays through RENAME, EMAILID through COPY and
//! MOVE, and THREADID groups a reply with its parent.

use super::*;

#[test]
fn object_ids_follow_mailboxes_messages_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    let reply = "Subject: Re: lunch\r\nMessage-ID: <2@example.org>\r\nIn-Reply-To: <1@example.org>\r\nReferences: <1@example.org>\r\n\r\nyes\r\n";
    append_message(&server, "alice", "Inbox", reply);
    append_message(
        &server,
        "alice",
        "Inbox",
        "Subject: other\r\n\r\nunrelated\r\n",
    );
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b CREATE Projects\r\n",
            "c RENAME Projects Work\r\n",
            "d STATUS Work (MAILBOXID MESSAGES)\r\n",
            "e LIST \"\" Work RETURN (STATUS (MAILBOXID))\r\n",
            // Parents made on the way get ids of their own.
            "e2 CREATE a/b/c\r\n",
            "e3 LIST \"\" a* RETURN (STATUS (MAILBOXID))\r\n",
            "f SELECT INBOX\r\n",
            "g FETCH 1:* (UID EMAILID THREADID)\r\n",
            "h COPY 1 Work\r\n",
            "i MOVE 3 Work\r\n",
            "j SEARCH THREADID T1\r\n",
            "k SEARCH EMAILID E2\r\n",
            "l SEARCH EMAILID bogus\r\n",
            "m SELECT Work\r\n",
            "n FETCH 1:* (UID EMAILID THREADID)\r\n",
        ]
    ));
}
