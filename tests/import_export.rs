//! `gannet import`, `gannet export` and `gannet store verify`: round trips through
//! mbox and maildir with the message corpus in tests/fixtures/mail-corpus (see its
//! README.md), bad input, and verify's exit codes.

mod common;

use common::{gannet, text};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gannet::store::{
    self, Account, Flags, ImportOptions, MailFormat, MessageError, NewMessage, OnError, Phase,
    Progress, TransferError,
};

/// Collects the errors an import or export reports.
#[derive(Default)]
struct Errors(Vec<String>);

impl Progress for Errors {
    fn start(&mut self, _: Phase, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn error(&mut self, error: &MessageError) {
        self.0.push(error.to_string());
    }
}

/// A stored message: bytes, flags, keywords, internal date.
type Stored = (Vec<u8>, Flags, Vec<String>, i64);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail-corpus")
}

/// The corpus messages in the order of corpus.mbox, as they are on disk.
fn corpus() -> Vec<Vec<u8>> {
    let list = fs::read_to_string(corpus_dir().join("messages.txt")).unwrap();
    list.split_whitespace()
        .map(|name| fs::read(corpus_dir().join(name)).unwrap())
        .collect()
}

fn open(dir: &Path) -> Account {
    Account::open(dir, "test").unwrap()
}

fn import(
    account: &mut Account,
    format: MailFormat,
    path: &Path,
    mailbox: Option<&str>,
) -> store::TransferSummary {
    let options = ImportOptions {
        mailbox: mailbox.map(str::to_string),
        on_error: OnError::Stop,
    };
    let mut errors = Errors::default();
    let summary = store::import(account, format, path, &options, &mut errors).unwrap();
    assert_eq!(errors.0, Vec::<String>::new());
    summary
}

fn export(account: &Account, format: MailFormat, dir: &Path) -> store::TransferSummary {
    let mut errors = Errors::default();
    let summary = store::export(account, format, dir, OnError::Stop, &mut errors).unwrap();
    assert_eq!(errors.0, Vec::<String>::new());
    summary
}

fn messages(account: &Account, mailbox: &str) -> Vec<Stored> {
    let mailbox = account.mailbox(mailbox).unwrap();
    account
        .messages(mailbox.id)
        .unwrap()
        .into_iter()
        .map(|m| {
            let data = account.read(m.id).unwrap();
            (data, m.flags, m.keywords, m.internal_date)
        })
        .collect()
}

/// Every mailbox with its messages.
fn everything(account: &Account) -> Vec<(String, Vec<Stored>)> {
    account
        .mailboxes()
        .unwrap()
        .into_iter()
        .map(|m| (m.name.clone(), messages(account, &m.name)))
        .collect()
}

#[test]
fn the_corpus_goes_through_mbox_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = corpus_dir().join("corpus.mbox");
    let mut account = open(&tmp.path().join("a"));
    let summary = import(&mut account, MailFormat::Mbox, &fixture, Some("Corpus"));
    let expected = corpus();
    assert_eq!(summary.messages, expected.len() as u64);

    let imported = messages(&account, "Corpus");
    for (i, ((data, _, _, _), original)) in imported.iter().zip(&expected).enumerate() {
        // mbox cannot keep a message without a final line feed: it gets one.
        let mut original = original.clone();
        if !original.ends_with(b"\n") {
            original.push(b'\n');
        }
        assert!(*data == original, "message {}", i + 1);
    }
    let dates: Vec<i64> = imported.iter().map(|m| m.3).collect();
    assert_eq!(dates[0], 1_577_836_800, "Wed Jan  1 00:00:00 2020");
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");

    let out = tmp.path().join("out");
    export(&account, MailFormat::Mbox, &out);
    assert!(
        fs::read(out.join("Corpus.mbox")).unwrap() == fs::read(&fixture).unwrap(),
        "the export is the fixture, which make-mbox.py wrote independently"
    );
    assert_eq!(fs::read(out.join("Inbox.mbox")).unwrap(), b"");

    let mut again = open(&tmp.path().join("b"));
    import(&mut again, MailFormat::Mbox, &out.join("Corpus.mbox"), None);
    assert_eq!(messages(&again, "Inbox"), imported);
}

#[test]
fn the_corpus_goes_through_maildir_with_flags_keywords_and_dates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut account = open(&tmp.path().join("a"));
    let names = ["Inbox", "Lists/Rust", "Entwürfe", "v1.2 & more"];
    for name in &names[1..] {
        account.create_mailbox(name, None).unwrap();
    }
    // Every message as it is (final line feed or not), with every combination of
    // flags, some keywords, and increasing dates from before the epoch (a maildir
    // keeps the order of the dates, not of the UIDs).
    for (i, data) in corpus().iter().enumerate() {
        let mailbox = account.mailbox(names[i % names.len()]).unwrap();
        let new = NewMessage {
            flags: Flags((i % 32) as u8),
            keywords: match i % 3 {
                0 => vec![],
                1 => vec!["$Label1".to_string()],
                _ => vec!["$Label1".to_string(), "work".to_string()],
            },
            internal_date: Some(-1_000_000_000 + 50_000_000 * i as i64),
            ..NewMessage::default()
        };
        let staged = account.stage(data).unwrap();
        account.deliver(mailbox.id, vec![(staged, new)]).unwrap();
    }

    let out = tmp.path().join("maildir");
    let summary = export(&account, MailFormat::Maildir, &out);
    assert_eq!(summary.messages, corpus().len() as u64);
    assert!(out.join(".Entw&APw-rfe/maildirfolder").exists());
    assert!(out.join(".v1&AC4-2 &- more/cur").is_dir());
    assert_eq!(
        fs::read_to_string(out.join("dovecot-keywords")).unwrap(),
        "0 $Label1\n1 work\n"
    );
    let mut inbox: Vec<(i64, String, SystemTime)> = fs::read_dir(out.join("cur"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let date = name.split('.').next().unwrap().parse().unwrap();
            (date, name, e.metadata().unwrap().modified().unwrap())
        })
        .collect();
    inbox.sort();
    let (first, second, third) = (&inbox[0], &inbox[1], &inbox[2]);
    assert!(first.1.starts_with("-1000000000.") && first.1.ends_with(".gannet:2,"));
    assert!(
        second.1.ends_with(".gannet:2,Fa"),
        "{}: \\Flagged $Label1",
        second.1
    );
    assert!(
        third.1.ends_with(".gannet:2,Tab"),
        "{}: \\Deleted, both",
        third.1
    );
    assert_eq!(first.2, UNIX_EPOCH - Duration::from_secs(1_000_000_000));

    let mut again = open(&tmp.path().join("b"));
    import(&mut again, MailFormat::Maildir, &out, Some("Inbox"));
    assert_eq!(everything(&again), everything(&account));
}

fn write_file(path: &Path, data: &[u8], mtime: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .unwrap();
}

#[test]
fn a_maildir_tree_gives_flags_keywords_dates_and_mailboxes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("Maildir");
    write_file(
        &root.join("cur/1600000000.M1P1.host,S=21:2,FS"),
        b"Subject: one\n\nbody\n",
        1_600_000_000,
    );
    write_file(
        &root.join("cur/1600000100.M2P1.host:2,RTab"),
        b"Subject: two\r\n\r\n",
        1_600_000_100,
    );
    write_file(
        &root.join("new/1600000050.M3P1.host"),
        b"Subject: three\n\n",
        1_600_000_050,
    );
    write_file(&root.join("cur/.hidden"), b"not a message", 1);
    write_file(
        &root.join("tmp/1600000200.M4P1.host"),
        b"being delivered",
        1,
    );
    write_file(&root.join("dovecot-keywords"), b"0 $Label1\n1 work\n", 1);
    write_file(
        &root.join(".Lists.Rust/cur/1.host:2,S"),
        b"Subject: rust\n\n",
        1,
    );
    write_file(&root.join(".Lists.Rust/maildirfolder"), b"", 1);
    write_file(
        &root.join(".Entw&APw-rfe/new/2.host"),
        b"Subject: draft\n\n",
        2,
    );
    fs::create_dir_all(root.join("not-a-folder/cur")).unwrap();

    let mut account = open(&tmp.path().join("a"));
    let summary = import(&mut account, MailFormat::Maildir, &root, None);
    assert_eq!((summary.messages, summary.mailboxes), (5, 3));
    let keywords = |k: &[&str]| k.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    assert_eq!(
        messages(&account, "Inbox"),
        vec![
            (
                b"Subject: one\n\nbody\n".to_vec(),
                Flags::FLAGGED.union(Flags::SEEN),
                vec![],
                1_600_000_000
            ),
            (
                b"Subject: three\n\n".to_vec(),
                Flags::default(),
                vec![],
                1_600_000_050
            ),
            (
                b"Subject: two\r\n\r\n".to_vec(),
                Flags::ANSWERED.union(Flags::DELETED),
                keywords(&["$Label1", "work"]),
                1_600_000_100
            ),
        ]
    );
    assert_eq!(messages(&account, "Lists/Rust").len(), 1);
    assert_eq!(messages(&account, "Entwürfe").len(), 1);
    assert!(account.mailbox("not-a-folder").is_err());

    // A maildir of another name goes to that mailbox, its folders below it.
    let mut other = open(&tmp.path().join("b"));
    let work = tmp.path().join("work");
    fs::rename(&root, &work).unwrap();
    import(&mut other, MailFormat::Maildir, &work, None);
    assert_eq!(messages(&other, "work").len(), 3);
    assert_eq!(messages(&other, "work/Lists/Rust").len(), 1);
}

#[test]
fn export_refuses_a_directory_with_files_in_it() {
    let tmp = tempfile::tempdir().unwrap();
    let account = open(&tmp.path().join("a"));
    let out = tmp.path().join("full");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), b"mine").unwrap();
    let failed = store::export(
        &account,
        MailFormat::Mbox,
        &out,
        OnError::Stop,
        &mut Errors::default(),
    )
    .unwrap_err();
    assert!(
        matches!(failed.error, TransferError::NotEmpty(_)),
        "{failed}"
    );
    assert_eq!(fs::read(out.join("keep.txt")).unwrap(), b"mine");
}

#[test]
fn bad_maildir_files_are_named_and_skipped_or_stop_the_import() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("Maildir");
    write_file(&root.join("cur/1.host:2,S"), b"Subject: good\n\n", 1);
    write_file(&root.join("cur/2.host:2,S"), b"", 2);
    write_file(&root.join("cur/3.host:2,"), b"no header here\n", 3);
    let mut account = open(&tmp.path().join("a"));
    let run = |account: &mut Account, on_error| {
        let mut errors = Errors::default();
        let options = ImportOptions {
            mailbox: None,
            on_error,
        };
        let summary =
            store::import(account, MailFormat::Maildir, &root, &options, &mut errors).unwrap();
        (summary.messages, summary.errors, errors.0)
    };
    let empty = format!(
        "{}: the message is empty",
        root.join("cur/2.host:2,S").display()
    );
    let no_header = format!(
        "{}: the message does not start with a header field (\"Name: value\")",
        root.join("cur/3.host:2,").display()
    );
    assert_eq!(
        run(&mut account, OnError::Stop),
        (0, 1, vec![empty.clone()]),
        "stop checks first and imports nothing"
    );
    assert_eq!(
        run(&mut account, OnError::Continue),
        (1, 2, vec![empty, no_header])
    );
    assert_eq!(messages(&account, "Inbox").len(), 1);
}

// ---- the binary ----

/// A directory with the example configuration in etc/ (accounts alice and bob).
fn configured() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = gannet(dir.path(), &["config", "example", "--write", "etc"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

/// The summary line without its timing, which varies.
fn summary_line(out: &Output) -> String {
    let stdout = text(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    line.rsplit_once(", ").map_or(line, |(s, _)| s).to_string()
}

#[test]
fn bad_mbox_messages_are_reported_with_their_position() {
    let dir = configured();
    let mbox = "From a@example.org Mon Jan  6 10:00:00 2020\nSubject: one\n\nfirst\n\n\
                From b@example.org Mon Jan  6 10:01:00 2020\n\n\
                From c@example.org Mon Jan  6 10:02:00 2020\njust text, no header\n\n\
                From d@example.org Mon Jan  6 10:03:00 2020\nSubject: four\n\nfourth\n";
    fs::write(dir.path().join("bad.mbox"), mbox).unwrap();
    let offset = |from: &str| mbox.find(from).unwrap();
    let empty = format!(
        "bad.mbox: message 2 (line 6, byte {}): the message is empty",
        offset("From b@")
    );
    let no_header = format!(
        "bad.mbox: message 3 (line 8, byte {}): the message does not start with a header \
         field (\"Name: value\"); is it the end of the message before, split at a \"From \" \
         line its writer did not escape?",
        offset("From c@")
    );
    let import = [
        "-c",
        "etc/gannet.toml",
        "import",
        "mbox",
        "alice",
        "bad.mbox",
    ];

    let out = gannet(dir.path(), &import);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{empty}\ngannet import: stopped at the first bad message; --on-error continue skips bad messages\n"
        )
    );
    assert_eq!(
        summary_line(&out),
        "imported 0 messages (0 bytes) into 0 mailboxes, 1 error"
    );

    let out = gannet(
        dir.path(),
        &[&import[..], &["--on-error", "continue"]].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("{empty}\n{no_header}\n"));
    assert_eq!(
        summary_line(&out),
        "imported 2 messages (42 bytes) into 1 mailbox, 2 errors"
    );
    let account = Account::open(&dir.path().join("etc/data/accounts/alice"), "alice").unwrap();
    let subjects: Vec<Vec<u8>> = messages(&account, "Inbox")
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(
        subjects,
        vec![
            b"Subject: one\n\nfirst\n".to_vec(),
            b"Subject: four\n\nfourth\n".to_vec()
        ]
    );
}

#[test]
fn import_and_export_name_the_account_of_the_configuration() {
    let dir = configured();
    fs::copy(corpus_dir().join("corpus.mbox"), dir.path().join("c.mbox")).unwrap();
    let out = gannet(
        dir.path(),
        &[
            "-c",
            "etc/gannet.toml",
            "import",
            "mbox",
            "nobody",
            "c.mbox",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "gannet import: account \"nobody\" is not configured in etc/domains.toml (accounts: alice, bob) and has no data in etc/data/accounts/nobody\n"
    );
    assert!(!dir.path().join("etc/data/accounts/nobody").exists());

    let out = gannet(
        dir.path(),
        &[
            "-c",
            "etc/gannet.toml",
            "import",
            "mbox",
            "bob",
            "c.mbox",
            "Archive/Old",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(summary_line(&out).starts_with("imported 51 messages ("));
    let out = gannet(
        dir.path(),
        &["-c", "etc/gannet.toml", "export", "mbox", "bob", "out"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(summary_line(&out).starts_with("exported 51 messages ("));
    assert!(summary_line(&out).ends_with(" from 7 mailboxes, 0 errors"));
    assert!(dir.path().join("out/Archive/Old.mbox").is_file());
}

#[test]
fn store_verify_finds_a_missing_file_and_fix_repairs_it() {
    let dir = configured();
    fs::copy(corpus_dir().join("corpus.mbox"), dir.path().join("c.mbox")).unwrap();
    let import = gannet(
        dir.path(),
        &["-c", "etc/gannet.toml", "import", "mbox", "alice", "c.mbox"],
    );
    assert!(import.status.success(), "{}", text(&import.stderr));
    let verify = |args: &[&str]| {
        gannet(
            dir.path(),
            &[&["-c", "etc/gannet.toml", "store", "verify"], args].concat(),
        )
    };

    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "alice: no problems\n");

    let shard = dir.path().join("etc/data/accounts/alice/msg");
    let file = fs::read_dir(shard)
        .unwrap()
        .flat_map(|s| fs::read_dir(s.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .min()
        .unwrap();
    fs::remove_file(&file).unwrap();
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("alice: message ") && stdout.contains("No such file"),
        "{stdout}"
    );

    let out = verify(&["--fix", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("alice: fixed: message ") && stdout.contains("expunged 1 message"),
        "{stdout}"
    );
    assert!(stdout.ends_with("alice: no problems\n"), "{stdout}");
    assert_eq!(verify(&[]).status.code(), Some(0));

    let out = verify(&["bob"]);
    assert_eq!(out.status.code(), Some(1), "bob has no data yet");
    assert!(text(&out.stderr).contains("no account \"bob\""));
}
