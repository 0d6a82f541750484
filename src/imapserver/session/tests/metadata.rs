//! METADATA (RFC 5464) and LIST-METADATA (RFC 9590): server and mailbox
//! annotations, their limits, and the unsolicited METADATA others' changes bring.

use super::*;

#[test]
fn annotations_are_set_read_listed_and_limited() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b SETMETADATA INBOX (/private/comment \"My own\" /shared/comment \"Everyone's\")\r\n",
            "c GETMETADATA INBOX /private/comment\r\n",
            "d GETMETADATA \"INBOX\" (/shared/comment /private/comment /private/missing)\r\n",
            "e SETMETADATA \"\" (/shared/vendor/gannet/a \"1\" /shared/vendor/gannet/a/b {4}\r\n",
            "xyz1)\r\n",
            "f GETMETADATA (DEPTH 1) \"\" /shared/vendor/gannet\r\n",
            "g GETMETADATA (DEPTH infinity MAXSIZE 1) \"\" /shared/vendor\r\n",
            "h SETMETADATA INBOX (/Private/Comment NIL)\r\n",
            "i GETMETADATA INBOX (/private/comment /shared/comment)\r\n",
            "j LIST \"\" % RETURN (METADATA (/shared/comment))\r\n",
            "k SETMETADATA INBOX (/foo/bar \"x\")\r\n",
            "l SETMETADATA INBOX (/shared//x \"x\")\r\n",
            "m GETMETADATA INBOX /private/a*\r\n",
            "n SETMETADATA Nowhere (/shared/x \"x\")\r\n",
            "p SETMETADATA INBOX (/shared/bin ~{3}\r\n",
            "a\0b)\r\n",
            "q GETMETADATA INBOX /shared/bin\r\n",
        ]
    ));
}

#[test]
fn others_changes_are_told_once_metadata_is_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 ENABLE METADATA\r\n", &mut log);
    a.send("a2 SELECT INBOX\r\n", &mut log);
    b.send(
        "b1 SETMETADATA INBOX (/shared/comment \"hi\" /private/note \"x\")\r\n",
        &mut log,
    );
    b.send(
        "b2 SETMETADATA \"\" (/shared/admin \"mailto:postmaster@example.org\")\r\n",
        &mut log,
    );
    b.send(
        "b3 SETMETADATA Archive (/shared/comment \"elsewhere\")\r\n",
        &mut log,
    );
    a.send("a3 NOOP\r\n", &mut log);
    // Its own changes are not told back.
    a.send(
        "a4 SETMETADATA INBOX (/shared/comment \"mine\")\r\n",
        &mut log,
    );
    a.send("a5 NOOP\r\n", &mut log);
    // Without ENABLE METADATA, nothing is told.
    b.send("b4 SELECT INBOX\r\n", &mut log);
    a.send("a6 SETMETADATA INBOX (/shared/comment NIL)\r\n", &mut log);
    b.send("b5 NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn a_value_over_the_limit_sets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let big = "x".repeat(crate::store::MAX_ANNOTATION_VALUE + 1);
    let log = transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            &format!(
                "b SETMETADATA INBOX (/shared/ok \"1\" /shared/big {{{}}}\r\n",
                big.len()
            ),
            &format!("{big})\r\n"),
            "c GETMETADATA INBOX /shared/ok\r\n",
        ],
    );
    let limit = crate::store::MAX_ANNOTATION_VALUE;
    assert!(
        log.contains(&format!("S: b NO [METADATA MAXSIZE {limit}] ")),
        "{}",
        &log[log.len() - 300..]
    );
    // All or nothing (RFC 5464 4.3): the small value is not set either.
    assert!(log.contains("S: * METADATA INBOX (/shared/ok NIL)\\r\\n"));
}
