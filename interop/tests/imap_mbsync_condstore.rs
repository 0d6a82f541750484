//! mbsync (isync) keeping several mailboxes in step both ways while both sides
//! change: a first full sync of INBOX, Archive, a nested Projects/Alpha and a
//! mailbox that exists only locally; then changes on the server through another IMAP
//! connection and SMTP (flags set and cleared, an expunge, a MOVE to another mailbox,
//! new messages by SMTP and APPEND) and in the Maildir at the same time (flags, one
//! of them on a message whose flags the server also changed, a deletion, new
//! messages in two mailboxes); a second sync must leave both sides with the same
//! messages and flags, the expected ones, and a third must change nothing.
//!
//! mbsync goes through a recording relay (interop::capture): localserve logs no IMAP
//! commands at its info level, and the relay shows what mbsync really sent and that
//! the session was compressed: after `COMPRESS DEFLATE` and its OK, the bytes both
//! ways must be raw DEFLATE that Python's zlib inflates back into the IMAP exchange,
//! with no plain IMAP left on the wire.
//!
//! What isync 1.4.4 (Debian 12) sends, measured with this test: `LOGIN`, `COMPRESS
//! DEFLATE` (it always asks when the server announces it), `NAMESPACE`,
//! `LIST "" "*"`, then for each mailbox `SELECT "name"` without a CONDSTORE
//! parameter, `UID FETCH 1:<highest UID> (UID FLAGS)` (every message's flags, on
//! every run), `UID FETCH <uid> (BODY.PEEK[])` for each new message, `APPEND "name"
//! (\Seen ...) {n}` for local ones, `UID STORE <uid> +FLAGS.SILENT (...)` (or
//! -FLAGS.SILENT) followed by `CHECK` for flag changes and deletions, `CREATE` for a
//! mailbox the server lacks, `CLOSE` (which expunges) and `LOGOUT`. It never sends
//! CONDSTORE, QRESYNC, CHANGEDSINCE or MODSEQ although gannet announces them: its
//! flag sync is the full one, and that is what the second sync checks. Should a
//! later mbsync use CONDSTORE, the state checks still apply; the test prints the
//! commands of each sync and whether CONDSTORE was used (`--nocapture`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use interop::capture::{Capture, Transcript};
use interop::imap::Imap;
use interop::server::{LOGIN, PASSWORD};
use interop::store::{StoredMessage, read_maildir};
use interop::{Gannet, Output, TempDir, message, require, run};

fn config(port: u16, near: &Path) -> String {
    let near = near.display();
    // Sections are separated by blank lines; SyncState * keeps the state in the
    // Maildir itself, not in $HOME. mbsync warns that the password goes in the
    // clear and goes ahead.
    format!(
        "IMAPAccount gannet\nHost 127.0.0.1\nPort {port}\nSSLType None\nAuthMechs LOGIN\n\
         User {LOGIN}\nPass {PASSWORD}\n\n\
         IMAPStore far\nAccount gannet\n\n\
         MaildirStore near\nPath {near}/\nInbox {near}/INBOX\nSubFolders Verbatim\n\n\
         Channel sync\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nExpunge Both\n\
         SyncState *\n"
    )
}

/// One mbsync run through the relay, with -Dn (it prints the commands it sends);
/// returns its output and the IMAP session, inflated.
fn mbsync(tmp: &TempDir, capture: &Capture) -> (Output, Transcript) {
    let out = run(
        Command::new(require("mbsync", "isync"))
            .env("HOME", tmp.path())
            .arg("-c")
            .arg(tmp.path().join("mbsyncrc"))
            .args(["-Dn", "-a"]),
        Duration::from_secs(30),
    );
    out.assert_success();
    assert!(!out.stderr.contains("Error"), "{out}");
    let sessions = capture.take();
    assert_eq!(sessions.len(), 1, "one IMAP connection per run\n{out}");
    let session = sessions[0].transcript(tmp.path());
    assert_compressed(&session, &out);
    (out, session)
}

/// The session switched to DEFLATE, and the wire shows it: what follows the OK
/// inflates (checked by `transcript`) into the rest of the IMAP exchange, and no
/// command or response is readable in the raw bytes.
fn assert_compressed(session: &Transcript, out: &Output) {
    let c = session
        .compressed
        .as_ref()
        .unwrap_or_else(|| panic!("mbsync did not use COMPRESS DEFLATE:\n{out}\n{session:#?}"));
    assert!(
        c.plain_to_server.contains(" LIST \"\" \"*\"\r\n")
            && c.plain_to_server.contains(" SELECT \"INBOX\"")
            && c.plain_to_client.contains("* LIST ")
            && c.plain_to_client.contains(" OK [READ-WRITE]"),
        "the inflated streams are the IMAP session after COMPRESS: {session:#?}"
    );
    let wire_up = String::from_utf8_lossy(&c.wire_to_server);
    let wire_down = String::from_utf8_lossy(&c.wire_to_client);
    for plain in ["SELECT", "FETCH", "LIST", "INBOX"] {
        assert!(
            !wire_up.contains(plain) && !wire_down.contains(plain),
            "{plain:?} readable on the wire after COMPRESS: {session:#?}"
        );
    }
    // Both directions really were compressed, not stored (DEFLATE's "stored"
    // blocks would carry the text as it is, which the check above excludes).
    assert!(c.wire_to_client.len() < c.plain_to_client.len(), "{c:?}");
}

fn uses_condstore(sent: &[&str]) -> bool {
    sent.iter().any(|c| {
        let c = c.to_ascii_uppercase();
        c.contains("CONDSTORE")
            || c.contains("QRESYNC")
            || c.contains("CHANGEDSINCE")
            || c.contains("MODSEQ")
    })
}

/// Every Maildir under `near` (a directory with cur/), named like the mailbox.
fn local_messages(near: &Path) -> Vec<StoredMessage> {
    let mut found = Vec::new();
    let mut stack = vec![near.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir.join("cur").is_dir() {
            let name = dir.strip_prefix(near).unwrap().display().to_string();
            found.extend(read_maildir(&dir, &name));
        }
        for entry in std::fs::read_dir(&dir).expect("read the Maildir tree") {
            let path = entry.expect("directory entry").path();
            let leaf = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && !["cur", "new", "tmp"].contains(&leaf.as_str()) {
                stack.push(path);
            }
        }
    }
    found
}

/// (mailbox, subject, Maildir flags) of every message, sorted.
fn state(messages: &[StoredMessage]) -> BTreeSet<(String, String, String)> {
    messages
        .iter()
        .map(|m| (m.mailbox.clone(), m.subject().to_string(), m.flags.clone()))
        .collect()
}

fn expected(rows: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    rows.iter()
        .map(|(m, s, f)| (m.to_string(), s.to_string(), f.to_string()))
        .collect()
}

fn find<'a>(messages: &'a [StoredMessage], mailbox: &str, subject: &str) -> &'a StoredMessage {
    messages
        .iter()
        .find(|m| m.mailbox == mailbox && m.subject() == subject)
        .unwrap_or_else(|| panic!("no {subject:?} in {mailbox} in {messages:#?}"))
}

/// Gives a local message the Maildir flags `flags` (sorted letters), moving it to
/// cur/ as a mail reader would.
fn set_local_flags(message: &StoredMessage, flags: &str) {
    let name = message.path.file_name().unwrap().to_string_lossy();
    let base = name.split_once(":2,").map_or(&*name, |(b, _)| b);
    let cur = message.path.parent().unwrap().with_file_name("cur");
    std::fs::rename(&message.path, cur.join(format!("{base}:2,{flags}")))
        .expect("rename a Maildir message");
}

/// Writes a new local message (LF line endings, as in a Maildir) into `dir`/new.
fn write_local(dir: &Path, id: &str, subject: &str) {
    let text = message(subject, "written locally").replace("\r\n", "\n");
    std::fs::write(
        dir.join("new").join(format!("1800000000.{id}.interop")),
        text,
    )
    .expect("write a Maildir message");
}

fn new_maildir(dir: PathBuf) -> PathBuf {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create a Maildir");
    }
    dir
}

#[test]
fn mbsync_full_sync_both_ways_with_concurrent_changes_on_both_sides() {
    let tmp = TempDir::new("mbsync-condstore");
    let server = Gannet::start(&tmp);
    for subject in ["far one", "far two", "far three"] {
        server.deliver(subject, "from the server");
    }
    let mut imap = Imap::login(server.imap_port());
    imap.append("Archive", "\\Seen", &message("archived", "old"));
    imap.ok("CREATE Projects/Alpha");
    imap.append("Projects/Alpha", "\\Flagged", &message("alpha one", "a"));
    imap.append("Projects/Alpha", "", &message("alpha two", "b"));
    imap.logout();

    // Locally: a message for the INBOX and a mailbox the server does not have.
    let near = tmp.sub("near");
    write_local(&new_maildir(near.join("INBOX")), "n1", "near one");
    let local = new_maildir(near.join("Local"));
    write_local(&local, "l1", "local note");
    set_local_flags(&read_maildir(&local, "Local")[0], "S");

    let capture = Capture::start(server.imap_port());
    std::fs::write(tmp.path().join("mbsyncrc"), config(capture.port(), &near))
        .expect("write mbsyncrc");

    // 1. The first, full sync: both sides end up with everything.
    let (out, session) = mbsync(&tmp, &capture);
    let sent = session.commands();
    println!(
        "first sync, CONDSTORE used: {}; commands:\n{}",
        uses_condstore(&sent),
        sent.join("\n")
    );
    assert!(sent.contains(&"CREATE \"Local\""), "{out}");
    let first = expected(&[
        ("INBOX", "far one", ""),
        ("INBOX", "far two", ""),
        ("INBOX", "far three", ""),
        ("INBOX", "near one", ""),
        ("Archive", "archived", "S"),
        ("Projects/Alpha", "alpha one", "F"),
        ("Projects/Alpha", "alpha two", ""),
        ("Local", "local note", "S"),
    ]);
    assert_eq!(state(&server.stored()), first, "the server\n{out}");
    assert_eq!(state(&local_messages(&near)), first, "the Maildir\n{out}");

    // 2. Changes on the server, by another client and by SMTP.
    let mut imap = Imap::login(server.imap_port());
    imap.ok("SELECT INBOX");
    let inbox = imap.ok("UID SEARCH ALL");
    assert_eq!(inbox, ["* SEARCH 1 2 3 4"], "far one..three, near one");
    imap.ok("UID STORE 1 +FLAGS.SILENT (\\Flagged)");
    imap.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)");
    imap.ok("UID EXPUNGE 2");
    imap.ok("UID MOVE 3 Archive");
    imap.ok("SELECT Projects/Alpha");
    imap.ok("UID STORE 1 -FLAGS.SILENT (\\Flagged)");
    imap.ok("UID STORE 1 +FLAGS.SILENT (\\Seen)");
    imap.ok("UNSELECT");
    imap.append("Projects/Alpha", "", &message("alpha three", "c"));
    imap.append("Local", "\\Answered", &message("local reply", "d"));
    imap.logout();
    server.deliver("far four", "from the server");

    // ... and in the Maildir: "far one" read here while flagged there, "archived"
    // answered, "alpha two" deleted, "local note" marked unread, new messages in
    // INBOX and Local.
    let mine = local_messages(&near);
    set_local_flags(find(&mine, "INBOX", "far one"), "S");
    set_local_flags(find(&mine, "Archive", "archived"), "RS");
    set_local_flags(find(&mine, "Projects/Alpha", "alpha two"), "T");
    set_local_flags(find(&mine, "Local", "local note"), "");
    write_local(&near.join("INBOX"), "n2", "near two");
    write_local(&local, "l2", "local second");

    // The second sync merges both sides' changes.
    let (out, session) = mbsync(&tmp, &capture);
    let sent = session.commands();
    println!(
        "second sync, CONDSTORE used: {}; commands:\n{}",
        uses_condstore(&sent),
        sent.join("\n")
    );
    if !uses_condstore(&sent) {
        // The full flag sync: every mailbox's flags read again.
        for mailbox in ["INBOX", "Archive", "Projects/Alpha", "Local"] {
            let select = format!("SELECT \"{mailbox}\"");
            let at = sent
                .iter()
                .position(|c| *c == select)
                .unwrap_or_else(|| panic!("no {select}: {out}"));
            assert!(
                sent[at + 1..]
                    .iter()
                    .take_while(|c| !c.starts_with("SELECT "))
                    .any(|c| c.starts_with("UID FETCH ") && c.ends_with("(UID FLAGS)")),
                "{mailbox}: flags not read\n{out}"
            );
        }
    }
    let second = expected(&[
        // Flagged on the server, read locally: both.
        ("INBOX", "far one", "FS"),
        ("INBOX", "near one", ""),
        ("INBOX", "near two", ""),
        ("INBOX", "far four", ""),
        ("Archive", "archived", "RS"),
        ("Archive", "far three", ""),
        ("Projects/Alpha", "alpha one", "S"),
        ("Projects/Alpha", "alpha three", ""),
        ("Local", "local note", ""),
        ("Local", "local reply", "R"),
        ("Local", "local second", ""),
    ]);
    assert_eq!(state(&server.stored()), second, "the server\n{out}");
    assert_eq!(state(&local_messages(&near)), second, "the Maildir\n{out}");
    let mut imap = Imap::login(server.imap_port());
    let flags = imap.uid_flags("INBOX");
    imap.logout();
    assert_eq!(
        flags,
        [
            (1, "\\Flagged \\Seen".to_string()),
            (4, String::new()),
            (5, String::new()),
            (6, String::new()),
        ],
        "far one, near one, far four by SMTP, near two uploaded last"
    );

    // 3. Nothing changed since: a third run changes nothing either way.
    let before = (state(&local_messages(&near)), server.stored().len());
    let (out, session) = mbsync(&tmp, &capture);
    for command in session.commands() {
        for change in ["APPEND", "STORE", "EXPUNGE", "BODY", "CREATE", "MOVE"] {
            assert!(
                !command.contains(change),
                "the no-op run sent {command:?}\n{out}"
            );
        }
    }
    assert_eq!(
        (state(&local_messages(&near)), server.stored().len()),
        before
    );
    assert!(
        server.stop().success(),
        "localserve exits cleanly on SIGTERM"
    );
}
