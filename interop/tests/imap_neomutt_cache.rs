//! neomutt with a header cache, CONDSTORE and QRESYNC against gannet, over three runs
//! in batch mode (script(1) for the terminal, `push` for the keys, as in
//! imap_neomutt.rs), with another IMAP connection changing the INBOX between them:
//!
//! 1. the first run downloads every header and fills the cache;
//! 2. meanwhile flags change, a message is expunged and two arrive; the second run
//!    must show exactly the current state while downloading only the new headers,
//!    and it flags a message itself;
//! 3. flags change again (no expunge) and one more message arrives; the third run
//!    resynchronizes with `UID FETCH ... (CHANGEDSINCE n VANISHED)` alone, without
//!    rescanning the mailbox, and shows the current state, its own change included.
//!
//! Each run copies every message to a local mbox: neomutt writes its view of the
//! flags there (Status: R for \Seen, X-Status: F for \Flagged, A for \Answered).
//! The IMAP traffic is recorded by a relay between neomutt and gannet
//! (interop::capture), because localserve does not log IMAP commands at its info
//! level: it shows which headers were fetched and how the mailbox was resynchronized.
//!
//! What NeoMutt 20220429 (Debian 12) does, measured with this test:
//! - with `imap_qresync=yes` it sends `ENABLE QRESYNC` and then `SELECT "INBOX"
//!   (CONDSTORE)`, not `SELECT ... (QRESYNC (...))`; the resync is
//!   `UID FETCH 1:<last cached UID> (FLAGS) (CHANGEDSINCE <cached modseq> VANISHED)`
//!   followed by a header FETCH of the new message numbers only;
//! - when that resync reports `VANISHED (EARLIER) 3` for a message in the middle,
//!   it numbers its cached messages from the cached UID list (expunged one
//!   included) and leaves number 3 empty instead of moving the later ones down, so
//!   it fetches the headers of "3,6": UID 4 (cached) again, UID 7, and not UID 6.
//!   Its own consistency check then fails ("QRESYNC failed. Reopening mailbox." in
//!   its debug log), it drops its QRESYNC state and rescans with
//!   `UID FETCH 1:n (UID FLAGS)`, taking the old headers from the cache and
//!   fetching the new ones. Dovecot 2.3.19 gets exactly the same commands and
//!   gives the same answers, so that is neomutt's, not the server's: step 2 allows
//!   that one extra header, and step 3, without expunges, requires the QRESYNC path;
//! - Debian builds it without zlib: it has no `imap_deflate` and never sends
//!   COMPRESS. The test turns `imap_deflate` on and requires a compressed session
//!   when the installed neomutt has the variable, and otherwise requires that the
//!   session stayed uncompressed (so the check is not vacuous in either case).
//!   COMPRESS=DEFLATE with a real client is covered by imap_mbsync_condstore.rs:
//!   mbsync uses it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use interop::capture::{Capture, Transcript};
use interop::imap::Imap;
use interop::server::{LOGIN, PASSWORD};
use interop::{Gannet, Output, TempDir, message, neomutt, require, run};

/// Whether this neomutt has `$imap_deflate` (built with zlib).
fn neomutt_has_imap_deflate() -> bool {
    let out = run(
        Command::new(require("neomutt", "neomutt")).args([
            "-n",
            "-F",
            "/dev/null",
            "-Q",
            "imap_deflate",
        ]),
        Duration::from_secs(10),
    );
    out.status.success() && out.stdout.contains("imap_deflate")
}

fn muttrc(port: u16, cache: &Path, keys: &str, deflate: bool) -> String {
    let deflate = if deflate {
        "set imap_deflate=yes\n"
    } else {
        ""
    };
    let access = format!(
        "set folder=\"imap://127.0.0.1:{port}/\"\nset ssl_starttls=no\nset ssl_force_tls=no\n\
         set imap_user=\"{LOGIN}\"\nset imap_pass=\"{PASSWORD}\"\n"
    );
    // message_cachedir stays empty, so only headers are cached: bodies always come
    // from the server.
    let extra = format!("set imap_condstore=yes\nset imap_qresync=yes\n{deflate}");
    let cache = format!("{}/", cache.display());
    neomutt::muttrc(&access, &cache, &extra, &format!("{keys}<quit>"))
}

struct Client {
    tmp: PathBuf,
    port: u16,
    cache: PathBuf,
    deflate: bool,
}

impl Client {
    /// One neomutt run with `keys`, which copies every message to `<name>.mbox`
    /// first; returns the mbox, neomutt's screen and the IMAP session it had.
    fn run(&self, capture: &Capture, name: &str, keys: &str) -> (Vec<Mail>, Output, Transcript) {
        let saved = self.tmp.join(format!("{name}.mbox"));
        let keys = format!(
            "<tag-pattern>~A<enter><tag-prefix><copy-message>{}<enter><untag-pattern>~A<enter>{keys}",
            saved.display()
        );
        let rc = self.tmp.join(format!("{name}.muttrc"));
        std::fs::write(&rc, muttrc(self.port, &self.cache, &keys, self.deflate))
            .expect("write muttrc");
        // neomutt's own trace, kept with the test directory for a failure's reader.
        let debug_log = self.tmp.join(format!("{name}.neomutt-debug"));
        let options = format!("-d 5 -l {}", debug_log.display());
        let screen = neomutt::run(&self.tmp, &rc, &options);
        let sessions = capture.take();
        assert_eq!(sessions.len(), 1, "one IMAP connection per run\n{screen}");
        let session = sessions[0].transcript(&self.tmp);
        let mbox = std::fs::read_to_string(&saved)
            .unwrap_or_else(|e| panic!("neomutt saved nothing ({e}):\n{screen}\n{session:?}"));
        (parse_mbox(&mbox), screen, session)
    }
}

/// A message as neomutt saved it, with its view of the flags.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Mail {
    subject: String,
    /// IMAP names, sorted: \Answered \Flagged \Seen.
    flags: String,
}

fn mail(subject: &str, flags: &str) -> Mail {
    Mail {
        subject: subject.to_string(),
        flags: flags.to_string(),
    }
}

/// The messages of an mbox that neomutt wrote, with the flags from its Status (R:
/// read) and X-Status (F: flagged, A: answered) headers.
fn parse_mbox(mbox: &str) -> Vec<Mail> {
    let mut mails = Vec::new();
    let mut in_header = false;
    let mut current: Option<(String, String, String)> = None;
    let mut finish = |current: &mut Option<(String, String, String)>| {
        if let Some((subject, status, xstatus)) = current.take() {
            let mut flags = Vec::new();
            if xstatus.contains('A') {
                flags.push("\\Answered");
            }
            if xstatus.contains('F') {
                flags.push("\\Flagged");
            }
            if status.contains('R') {
                flags.push("\\Seen");
            }
            mails.push(Mail {
                subject,
                flags: flags.join(" "),
            });
        }
    };
    for line in mbox.lines() {
        if line.starts_with("From ") {
            finish(&mut current);
            current = Some(Default::default());
            in_header = true;
        } else if line.is_empty() {
            in_header = false;
        } else if in_header && let Some((subject, status, xstatus)) = current.as_mut() {
            if let Some(v) = line.strip_prefix("Subject: ") {
                *subject = v.to_string();
            } else if let Some(v) = line.strip_prefix("Status: ") {
                *status = v.to_string();
            } else if let Some(v) = line.strip_prefix("X-Status: ") {
                *xstatus = v.to_string();
            }
        }
    }
    finish(&mut current);
    mails.sort();
    mails
}

/// The UIDs whose headers the server sent in `session` (`BODY[HEADER.FIELDS ...]`,
/// what neomutt fetches for messages missing from its cache).
fn header_uids(session: &Transcript) -> BTreeSet<u32> {
    session
        .to_client
        .split("\r\n")
        .filter(|l| l.starts_with("* ") && l.contains("BODY[HEADER.FIELDS"))
        .map(|l| {
            l.split_once("UID ")
                .and_then(|(_, rest)| rest.split([' ', ')']).next()?.parse().ok())
                .unwrap_or_else(|| panic!("a header FETCH without UID: {l}"))
        })
        .collect()
}

fn deliver_all(server: &Gannet, subjects: &[&str]) {
    for subject in subjects {
        server.deliver(subject, &format!("body of {subject}"));
    }
}

fn files_in(dir: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("read the cache directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            count += files_in(&path);
        } else if path.metadata().map(|m| m.len() > 0).unwrap_or(false) {
            count += 1;
        }
    }
    count
}

#[test]
fn neomutt_header_cache_resyncs_with_condstore_and_qresync() {
    let tmp = TempDir::new("neomutt-cache");
    let server = Gannet::start(&tmp);
    deliver_all(
        &server,
        &[
            "cache one",
            "cache two",
            "cache three",
            "cache four",
            "cache five",
        ],
    );
    let capture = Capture::start(server.imap_port());
    let deflate = neomutt_has_imap_deflate();
    let client = Client {
        tmp: tmp.path().to_path_buf(),
        port: capture.port(),
        cache: tmp.sub("hcache"),
        deflate,
    };
    let compression = |session: &Transcript, screen: &Output| {
        if deflate {
            let c = session.compressed.as_ref().unwrap_or_else(|| {
                panic!("imap_deflate=yes but no COMPRESS:\n{screen}\n{session:#?}")
            });
            // Compressed on the wire: no command is readable there.
            assert!(
                !String::from_utf8_lossy(&c.wire_to_server).contains("FETCH"),
                "{session:#?}"
            );
        } else {
            assert!(session.compressed.is_none(), "{session:#?}");
            assert!(
                !session.to_server.contains("COMPRESS"),
                "a neomutt without imap_deflate sent COMPRESS:\n{session:#?}"
            );
        }
    };

    // 1. The first run: every header comes from the server and goes into the cache.
    let (seen, screen, session) = client.run(&capture, "run1", "");
    compression(&session, &screen);
    assert_eq!(
        seen,
        [
            "cache five",
            "cache four",
            "cache one",
            "cache three",
            "cache two"
        ]
        .map(|s| mail(s, "")),
        "{screen}"
    );
    assert_eq!(
        header_uids(&session),
        BTreeSet::from([1, 2, 3, 4, 5]),
        "{session:#?}"
    );
    let sent = session.commands();
    assert!(
        sent.contains(&"ENABLE QRESYNC"),
        "QRESYNC enabled: {sent:#?}"
    );
    assert!(
        sent.iter()
            .any(|c| c.starts_with("SELECT \"INBOX\" (CONDSTORE") || c.contains("(QRESYNC")),
        "SELECT with CONDSTORE: {sent:#?}"
    );
    assert!(
        session.to_client.contains("[HIGHESTMODSEQ "),
        "{session:#?}"
    );
    assert!(
        files_in(&client.cache) > 0,
        "the header cache in {} is empty",
        client.cache.display()
    );

    // 2. Meanwhile, another client: flags, an expunge and two new messages.
    let mut imap = Imap::login(server.imap_port());
    imap.ok("SELECT INBOX");
    imap.ok("UID STORE 1 +FLAGS.SILENT (\\Flagged)");
    imap.ok("UID STORE 2 +FLAGS.SILENT (\\Seen \\Answered)");
    imap.ok("UID STORE 3 +FLAGS.SILENT (\\Deleted)");
    imap.ok("UID EXPUNGE 3");
    imap.logout();
    deliver_all(&server, &["cache six"]);
    let mut imap = Imap::login(server.imap_port());
    assert_eq!(
        imap.append(
            "INBOX",
            "\\Seen",
            &message("cache seven", "body of cache seven")
        ),
        7
    );
    imap.logout();

    // The second run shows the server's state, fetching only the new headers, and
    // flags "cache four" itself.
    let (seen, screen, session) = client.run(
        &capture,
        "run2",
        "<tag-pattern>~s 'cache four'<enter><tag-prefix><flag-message>\
         <untag-pattern>~A<enter><sync-mailbox>",
    );
    compression(&session, &screen);
    assert_eq!(
        seen,
        [
            mail("cache five", ""),
            mail("cache four", ""),
            mail("cache one", "\\Flagged"),
            mail("cache seven", "\\Seen"),
            mail("cache six", ""),
            mail("cache two", "\\Answered \\Seen"),
        ],
        "{screen}"
    );
    // The new messages' headers are fetched, the cached ones are not. Except one:
    // neomutt keeps the expunged message's sequence number (3) empty after
    // `VANISHED (EARLIER) 3` instead of moving the later messages down, so it
    // fetches the headers of "FETCH 3,6", which are UID 4's (cached) and UID 7's,
    // then its consistency check fails and it fetches 5:6 (UIDs 6 and 7). Dovecot
    // 2.3.19 gets exactly the same commands.
    let fetched = header_uids(&session);
    assert!(
        fetched.is_superset(&BTreeSet::from([6, 7]))
            && fetched.is_subset(&BTreeSet::from([4, 6, 7])),
        "only the new messages' headers are fetched, the rest come from the cache: \
         {fetched:?}\n{session:#?}"
    );
    let sent = session.commands();
    assert!(
        sent.iter().any(|c| c.contains("(CHANGEDSINCE ")),
        "flag changes asked with CHANGEDSINCE: {sent:#?}"
    );
    assert!(
        session.to_client.contains("* VANISHED (EARLIER) 3\r\n"),
        "the expunge reported as VANISHED (EARLIER): {session:#?}"
    );
    let mut imap = Imap::login(server.imap_port());
    assert_eq!(
        imap.uid_flags("INBOX"),
        [
            (1, "\\Flagged".to_string()),
            (2, "\\Answered \\Seen".to_string()),
            (4, "\\Flagged".to_string()),
            (5, String::new()),
            (6, String::new()),
            (7, "\\Seen".to_string()),
        ],
        "neomutt's flag reached the server"
    );

    // 3. Flags change again, without an expunge, and one message arrives.
    imap.ok("SELECT INBOX");
    imap.ok("UID STORE 1 -FLAGS.SILENT (\\Flagged)");
    imap.ok("UID STORE 5 +FLAGS.SILENT (\\Flagged \\Seen)");
    imap.logout();
    deliver_all(&server, &["cache eight"]);

    let (seen, screen, session) = client.run(&capture, "run3", "");
    compression(&session, &screen);
    assert_eq!(
        seen,
        [
            mail("cache eight", ""),
            mail("cache five", "\\Flagged \\Seen"),
            mail("cache four", "\\Flagged"),
            mail("cache one", ""),
            mail("cache seven", "\\Seen"),
            mail("cache six", ""),
            mail("cache two", "\\Answered \\Seen"),
        ],
        "{screen}"
    );
    assert_eq!(header_uids(&session), BTreeSet::from([8]), "{session:#?}");
    let sent = session.commands();
    let resync: Vec<&&str> = sent
        .iter()
        .filter(|c| c.starts_with("UID FETCH") && c.contains("(CHANGEDSINCE "))
        .collect();
    assert!(
        resync.len() == 1 && resync[0].ends_with(" VANISHED)"),
        "one QRESYNC flag resync: {sent:#?}"
    );
    assert!(
        !sent
            .iter()
            .any(|c| c.starts_with("UID FETCH") && c.ends_with("(UID FLAGS)")),
        "no full rescan of the flags (neomutt's QRESYNC check passed): {sent:#?}"
    );
    // Only the three changed messages (1 and 5 by the other client, 4 by neomutt in
    // the second run, after the modseq it cached) come back, not all seven.
    let changed: BTreeSet<u32> = session
        .to_client
        .split("\r\n")
        .filter(|l| l.starts_with("* ") && l.contains(" MODSEQ (") && !l.contains("BODY["))
        .filter_map(|l| {
            l.split_once("UID ")?
                .1
                .split([' ', ')'])
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(changed, BTreeSet::from([1, 4, 5]), "{session:#?}");

    let stored: Vec<(String, String)> = server
        .stored()
        .iter()
        .map(|m| (m.subject().to_string(), m.flags.clone()))
        .collect();
    let expected = |s: &str, f: &str| (s.to_string(), f.to_string());
    assert_eq!(
        stored,
        [
            expected("cache one", ""),
            expected("cache two", "RS"),
            expected("cache four", "F"),
            expected("cache five", "FS"),
            expected("cache six", ""),
            expected("cache seven", "S"),
            expected("cache eight", ""),
        ]
    );
    assert!(
        server.stop().success(),
        "localserve exits cleanly on SIGTERM"
    );
}
