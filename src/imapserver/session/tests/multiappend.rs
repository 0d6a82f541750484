//! MULTIAPPEND (RFC 3502): several messages in one APPEND, all or none.

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
