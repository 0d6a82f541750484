//! curl's IMAP client against gannet: listing mailboxes, fetching by UID, index and
//! section, searching, custom commands and uploading (APPEND), in plaintext, over
//! IMAPS and with STARTTLS, verifying the generated certificate.

use std::process::Command;
use std::time::Duration;

use interop::imap::Imap;
use interop::server::{LOGIN, PASSWORD};
use interop::smtp::deliver;
use interop::{Gannet, Output, TempDir, message, require, run, write_file};

fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new(require("curl", "curl"));
    cmd.args(["--silent", "--show-error", "--max-time", "20", "--user"])
        .arg(format!("{LOGIN}:{PASSWORD}"))
        .args(args);
    run(&mut cmd, Duration::from_secs(30))
}

#[test]
fn curl_lists_fetches_searches_and_uploads_over_plain_imap() {
    let tmp = TempDir::new("curl-imap");
    let server = Gannet::start(&tmp);
    deliver(
        server.smtp_port(),
        "sender@example.org",
        &["someone@localhost"],
        &message("for curl", "fetch me by uid"),
    );
    let base = format!("imap://127.0.0.1:{}", server.imap_port());

    let list = curl(&[&format!("{base}/")]);
    list.assert_success();
    for mailbox in ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"] {
        assert!(
            list.stdout
                .lines()
                .any(|l| l.starts_with("* LIST (") && l.ends_with(&format!("\"/\" {mailbox}"))),
            "{mailbox} not listed:\n{list}"
        );
    }
    assert!(list.stdout.contains("\\Trash) \"/\" Trash"), "{list}");

    // The body curl prints is byte for byte what the store holds.
    let stored = server.stored();
    assert_eq!(stored.len(), 1);
    let fetched = curl(&[&format!("{base}/INBOX;UID=1")]);
    fetched.assert_success();
    assert_eq!(fetched.stdout, stored[0].content, "{fetched}");
    assert!(
        fetched
            .stdout
            .contains("Delivered-To: someone@localhost\r\n")
    );

    let header = curl(&[&format!(
        "{base}/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)"
    )]);
    header.assert_success();
    assert_eq!(header.stdout, "Subject: for curl\r\n\r\n", "{header}");
    let by_index = curl(&[&format!("{base}/INBOX;MAILINDEX=1;SECTION=TEXT")]);
    by_index.assert_success();
    assert_eq!(by_index.stdout, "fetch me by uid\r\n", "{by_index}");

    let upload = write_file(
        &tmp.path().join("upload.eml"),
        &message("uploaded by curl", "sent with -T"),
    );
    curl(&["-T", &upload, &format!("{base}/INBOX")]).assert_success();

    let search = curl(&[&format!("{base}/INBOX?SUBJECT%20%22uploaded%20by%22")]);
    search.assert_success();
    assert_eq!(search.stdout.trim_end(), "* SEARCH 2", "{search}");
    let status = curl(&[
        "-X",
        "STATUS INBOX (MESSAGES UIDNEXT)",
        &format!("{base}/INBOX"),
    ]);
    status.assert_success();
    assert_eq!(
        status.stdout.trim_end(),
        "* STATUS INBOX (MESSAGES 2 UIDNEXT 3)",
        "{status}"
    );

    // curl fetches with BODY[] (not PEEK) and uploads with \Seen: both are seen.
    let mut imap = Imap::login(server.imap_port());
    let seen = "\\Seen".to_string();
    assert_eq!(imap.uid_flags("INBOX"), [(1, seen.clone()), (2, seen)]);
    imap.logout();
    let stored = server.stored();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1].content,
        message("uploaded by curl", "sent with -T")
    );
    assert_eq!(stored[1].flags, "S");
}

#[test]
fn curl_over_imaps_and_starttls_verifies_the_certificate_and_uploads() {
    let tmp = TempDir::new("curl-tls");
    let server = Gannet::start(&tmp);
    server.deliver("over imaps", "encrypted");
    let cert = server.cert().display().to_string();
    let imaps = format!("imaps://localhost:{}", server.imaps_port());
    let starttls = format!("imap://localhost:{}", server.imap_port());

    // Without the certificate curl must refuse: verification is really on.
    let refused = curl(&[&format!("{imaps}/")]);
    assert_eq!(refused.code(), Some(60), "{refused}");

    let fetched = curl(&["--cacert", &cert, &format!("{imaps}/INBOX;UID=1")]);
    fetched.assert_success();
    assert!(
        fetched
            .stdout
            .ends_with(&message("over imaps", "encrypted")),
        "{fetched}"
    );

    // --ssl-reqd on imap:// makes curl upgrade with STARTTLS or give up.
    let upload = write_file(
        &tmp.path().join("upload.eml"),
        &message("after starttls", "uploaded"),
    );
    curl(&[
        "--ssl-reqd",
        "--cacert",
        &cert,
        "-T",
        &upload,
        &format!("{starttls}/Sent"),
    ])
    .assert_success();
    let listed = curl(&[
        "--ssl-reqd",
        "--cacert",
        &cert,
        "-X",
        "STATUS Sent (MESSAGES)",
        &format!("{starttls}/"),
    ]);
    listed.assert_success();
    assert_eq!(
        listed.stdout.trim_end(),
        "* STATUS Sent (MESSAGES 1)",
        "{listed}"
    );
    let sent = curl(&["--cacert", &cert, &format!("{imaps}/Sent;UID=1")]);
    sent.assert_success();
    assert_eq!(sent.stdout, message("after starttls", "uploaded"), "{sent}");

    let stored: Vec<(String, String)> = server
        .stored()
        .iter()
        .map(|m| (m.mailbox.clone(), m.subject().to_string()))
        .collect();
    assert_eq!(
        stored,
        [
            ("INBOX".to_string(), "over imaps".to_string()),
            ("Sent".to_string(), "after starttls".to_string()),
        ]
    );
}
