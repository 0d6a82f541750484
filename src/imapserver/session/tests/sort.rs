//! SORT, THREAD (RFC 5256), ESORT (RFC 5267) and SORT=DISPLAY (RFC 5957) against a
//! real store: a small mailbox with a reply chain, answered by sequence number and
//! by UID.

use super::*;

/// Four messages: a thread of three (one a reply with a "Re:" subject and a
/// References field) and one alone, with sizes and dates out of arrival order.
fn conversation(server: &Server) {
    let messages = [
        "From: Zoe <zoe@example.org>\r\nTo: bob@example.org\r\nSubject: lunch\r\nDate: Mon, 02 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nnoon?\r\n",
        "From: \"Adam\" <adam@example.org>\r\nTo: zed@example.org\r\nSubject: Budget\r\nDate: Sun, 01 Nov 2026 09:00:00 +0000\r\nMessage-ID: <2@example.org>\r\n\r\nnumbers attached, and a longer body than the others\r\n",
        "From: bob@example.org\r\nTo: zoe@example.org\r\nSubject: Re: lunch\r\nDate: Mon, 02 Nov 2026 12:30:00 +0000\r\nMessage-ID: <3@example.org>\r\nIn-Reply-To: <1@example.org>\r\nReferences: <1@example.org>\r\n\r\nyes\r\n",
        "From: Zoe <zoe@example.org>\r\nTo: bob@example.org\r\nSubject: Re: Re: lunch\r\nDate: Mon, 02 Nov 2026 13:00:00 +0000\r\nMessage-ID: <4@example.org>\r\nReferences: <1@example.org> <3@example.org>\r\n\r\nsee you\r\n",
    ];
    for m in messages {
        append_message(server, "alice", "Inbox", m);
    }
}

#[test]
fn sort_thread_and_esort_answer_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    conversation(&server);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b SELECT INBOX\r\n",
            "c SORT (DATE) UTF-8 ALL\r\n",
            "d SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n",
            "e UID SORT (REVERSE SIZE) US-ASCII NOT FROM adam\r\n",
            "f SORT (FROM) UTF-8 ALL\r\n",
            "g SORT (DISPLAYFROM) UTF-8 ALL\r\n",
            "h SORT (TO ARRIVAL) UTF-8 ALL\r\n",
            "i THREAD REFERENCES UTF-8 ALL\r\n",
            "j THREAD ORDEREDSUBJECT UTF-8 ALL\r\n",
            "k UID THREAD REFERENCES UTF-8 SUBJECT lunch\r\n",
            "l SORT RETURN (MIN MAX COUNT ALL) (REVERSE DATE) UTF-8 ALL\r\n",
            "m UID SORT RETURN () (SUBJECT) UTF-8 ALL\r\n",
            "n SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing\r\n",
            "o SORT (DATE) KOI8-R ALL\r\n",
        ]
    ));
}

#[test]
fn expunges_wait_outside_sort_and_thread() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    conversation(&server);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 SELECT INBOX\r\n", &mut log);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    b.send("b3 EXPUNGE\r\n", &mut log);
    a.send("a2 SORT (DATE) UTF-8 ALL\r\n", &mut log);
    a.send("a3 THREAD REFERENCES UTF-8 ALL\r\n", &mut log);
    a.send("a4 UID SORT (DATE) UTF-8 ALL\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn partial_pages_search_fetch_and_sort_results() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    conversation(&server);
    append_message(&server, "alice", "Inbox", MESSAGE);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b SELECT INBOX\r\n",
            "c UID SEARCH RETURN (PARTIAL 1:2) ALL\r\n",
            "d SEARCH RETURN (COUNT PARTIAL -1:-2 MIN) ALL\r\n",
            "e SEARCH RETURN (PARTIAL 10:20) ALL\r\n",
            "f SEARCH RETURN (SAVE PARTIAL 2:3) ALL\r\n",
            "g FETCH $ (UID)\r\n",
            "h UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)\r\n",
            "i FETCH 1:* (UID) (PARTIAL 4:2)\r\n",
            "j SORT RETURN (PARTIAL 1:2) (REVERSE DATE) UTF-8 ALL\r\n",
        ]
    ));
}

#[test]
fn esearch_searches_several_mailboxes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    conversation(&server);
    append_message(&server, "alice", "Archive", MESSAGE);
    append_message(
        &server,
        "alice",
        "Archive",
        "Subject: other\r\n\r\nnothing\r\n",
    );
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b CREATE Archive/2026\r\n",
            "c ESEARCH IN (personal) RETURN (COUNT MIN) SUBJECT lunch\r\n",
            "d ESEARCH IN (subtree-one Archive inboxes) SUBJECT lunch\r\n",
            "e ESEARCH IN (mailboxes Sent) ALL\r\n",
            "f ESEARCH IN (personal) 1:2\r\n",
            "g ESEARCH IN (personal) RETURN (SAVE) ALL\r\n",
            "h ESEARCH ALL\r\n",
            "i SELECT INBOX\r\n",
            "j ESEARCH RETURN (MAX) SUBJECT lunch\r\n",
            "k ESEARCH IN (selected) UID 2:3\r\n",
        ]
    ));
}

#[test]
fn long_searches_tell_their_progress() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    conversation(&server);
    // Every message a chunk, and progress told after each.
    let settings = Settings {
        progress: Progress {
            every: std::time::Duration::ZERO,
            chunk: 1,
        },
        ..server.settings(true)
    };
    let mut session = Session::new(
        settings,
        server.services.clone(),
        "192.0.2.7".parse().unwrap(),
        None,
    );
    let (sink, mut sent) = tokio::sync::mpsc::unbounded_channel();
    session.set_progress_sink(sink);
    let mut log = String::new();
    for command in [
        "a LOGIN alice secret\r\n",
        "b SELECT INBOX\r\n",
        "c SEARCH SUBJECT lunch\r\n",
        "d UID SORT (DATE) UTF-8 ALL\r\n",
    ] {
        show("C: ", command.as_bytes(), &mut log);
        let (out, _) = session.feed(command.as_bytes());
        while let Ok(early) = sent.try_recv() {
            show("S (at once): ", &early, &mut log);
        }
        show("S: ", &out, &mut log);
    }
    let progress: Vec<&str> = log.lines().filter(|l| l.contains("INPROGRESS")).collect();
    assert_eq!(
        progress,
        [
            "S (at once): * OK [INPROGRESS (\\\"c\\\" 1 4)] still searching\\r\\n",
            "S (at once): * OK [INPROGRESS (\\\"c\\\" 2 4)] still searching\\r\\n",
            "S (at once): * OK [INPROGRESS (\\\"c\\\" 3 4)] still searching\\r\\n",
            "S (at once): * OK [INPROGRESS (\\\"d\\\" 1 4)] still searching\\r\\n",
            "S (at once): * OK [INPROGRESS (\\\"d\\\" 2 4)] still searching\\r\\n",
            "S (at once): * OK [INPROGRESS (\\\"d\\\" 3 4)] still searching\\r\\n",
        ],
        "{log}"
    );
    assert!(log.contains("S: * SEARCH 1 3 4\\r\\n"), "{log}");
    assert!(log.contains("S: * SORT 2 1 3 4\\r\\n"), "{log}");
}
