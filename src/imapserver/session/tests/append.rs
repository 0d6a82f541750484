//! APPEND: MULTIAPPEND (RFC 3502), several messages all or none, and the save
//! date (RFC 8514) each message gets.

use super::*;

#[test]
fn multiappend_stores_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let first = "Subject: one\r\n\r\nfirst\r\n";
    let second = "Subject: two\r\n\r\nsecond\r\n";
    let append = format!(
        "a2 APPEND INBOX (\\Seen) \"04-Nov-2026 09:00:00 +0000\" {{{}}}\r\n{first} (\\Flagged) \"05-Nov-2026 10:00:00 +0000\" {{{}}}\r\n{second}\r\n",
        first.len(),
        second.len()
    );
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a1 LOGIN alice secret\r\n",
            &append,
            // The second message is empty: neither is appended.
            &format!(
                "a3 APPEND INBOX {{{}}}\r\n{first} {{0}}\r\n\r\n",
                first.len()
            ),
            &format!(
                "a4 APPEND INBOX {{{}}}\r\n{first} (\\Recent) {{1}}\r\nx\r\n",
                first.len()
            ),
            "a5 SELECT INBOX\r\n",
            "a6 FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
        ]
    ));
}

#[test]
fn savedate_is_when_the_message_was_put_in_its_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let message = "Subject: old\r\n\r\nfrom an archive\r\n";
    let log = transcript(
        &server,
        &[
            "a1 LOGIN alice secret\r\n",
            &format!(
                "a2 APPEND INBOX \"01-Jan-2001 00:00:00 +0000\" {{{}}}\r\n{message}\r\n",
                message.len()
            ),
            "a3 SELECT INBOX\r\n",
            "a4 FETCH 1 (INTERNALDATE SAVEDATE)\r\n",
            "a5 SEARCH SAVEDBEFORE 1-Jan-2020\r\n",
            "a6 SEARCH SAVEDSINCE 1-Jan-2020 SAVEDATESUPPORTED\r\n",
            "a7 SEARCH SINCE 1-Jan-2020\r\n",
        ],
    );
    // The save date is now: only its year is certain.
    let fetched = log.lines().find(|l| l.starts_with("S: * 1 FETCH")).unwrap();
    assert!(
        fetched.starts_with(
            "S: * 1 FETCH (INTERNALDATE \\\"01-Jan-2001 00:00:00 +0000\\\" SAVEDATE \\\""
        ),
        "{fetched}"
    );
    assert!(!fetched.contains("SAVEDATE \\\"01-Jan-2001"), "{fetched}");
    for (command, answer) in [("a5", "* SEARCH"), ("a6", "* SEARCH 1"), ("a7", "* SEARCH")] {
        let at = log.find(&format!("C: {command} ")).unwrap();
        assert!(
            log[at..].contains(&format!("S: {answer}\\r\\n")),
            "{command}: {log}"
        );
    }
}

#[test]
fn appendlimit_is_announced_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let log = transcript(
        &server,
        &[
            "a1 LOGIN alice secret\r\n",
            "a2 STATUS INBOX (APPENDLIMIT)\r\n",
            "a3 APPEND INBOX {1048577}\r\n",
        ],
    );
    // The test server's limit is 1 MiB (Server::settings), which the logged-in
    // capabilities announce as APPENDLIMIT=1048576 (see logged_in_capabilities).
    assert!(
        log.contains("S: * STATUS INBOX (APPENDLIMIT 1048576)\\r\\n"),
        "{log}"
    );
    assert!(log.contains("S: a3 NO [TOOBIG] "), "{log}");
}

#[test]
fn within_counts_from_now() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let message = "Subject: old\r\n\r\nfrom an archive\r\n";
    let log = transcript(
        &server,
        &[
            "a1 LOGIN alice secret\r\n",
            &format!(
                "a2 APPEND INBOX \"01-Jan-2001 00:00:00 +0000\" {{{}}}\r\n{message}\r\n",
                message.len()
            ),
            &format!("a3 APPEND INBOX {{{}}}\r\n{message}\r\n", message.len()),
            "a4 SELECT INBOX\r\n",
            "a5 SEARCH YOUNGER 3600\r\n",
            "a6 SEARCH OLDER 3600\r\n",
            "a7 SEARCH OLDER 4000000000\r\n",
        ],
    );
    for (command, answer) in [
        ("a5", "* SEARCH 2"),
        ("a6", "* SEARCH 1"),
        ("a7", "* SEARCH"),
    ] {
        let at = log.find(&format!("C: {command} ")).unwrap();
        assert!(
            log[at..].contains(&format!("S: {answer}\\r\\n")),
            "{command}: {log}"
        );
    }
}

#[test]
fn replace_appends_and_expunges_in_one_step() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let draft = "Subject: draft 1\r\n\r\nfirst words\r\n";
    let better = "Subject: draft 2\r\n\r\nbetter words\r\n";
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    b.send("b1 SELECT Drafts\r\n", &mut log);
    for command in [
        &format!(
            "a1 APPEND Drafts (\\Draft) {{{}}}\r\n{draft}\r\n",
            draft.len()
        ),
        "a2 SELECT Drafts\r\n",
        &format!(
            "a3 REPLACE 1 Drafts (\\Draft) {{{}}}\r\n{better}\r\n",
            better.len()
        ),
        "a4 FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
        // Into another mailbox, by UID; the original goes all the same.
        &format!("a5 UID REPLACE 2 Sent {{{}}}\r\n{better}\r\n", better.len()),
        // Nothing to replace, no such mailbox, an empty message: nothing changes.
        &format!(
            "a6 UID REPLACE 99 Drafts {{{}}}\r\n{better}\r\n",
            better.len()
        ),
        "a7 APPEND Drafts {1}\r\nx\r\n",
        &format!("a8 REPLACE 1 Nowhere {{{}}}\r\n{better}\r\n", better.len()),
        "a9 REPLACE 1 Drafts {0}\r\n\r\n",
        "a10 STATUS Sent (MESSAGES)\r\n",
    ] {
        a.send(command, &mut log);
    }
    b.send("b2 NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn utf8_accept_brings_utf8_names_and_utf8_message_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let message = "Subject: Grüße\r\n\r\nsüß\r\n";
    let n = message.len();
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            &format!("b APPEND INBOX UTF8 (~{{{n}}}\r\n{message})\r\n"),
            "c CREATE \"Grüße\"\r\n",
            "d ENABLE UTF8=ACCEPT\r\n",
            "e CREATE \"Grüße\"\r\n",
            "f LIST \"\" Gr*\r\n",
            &format!("g APPEND \"Grüße\" UTF8 (~{{{n}}}\r\n{message})\r\n"),
            "h SELECT \"Grüße\"\r\n",
            "i FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
        ]
    ));
}
