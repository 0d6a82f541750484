//! `gannet admin imapserve` as the tunnel of real clients, the way mail is migrated:
//! mbsync (isync) with `Tunnel` syncs both ways with a local Maildir, and neomutt with
//! `set tunnel` copies, flags, deletes and expunges in batch mode. Both get `* PREAUTH`,
//! so neither has a user or password. No server runs: the command opens the store
//! itself, and messages are put in and checked with `gannet import` and `gannet
//! export`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use interop::server::gannet_binary;
use interop::store::{StoredMessage, read_maildir, read_maildir_tree};
use interop::{TempDir, message, neomutt, require, run};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Writes a localserve configuration (account gannet, address gannet@localhost) in
/// `tmp`/server without serving it; returns the path of its gannet.toml.
fn configure(tmp: &TempDir) -> PathBuf {
    let dir = tmp.path().join("server");
    run(
        Command::new(gannet_binary())
            .args(["localserve", "--initonly", "--dir"])
            .arg(&dir),
        TIMEOUT,
    )
    .assert_success();
    dir.join("gannet.toml")
}

fn gannet(config: &Path) -> Command {
    let mut cmd = Command::new(gannet_binary());
    cmd.arg("-c").arg(config);
    cmd
}

/// Puts a message per subject in the account's Inbox, with `gannet import maildir`.
fn import(tmp: &TempDir, config: &Path, subjects: &[&str]) {
    let maildir = tmp.sub("import");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("create the Maildir");
    }
    for (i, subject) in subjects.iter().enumerate() {
        let file = maildir.join(format!("new/{}.{i}.interop", 1_800_000_000 + i));
        std::fs::write(file, message(subject, &format!("body of {subject}")))
            .expect("write a message");
    }
    run(
        gannet(config)
            .args(["import", "maildir", "gannet"])
            .arg(&maildir)
            .arg("Inbox"),
        TIMEOUT,
    )
    .assert_success();
}

/// Every message of the account as stored, read with `gannet export maildir` into
/// `tmp`/`name`.
fn stored(tmp: &TempDir, config: &Path, name: &str) -> Vec<StoredMessage> {
    let target = tmp.path().join(name);
    run(
        gannet(config)
            .args(["export", "maildir", "gannet"])
            .arg(&target),
        TIMEOUT,
    )
    .assert_success();
    read_maildir_tree(&target)
}

/// The command both clients run instead of connecting.
fn tunnel(config: &Path) -> String {
    format!(
        "{} -c {} admin imapserve gannet@localhost",
        gannet_binary().display(),
        config.display()
    )
}

/// (mailbox, subject, flags) of each stored message.
fn summary(messages: &[StoredMessage]) -> Vec<(String, String, String)> {
    messages
        .iter()
        .map(|m| (m.mailbox.clone(), m.subject().to_string(), m.flags.clone()))
        .collect()
}

fn expected(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(m, s, f)| (m.to_string(), s.to_string(), f.to_string()))
        .collect()
}

fn mbsyncrc(config: &Path, near: &Path) -> String {
    let near = near.display();
    format!(
        "IMAPAccount gannet\nTunnel \"{}\"\n\n\
         IMAPStore far\nAccount gannet\n\n\
         MaildirStore near\nPath {near}/\nInbox {near}/INBOX\nSubFolders Verbatim\n\n\
         Channel sync\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nExpunge Both\n\
         SyncState *\n",
        tunnel(config)
    )
}

fn mbsync(tmp: &TempDir) {
    let out = run(
        Command::new(require("mbsync", "isync"))
            .env("HOME", tmp.path())
            .arg("-c")
            .arg(tmp.path().join("mbsyncrc"))
            .arg("-a"),
        TIMEOUT,
    );
    out.assert_success();
    assert!(!out.stderr.contains("Error"), "{out}");
}

fn find<'a>(messages: &'a [StoredMessage], subject: &str) -> &'a StoredMessage {
    messages
        .iter()
        .find(|m| m.subject() == subject)
        .unwrap_or_else(|| panic!("no message {subject:?} in {messages:#?}"))
}

#[test]
fn mbsync_syncs_both_ways_through_a_tunnel() {
    let tmp = TempDir::new("tunnel-mbsync");
    let config = configure(&tmp);
    import(&tmp, &config, &["far one", "far two"]);
    let near = tmp.sub("near");
    std::fs::write(tmp.path().join("mbsyncrc"), mbsyncrc(&config, &near)).expect("write mbsyncrc");

    // First run: the account's messages arrive in the Maildir.
    mbsync(&tmp);
    let inbox = read_maildir(&near.join("INBOX"), "INBOX");
    assert_eq!(inbox.len(), 2, "{inbox:#?}");
    assert!(find(&inbox, "far one").content.contains("body of far one"));

    // Local changes go the other way: a new message, one read, one deleted.
    let local = message("written locally", "to upload").replace("\r\n", "\n");
    std::fs::write(near.join("INBOX/new/1800000000.local1.interop"), &local)
        .expect("add a message to the Maildir");
    let one = &find(&inbox, "far one").path;
    std::fs::rename(one, format!("{}S", one.display())).expect("mark as seen");
    let two = &find(&inbox, "far two").path;
    std::fs::rename(two, format!("{}T", two.display())).expect("mark as deleted");
    mbsync(&tmp);

    let stored = stored(&tmp, &config, "export");
    assert_eq!(
        summary(&stored),
        expected(&[("INBOX", "far one", "S"), ("INBOX", "written locally", "")])
    );
    assert!(
        find(&stored, "written locally")
            .content
            .contains("\r\nto upload\r\n"),
        "uploaded with CRLF line endings"
    );
}

fn muttrc(config: &Path, saved: &Path) -> String {
    // The tunnel replaces the connection: the URL's host is never contacted, and
    // PREAUTH leaves nothing to log in with.
    let access = format!(
        "set tunnel=\"{}\"\nset folder=\"imap://localhost/\"\n",
        tunnel(config)
    );
    neomutt::muttrc(&access, "", "", &neomutt::scenario_keys(saved))
}

#[test]
fn neomutt_reads_copies_flags_and_expunges_through_a_tunnel() {
    let tmp = TempDir::new("tunnel-neomutt");
    let config = configure(&tmp);
    import(&tmp, &config, &["mutt one", "mutt two", "mutt three"]);
    let saved = tmp.path().join("saved.mbox");
    let rc = tmp.path().join("muttrc");
    std::fs::write(&rc, muttrc(&config, &saved)).expect("write muttrc");

    let screen = neomutt::run(tmp.path(), &rc, "");

    let mbox = std::fs::read_to_string(&saved)
        .unwrap_or_else(|e| panic!("neomutt saved nothing ({e}):\n{screen}"));
    assert_eq!(
        mbox.lines().filter(|l| l.starts_with("From ")).count(),
        3,
        "{mbox}"
    );
    for subject in ["mutt one", "mutt two", "mutt three"] {
        assert!(mbox.contains(&format!("\nbody of {subject}\n")), "{mbox}");
    }
    assert_eq!(
        summary(&stored(&tmp, &config, "export")),
        expected(&[
            ("INBOX", "mutt one", "F"),
            ("INBOX", "mutt two", ""),
            ("Archive", "mutt two", ""),
        ]),
        "{screen}"
    );
}
