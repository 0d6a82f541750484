//! Transcripts of whole sessions against a real store and authenticator: what the
//! clients sent, what the server answered (insta snapshots), and what was stored.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::imap::Limits;
use crate::store::{Flags, Store};

const DOMAINS: &str = r#"
    [domains."example.org"]
    [accounts.alice]
    domain = "example.org"
    destinations = ["alice"]
    [accounts.bob]
    domain = "example.org"
    destinations = ["bob"]
"#;

const MESSAGE: &str = "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: lunch\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nShall we meet at noon?\r\n";

/// A server's worth of shared services over a data directory.
struct Server {
    services: Services,
    data: std::path::PathBuf,
}

impl Server {
    fn new(data: &Path) -> Server {
        std::fs::create_dir(data.join("tmp")).unwrap();
        let domains = toml::from_str(DOMAINS).unwrap();
        let auth =
            crate::auth::Authenticator::new(data, &domains, [10, 50, 250], "mail.example.org")
                .unwrap();
        auth.set_password("alice", "secret").unwrap();
        auth.set_password("bob", "secret").unwrap();
        Server {
            services: Services {
                store: Arc::new(Store::new(data.to_path_buf())),
                authenticator: Arc::new(auth),
                recent: Arc::default(),
            },
            data: data.to_path_buf(),
        }
    }

    fn settings(&self, plaintext_auth: bool) -> Settings {
        Settings {
            hostname: "mail.example.org".into(),
            starttls: true,
            plaintext_auth,
            limits: Limits::new(self.data.join("tmp"), 1 << 20),
            max_errors: 10,
            progress: Progress::default(),
        }
    }

    /// A client connection, greeted.
    fn connect(&self, log: &mut String) -> Client {
        let mut session = Session::new(
            self.settings(true),
            self.services.clone(),
            "192.0.2.7".parse().unwrap(),
            None,
        );
        show("S: ", &session.greeting(), log);
        Client {
            session,
            name: String::new(),
        }
    }

    /// A connection that is logged in as `user` (its login not in the transcript).
    fn logged_in(&self, user: &str, name: &str) -> Client {
        let mut client = self.connect(&mut String::new());
        client.send(&format!("L LOGIN {user} secret\r\n"), &mut String::new());
        client.name = name.to_string();
        client
    }
}

struct Client {
    session: Session,
    /// Shown before C:/S: when a transcript has several clients.
    name: String,
}

impl Client {
    /// Sends one write and records it and the answer.
    fn send(&mut self, write: &str, log: &mut String) -> Action {
        show(&format!("{}C: ", self.name), write.as_bytes(), log);
        let (out, action) = self.session.feed(write.as_bytes());
        show(&format!("{}S: ", self.name), &out, log);
        if !matches!(action, Action::Continue | Action::Idle) {
            log.push_str(&format!("-- {action:?}\n"));
        }
        action
    }

    /// What an idling session pushes after changes by others.
    fn pushed(&mut self, log: &mut String) {
        let (out, action) = self.session.changes_arrived();
        show(&format!("{}S: ", self.name), &out, log);
        assert_eq!(action, Action::Idle);
    }
}

/// Shows one side's bytes, a line each. The logged-in capability list is shown as
/// `<logged-in capabilities>`: it grows with every extension, and one test
/// (`logged_in_capabilities`) shows it in full.
fn show(prefix: &str, bytes: &[u8], out: &mut String) {
    for line in String::from_utf8_lossy(bytes).split_inclusive('\n') {
        out.push_str(prefix);
        out.push_str(&elide_capabilities(line).escape_debug().to_string());
        out.push('\n');
    }
}

fn elide_capabilities(line: &str) -> std::borrow::Cow<'_, str> {
    let full = Session::logged_in_capabilities(&Limits::new("/tmp".into(), 1 << 20));
    match line.find(&full) {
        Some(at) => format!(
            "{}<logged-in capabilities>{}",
            &line[..at],
            &line[at + full.len()..]
        )
        .into(),
        None => line.into(),
    }
}

#[test]
fn logged_in_capabilities() {
    let full = Session::logged_in_capabilities(&Limits::new("/tmp".into(), 1 << 20));
    insta::assert_snapshot!(full);
}

/// Runs one client's script (one entry per write) and returns the transcript.
fn transcript(server: &Server, script: &[&str]) -> String {
    let mut log = String::new();
    let mut client = server.connect(&mut log);
    for write in script {
        if client.send(write, &mut log) == Action::Close {
            break;
        }
    }
    log
}

fn append_message(server: &Server, account: &str, mailbox: &str, text: &str) {
    server
        .services
        .store
        .deliver(account, mailbox, text.as_bytes(), Default::default())
        .unwrap();
}

#[test]
fn login_logout_and_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a CAPABILITY\r\n",
            "b LOGIN alice wrong\r\n",
            "c LOGIN alice secret\r\n",
            "d CAPABILITY\r\n",
            "e LOGIN alice secret\r\n",
            "f ID (\"name\" \"test\" \"version\" \"1\")\r\n",
            "f2 SELECT INBOX\r\n",
            "u UNAUTHENTICATE\r\n",
            "u2 FETCH 1 FLAGS\r\n",
            "u3 CAPABILITY\r\n",
            "u4 LOGIN bob secret\r\n",
            "u5 UNAUTHENTICATE\r\n",
            "u6 UNAUTHENTICATE\r\n",
            "g LOGOUT\r\n",
        ]
    ));
}

#[test]
fn logins_need_tls_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut session = Session::new(
        server.settings(false),
        server.services.clone(),
        "192.0.2.7".parse().unwrap(),
        None,
    );
    let mut log = String::new();
    show("S: ", &session.greeting(), &mut log);
    for write in [
        "a LOGIN alice secret\r\n",
        "b AUTHENTICATE PLAIN\r\n",
        "c STARTTLS\r\n",
    ] {
        show("C: ", write.as_bytes(), &mut log);
        let (out, action) = session.feed(write.as_bytes());
        show("S: ", &out, &mut log);
        log.push_str(&format!("-- {action:?}\n"));
    }
    insta::assert_snapshot!(log);
}

#[test]
fn authenticate_with_and_without_initial_response() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    // "\0alice\0secret" and "\0alice\0wrong".
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "x LOGIN alice {20000}\r\n",
            "a AUTHENTICATE PLAIN AGFsaWNlAHdyb25n\r\n",
            "b AUTHENTICATE PLAIN\r\n",
            "*\r\n",
            "c AUTHENTICATE PLAIN\r\n",
            "AGFsaWNlAHNlY3JldA==\r\n",
            "d SELECT INBOX\r\n",
        ]
    ));
}

#[test]
fn append_fetch_store_search_expunge() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let size = MESSAGE.len();
    let append =
        format!("b APPEND INBOX (\\Flagged) \"22-Nov-2026 12:00:00 +0000\" {{{size}}}\r\n");
    let append_plus =
        format!("c APPEND INBOX \"22-Nov-2026 13:00:00 +0100\" {{{size}+}}\r\n{MESSAGE}\r\n");
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            &append,
            &format!("{MESSAGE}\r\n"),
            &append_plus,
            "d SELECT INBOX\r\n",
            "e FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n",
            "f FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]\r\n",
            "f2 FETCH 1 (PREVIEW)\r\n",
            "g UID FETCH 2 BODY[TEXT]\r\n",
            "h STORE 1 +FLAGS (\\Deleted $Label)\r\n",
            "i SEARCH DELETED\r\n",
            "j UID SEARCH RETURN (MIN COUNT) SUBJECT lunch\r\n",
            "k SEARCH UNSEEN\r\n",
            "l EXPUNGE\r\n",
            "m FETCH 1 (UID FLAGS)\r\n",
            "n FETCH 2 FLAGS\r\n",
            "o CLOSE\r\n",
        ]
    ));
    let account = server.services.store.account("alice").unwrap();
    let account = account.lock().unwrap();
    let inbox = account.mailbox("INBOX").unwrap();
    let messages = account.messages(inbox.id).unwrap();
    assert_eq!(messages.len(), 1, "one message expunged");
    assert_eq!(messages[0].uid, 2);
    assert!(
        messages[0].flags.contains(Flags::SEEN),
        "BODY[TEXT] set \\Seen"
    );
}

#[test]
fn copy_move_and_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    append_message(&server, "alice", "Inbox", MESSAGE);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b CREATE Projects/Gannet\r\n",
            "c CREATE Projects\r\n",
            "d CREATE Caf&AOk-\r\n",
            "e LIST \"\" *\r\n",
            "f LIST \"\" %\r\n",
            "g SELECT INBOX\r\n",
            "g2 FETCH 2:*,1:*,*:1,1 (UID)\r\n",
            "h COPY 1 Projects/Gannet\r\n",
            "i MOVE 2 Projects\r\n",
            "j COPY 1 Nowhere\r\n",
            "k STATUS Projects/Gannet (MESSAGES UIDNEXT UNSEEN SIZE)\r\n",
            "l RENAME Projects Work\r\n",
            "m SUBSCRIBE Work/Gannet\r\n",
            "n LSUB \"\" *\r\n",
            "o LIST (SUBSCRIBED) \"\" * RETURN (STATUS (MESSAGES))\r\n",
            "p DELETE Work\r\n",
            "q DELETE Work/Gannet\r\n",
            "r NAMESPACE\r\n",
            "s LIST \"\" \"\"\r\n",
        ]
    ));
}

#[test]
fn errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a SELECT INBOX\r\n",
            "b LOGIN alice secret\r\n",
            "c FETCH 1 FLAGS\r\n",
            "d SELECT Nowhere\r\n",
            "e SELECT INBOX\r\n",
            "f FETCH 2 FLAGS\r\n",
            "g FETCH 1 (FLAGS\r\n",
            "h FROB\r\n",
            "i STORE 1 +FLAGS (\\Recent)\r\n",
            "j SEARCH CHARSET KOI8-R TEXT x\r\n",
            "k EXAMINE INBOX\r\n",
            "l STORE 1 +FLAGS (\\Seen)\r\n",
        ]
    ));
}

#[test]
fn rev2_answers_with_esearch_and_no_recent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a LOGIN alice secret\r\n",
            "b ENABLE IMAP4rev2\r\n",
            "c SELECT INBOX\r\n",
            "d SEARCH ALL\r\n",
            "e SEARCH RETURN (SAVE) ALL\r\n",
            "f FETCH $ (FLAGS)\r\n",
            "g SEARCH NOTHINGHERE\r\n",
        ]
    ));
}

#[test]
fn idle_pushes_changes_by_other_sessions_and_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 SELECT INBOX\r\n", &mut log);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 IDLE\r\n", &mut log);
    log.push_str("-- a message is delivered by SMTP\n");
    append_message(&server, "alice", "Inbox", MESSAGE);
    b.pushed(&mut log);
    a.send("a2 STORE 1 +FLAGS.SILENT (\\Seen)\r\n", &mut log);
    b.pushed(&mut log);
    a.send("a3 STORE 2 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    a.send("a4 EXPUNGE\r\n", &mut log);
    b.pushed(&mut log);
    b.send("DONE\r\n", &mut log);
    b.send("b3 FETCH 1:* (UID FLAGS)\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn expunges_wait_outside_fetch_store_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    append_message(&server, "alice", "Inbox", MESSAGE);
    let mut log = String::new();
    let mut a = server.logged_in("alice", "A");
    let mut b = server.logged_in("alice", "B");
    a.send("a1 SELECT INBOX\r\n", &mut log);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    a.send("a2 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", &mut log);
    a.send("a3 EXPUNGE\r\n", &mut log);
    b.send("b2 FETCH 2 (UID)\r\n", &mut log);
    b.send("b3 SEARCH ALL\r\n", &mut log);
    b.send("b4 NOOP\r\n", &mut log);
    b.send("b5 FETCH 1 (UID)\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn remaining_commands_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    append_message(&server, "alice", "Inbox", MESSAGE);
    append_message(&server, "alice", "Inbox", MESSAGE);
    insta::assert_snapshot!(transcript(
        &server,
        &[
            "a ID NIL\r\n",
            "b AUTHENTICATE X-UNKNOWN\r\n",
            "c LOGIN alice secret\r\n",
            "d STARTTLS\r\n",
            "e APPEND Nowhere {3}\r\n",
            "abc\r\n",
            "f APPEND INBOX {2000000}\r\n",
            "g DELETE INBOX\r\n",
            "h SUBSCRIBE Nowhere\r\n",
            "i STATUS Nowhere (MESSAGES)\r\n",
            "j CREATE Important (USE (\\Flagged))\r\n",
            "k CREATE Old (USE (\\Archive))\r\n",
            "l LIST (SPECIAL-USE) \"\" *\r\n",
            "m ENABLE UTF8=ACCEPT IMAP4rev2\r\n",
            "n CREATE \"Grüße\"\r\n",
            "o LIST \"\" Gr*\r\n",
            "p SELECT INBOX\r\n",
            "q STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n",
            "r UID EXPUNGE 2\r\n",
            "s EXAMINE INBOX\r\n",
            "t MOVE 1 Old\r\n",
            "u EXPUNGE\r\n",
            "u2 CHECK\r\n",
            "v UNSELECT\r\n",
            "v2 CHECK\r\n",
            "w IDLE\r\n",
            "nonsense\r\n",
            "x RENAME INBOX Saved\r\n",
            "y STATUS Saved (MESSAGES UIDVALIDITY)\r\n",
            "z STATUS INBOX (MESSAGES)\r\n",
        ]
    ));
}

#[test]
fn a_big_fetch_goes_out_in_parts_before_the_next_command() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    // 640 KB each: two of them pass the output pause, the third waits.
    let line = format!("{}\r\n", "x".repeat(78));
    let big = format!("Subject: big\r\n\r\n{}", line.repeat(8_000));
    let mut client = server.logged_in("alice", "");
    for _ in 0..3 {
        // Each literal is spooled to a file as it arrives (past 64 KiB).
        let (go_on, _) = client
            .session
            .feed(format!("a APPEND INBOX {{{}}}\r\n", big.len()).as_bytes());
        assert_eq!(go_on, b"+ ready for the literal\r\n");
        let (done, _) = client.session.feed(format!("{big}\r\n").as_bytes());
        assert!(
            String::from_utf8_lossy(&done).starts_with("a OK [APPENDUID"),
            "{}",
            String::from_utf8_lossy(&done)
        );
    }
    client.session.feed(b"s SELECT INBOX\r\n");
    let (first, action) = client
        .session
        .feed(b"f FETCH 1:* BODY.PEEK[]\r\nn NOOP\r\n");
    let first = String::from_utf8_lossy(&first);
    assert_eq!(action, Action::More);
    assert!(first.contains("* 1 FETCH") && first.contains("* 2 FETCH"));
    assert!(!first.contains("* 3 FETCH") && !first.contains("f OK"));
    let (rest, action) = client.session.feed(b"");
    let rest = String::from_utf8_lossy(&rest);
    assert_eq!(action, Action::Continue);
    let (three, done, noop) = (
        rest.find("* 3 FETCH"),
        rest.find("f OK FETCH done"),
        rest.find("n OK"),
    );
    assert!(
        three < done && done < noop && three.is_some(),
        "{}",
        &rest[rest.len() - 200..]
    );
}

mod append;
mod compress;
mod condstore;
mod metadata;
mod notify;
mod objectid;
mod quota;
mod sort;
mod uidonly;
