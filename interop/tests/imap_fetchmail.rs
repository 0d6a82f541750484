//! fetchmail collecting the gannet INBOX into a local MDA: with `--keep` the messages
//! stay on the server, marked \Seen, and a second run finds nothing new; without
//! it, fetchmail deletes and the server expunges. Over plaintext IMAP and over IMAPS
//! with the generated certificate as trust anchor.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use interop::imap::Imap;
use interop::server::{LOGIN, PASSWORD};
use interop::store::header;
use interop::{Gannet, Output, TempDir, message, require, run};

/// The exit status fetchmail uses for "no mail".
const NO_MAIL: i32 = 1;

struct Fetchmail<'a> {
    tmp: &'a TempDir,
    rc: PathBuf,
    delivered: PathBuf,
}

impl<'a> Fetchmail<'a> {
    /// An rcfile for plaintext IMAP (`imaps` false) or IMAPS, and an MDA that writes
    /// each message into its own file in `delivered/`.
    fn new(tmp: &'a TempDir, server: &Gannet, imaps: bool) -> Fetchmail<'a> {
        let delivered = tmp.sub("delivered");
        let mda = tmp.path().join("mda.sh");
        std::fs::write(
            &mda,
            format!(
                "#!/bin/sh\nexec cat > \"{}/$(date +%s%N).$$.eml\"\n",
                delivered.display()
            ),
        )
        .expect("write the MDA");
        std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the MDA");
        // Server options (host, port, protocol, authentication) come before the user
        // options (login, TLS, MDA), or fetchmail rejects the rcfile.
        let (port, tls) = if imaps {
            (
                server.imaps_port(),
                format!("ssl sslcertck sslcertfile \"{}\"", server.cert().display()),
            )
        } else {
            // sslproto "" keeps fetchmail from trying STARTTLS.
            (server.imap_port(), "sslproto \"\"".to_string())
        };
        let host = if imaps { "localhost" } else { "127.0.0.1" };
        let rc = tmp.path().join("fetchmailrc");
        std::fs::write(
            &rc,
            format!(
                "poll {host} service {port} protocol IMAP auth password \
                 user \"{LOGIN}\" password \"{PASSWORD}\" {tls} mda \"{}\"\n",
                mda.display()
            ),
        )
        .expect("write the rcfile");
        // fetchmail refuses an rcfile others can read: it holds a password.
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the rcfile");
        Fetchmail { tmp, rc, delivered }
    }

    /// One poll with `flags` (--keep, --nokeep, --fetchall); returns its output, with
    /// the IMAP transcript (-v).
    fn poll(&self, flags: &[&str]) -> Output {
        run(
            Command::new(require("fetchmail", "fetchmail"))
                // Its state goes to FETCHMAILHOME, one per test. Its lock would not:
                // as root it is /var/run/fetchmail.pid, which makes two tests
                // running at once see "another foreground fetchmail is running".
                .env("FETCHMAILHOME", self.tmp.path())
                .env("HOME", self.tmp.path())
                .arg("--pidfile")
                .arg(self.tmp.path().join("fetchmail.pid"))
                .arg("--fetchmailrc")
                .arg(&self.rc)
                .args(["--nosyslog", "--verbose"])
                .args(flags),
            Duration::from_secs(30),
        )
    }

    /// The subjects of the messages the MDA got, sorted.
    fn delivered(&self) -> Vec<String> {
        let mut subjects: Vec<String> = files(&self.delivered)
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("read a delivered message");
                assert!(
                    text.contains("by ") && text.contains("with IMAP (fetchmail"),
                    "fetchmail's Received header is missing: {text}"
                );
                header(&text, "Subject").unwrap_or("").to_string()
            })
            .collect();
        subjects.sort();
        subjects
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read the delivery directory")
        .map(|e| e.expect("directory entry").path())
        .collect()
}

fn deliver_to_inbox(server: &Gannet, subject: &str) {
    server.deliver(subject, &format!("body of {subject}"));
}

#[test]
fn fetchmail_keeps_fetched_mail_then_deletes_it_over_plain_imap() {
    let tmp = TempDir::new("fetchmail-plain");
    let server = Gannet::start(&tmp);
    deliver_to_inbox(&server, "fetch one");
    deliver_to_inbox(&server, "fetch two");
    let fetchmail = Fetchmail::new(&tmp, &server, false);

    let first = fetchmail.poll(&["--keep"]);
    first.assert_success();
    assert_eq!(fetchmail.delivered(), ["fetch one", "fetch two"], "{first}");
    // Each message arrives whole: its body after the headers the server added.
    for file in files(&fetchmail.delivered) {
        let text = std::fs::read_to_string(&file).unwrap();
        let subject = header(&text, "Subject").unwrap();
        assert!(text.contains("Delivered-To: gannet@localhost\n"), "{text}");
        assert!(
            text.ends_with(&format!("\n\nbody of {subject}\n")),
            "{text}"
        );
    }
    let mut imap = Imap::login(server.imap_port());
    let seen = "\\Seen".to_string();
    assert_eq!(
        imap.uid_flags("INBOX"),
        [(1, seen.clone()), (2, seen.clone())],
        "kept, and marked as read\n{first}"
    );

    // Kept messages are \Seen, so the next poll has nothing to fetch.
    let second = fetchmail.poll(&["--keep"]);
    assert_eq!(second.code(), Some(NO_MAIL), "{second}");
    assert_eq!(fetchmail.delivered().len(), 2);

    // Without --keep the new message is fetched, deleted and expunged; the old
    // ones, not fetched again, stay.
    deliver_to_inbox(&server, "fetch three");
    let third = fetchmail.poll(&["--nokeep"]);
    third.assert_success();
    assert_eq!(
        fetchmail.delivered(),
        ["fetch one", "fetch three", "fetch two"],
        "{third}"
    );
    assert_eq!(
        imap.uid_flags("INBOX"),
        [(1, seen.clone()), (2, seen)],
        "{third}"
    );
    imap.logout();
    let subjects: Vec<String> = server
        .stored()
        .iter()
        .map(|m| m.subject().to_string())
        .collect();
    assert_eq!(subjects, ["fetch one", "fetch two"]);
}

#[test]
fn fetchmail_fetches_everything_and_empties_the_inbox_over_imaps() {
    let tmp = TempDir::new("fetchmail-imaps");
    let server = Gannet::start(&tmp);
    deliver_to_inbox(&server, "secure one");
    deliver_to_inbox(&server, "secure two");
    let mut imap = Imap::login(server.imap_port());
    // A read message too: --fetchall takes it as well.
    imap.append("INBOX", "\\Seen", &message("secure read", "already read"));

    let fetchmail = Fetchmail::new(&tmp, &server, true);
    let out = fetchmail.poll(&["--fetchall", "--nokeep"]);
    out.assert_success();
    assert!(
        out.stderr.contains("Server certificate") || out.stdout.contains("Server certificate"),
        "fetchmail did not report the certificate it checked:\n{out}"
    );
    assert_eq!(
        fetchmail.delivered(),
        ["secure one", "secure read", "secure two"],
        "{out}"
    );
    assert_eq!(imap.uid_flags("INBOX"), [], "expunged\n{out}");
    imap.logout();
    assert!(server.stored().is_empty());
}
