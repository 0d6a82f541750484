//! mbsync (isync) synchronizing the gannet account both ways with a local Maildir,
//! once over plaintext IMAP with LOGIN and once over IMAPS verifying the generated
//! certificate: server mail arrives in the Maildir, a local message is uploaded,
//! local flag changes and deletions reach the server, and a further run is a no-op.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use interop::imap::Imap;
use interop::server::{LOGIN, PASSWORD};
use interop::store::{StoredMessage, read_maildir};
use interop::{Gannet, Output, TempDir, message, require, run};

#[derive(Clone, Copy)]
enum Transport {
    Plain,
    Imaps,
}

fn config(server: &Gannet, near: &Path, transport: Transport) -> String {
    let far = match transport {
        // mbsync warns that the password goes in the clear and goes ahead.
        Transport::Plain => format!(
            "Host 127.0.0.1\nPort {}\nSSLType None\nAuthMechs LOGIN\n",
            server.imap_port()
        ),
        Transport::Imaps => format!(
            "Host localhost\nPort {}\nSSLType IMAPS\nCertificateFile {}\n",
            server.imaps_port(),
            server.cert().display()
        ),
    };
    let near = near.display();
    // Sections are separated by blank lines; SyncState * keeps the state in the
    // Maildir itself, not in $HOME.
    format!(
        "IMAPAccount gannet\n{far}User {LOGIN}\nPass {PASSWORD}\n\n\
         IMAPStore far\nAccount gannet\n\n\
         MaildirStore near\nPath {near}/\nInbox {near}/INBOX\nSubFolders Verbatim\n\n\
         Channel sync\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nExpunge Both\n\
         SyncState *\n"
    )
}

fn mbsync(tmp: &TempDir, extra: &[&str]) -> Output {
    let out = run(
        Command::new(require("mbsync", "isync"))
            .env("HOME", tmp.path())
            .arg("-c")
            .arg(tmp.path().join("mbsyncrc"))
            .args(extra)
            .arg("-a"),
        Duration::from_secs(30),
    );
    out.assert_success();
    assert!(!out.stderr.contains("Error"), "{out}");
    out
}

fn find<'a>(messages: &'a [StoredMessage], subject: &str) -> &'a StoredMessage {
    messages
        .iter()
        .find(|m| m.subject() == subject)
        .unwrap_or_else(|| panic!("no message {subject:?} in {messages:#?}"))
}

/// `message` without the X-TUID header mbsync adds to every message it propagates,
/// in either direction, to find it again after storing it.
fn without_tuid(message: &str) -> String {
    message
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("X-TUID: "))
        .collect()
}

/// Every file in the Maildir tree, to compare runs.
fn listing(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read the Maildir") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                names.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    names.sort();
    names
}

fn sync_both_ways(name: &str, transport: Transport) {
    let tmp = TempDir::new(name);
    let server = Gannet::start(&tmp);
    for subject in ["far one", "far two"] {
        server.deliver(subject, "from the server");
    }
    let mut imap = Imap::login(server.imap_port());
    imap.append("Archive", "\\Seen", &message("archived", "old"));
    imap.logout();
    let near = tmp.sub("near");
    std::fs::write(
        tmp.path().join("mbsyncrc"),
        config(&server, &near, transport),
    )
    .expect("write mbsyncrc");

    // First run: the server's mailboxes appear locally, with their flags.
    mbsync(&tmp, &[]);
    let inbox = read_maildir(&near.join("INBOX"), "INBOX");
    assert_eq!(inbox.len(), 2, "{inbox:#?}");
    let stored = server.stored();
    for subject in ["far one", "far two"] {
        // The Maildir copy has LF line endings; it is otherwise the same.
        assert_eq!(
            without_tuid(&find(&inbox, subject).content),
            find(&stored, subject).content.replace("\r\n", "\n")
        );
        assert_eq!(find(&inbox, subject).flags, "");
    }
    let archive = read_maildir(&near.join("Archive"), "Archive");
    assert_eq!(archive.len(), 1, "{archive:#?}");
    assert_eq!(find(&archive, "archived").flags, "S");
    for mailbox in ["Drafts", "Junk", "Sent", "Trash"] {
        assert!(
            near.join(mailbox).join("cur").is_dir(),
            "{mailbox} not created"
        );
    }

    // Local changes: a new message, one message read, one deleted.
    let local = message("written locally", "to upload").replace("\r\n", "\n");
    std::fs::write(near.join("INBOX/new/1800000000.local1.interop"), &local)
        .expect("add a message to the Maildir");
    let one = &find(&inbox, "far one").path;
    std::fs::rename(
        one,
        format!("{}S", one.display().to_string().trim_end_matches('S')),
    )
    .expect("mark as seen");
    let two = &find(&inbox, "far two").path;
    std::fs::rename(two, format!("{}T", two.display())).expect("mark as deleted");
    mbsync(&tmp, &[]);

    let mut imap = Imap::login(server.imap_port());
    let flags = imap.uid_flags("INBOX");
    imap.logout();
    assert_eq!(
        flags,
        [(1, "\\Seen".to_string()), (3, String::new())],
        "far one seen, far two expunged, the local message uploaded as UID 3"
    );
    let stored = server.stored();
    let subjects: Vec<(&str, &str, &str)> = stored
        .iter()
        .map(|m| (m.mailbox.as_str(), m.subject(), m.flags.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("INBOX", "far one", "S"),
            ("INBOX", "written locally", ""),
            ("Archive", "archived", "S")
        ]
    );
    // mbsync sends CRLF, as IMAP requires.
    assert_eq!(
        without_tuid(&find(&stored, "written locally").content),
        local.replace('\n', "\r\n")
    );
    let local_inbox = read_maildir(&near.join("INBOX"), "INBOX");
    assert_eq!(
        local_inbox.len(),
        2,
        "expunged locally too: {local_inbox:#?}"
    );

    // Nothing changed since: a further run sends no change either way. -Dn prints
    // the IMAP commands (">>> 5 UID FETCH ...").
    let before = (listing(&near), server.stored().len());
    let noop = mbsync(&tmp, &["-Dn"]);
    let sent: Vec<&str> = noop
        .stdout
        .lines()
        .chain(noop.stderr.lines())
        .filter_map(|l| l.strip_prefix(">>> "))
        .collect();
    assert!(
        sent.iter().any(|c| c.contains("SELECT \"INBOX\"")),
        "{noop}"
    );
    for command in sent {
        for change in ["APPEND", "STORE", "EXPUNGE", "BODY", "CREATE", "MOVE"] {
            assert!(
                !command.contains(change),
                "the no-op run sent {command:?}\n{noop}"
            );
        }
    }
    assert_eq!((listing(&near), server.stored().len()), before);
    assert!(
        server.stop().success(),
        "localserve exits cleanly on SIGTERM"
    );
}

#[test]
fn mbsync_syncs_both_ways_over_plain_imap() {
    sync_both_ways("mbsync-plain", Transport::Plain);
}

#[test]
fn mbsync_syncs_both_ways_over_imaps() {
    sync_both_ways("mbsync-imaps", Transport::Imaps);
}
