//! neomutt reading the gannet INBOX over IMAP and IMAPS, driven without a person:
//! neomutt needs a terminal, so it runs under script(1), which gives it a pseudo-tty,
//! and the keys it would get from a user come from `push` in its muttrc. It copies
//! every message to a local mbox, flags one, copies one to another IMAP mailbox,
//! deletes one, and quits, which expunges.

use std::path::Path;

use interop::imap::Imap;
use interop::server::{LOGIN, PASSWORD};
use interop::{Gannet, TempDir, neomutt};

#[derive(Clone, Copy)]
enum Transport {
    Plain,
    Imaps,
}

fn muttrc(server: &Gannet, saved: &Path, transport: Transport) -> String {
    let folder = match transport {
        Transport::Plain => format!(
            "set folder=\"imap://127.0.0.1:{}/\"\nset ssl_starttls=no\nset ssl_force_tls=no\n",
            server.imap_port()
        ),
        // neomutt in Debian uses GnuTLS, which takes the trust anchors from here.
        Transport::Imaps => format!(
            "set folder=\"imaps://localhost:{}/\"\nset ssl_ca_certificates_file=\"{}\"\n",
            server.imaps_port(),
            server.cert().display()
        ),
    };
    let login = format!("{folder}set imap_user=\"{LOGIN}\"\nset imap_pass=\"{PASSWORD}\"\n");
    neomutt::muttrc(&login, "", "", &neomutt::scenario_keys(saved))
}

fn read_with_neomutt(name: &str, transport: Transport) {
    let tmp = TempDir::new(name);
    let server = Gannet::start(&tmp);
    for subject in ["mutt one", "mutt two", "mutt three"] {
        server.deliver(subject, &format!("body of {subject}"));
    }
    let saved = tmp.path().join("saved.mbox");
    let rc = tmp.path().join("muttrc");
    std::fs::write(&rc, muttrc(&server, &saved, transport)).expect("write muttrc");

    let screen = neomutt::run(tmp.path(), &rc, "");

    // The local copy: three messages in mbox format, bodies intact.
    let mbox = std::fs::read_to_string(&saved)
        .unwrap_or_else(|e| panic!("neomutt saved nothing ({e}):\n{screen}"));
    let froms = mbox.lines().filter(|l| l.starts_with("From ")).count();
    assert_eq!(froms, 3, "{mbox}");
    for subject in ["mutt one", "mutt two", "mutt three"] {
        assert!(mbox.contains(&format!("Subject: {subject}\n")), "{mbox}");
        assert!(mbox.contains(&format!("\nbody of {subject}\n")), "{mbox}");
    }

    // The server: one flagged, three expunged, two copied to Archive.
    let mut imap = Imap::login(server.imap_port());
    let inbox = imap.uid_flags("INBOX");
    let archive = imap.uid_flags("Archive");
    imap.logout();
    assert_eq!(inbox.len(), 2, "{inbox:?}\n{screen}");
    assert!(inbox[0].1.contains("\\Flagged"), "{inbox:?}");
    assert!(!inbox[1].1.contains("\\Flagged"), "{inbox:?}");
    assert_eq!(archive.len(), 1, "{archive:?}");
    let stored: Vec<(String, String)> = server
        .stored()
        .iter()
        .map(|m| (m.mailbox.clone(), m.subject().to_string()))
        .collect();
    let expected = |mailbox: &str, subject: &str| (mailbox.to_string(), subject.to_string());
    assert_eq!(
        stored,
        [
            expected("INBOX", "mutt one"),
            expected("INBOX", "mutt two"),
            expected("Archive", "mutt two"),
        ]
    );
}

#[test]
fn neomutt_copies_flags_deletes_and_expunges_over_plain_imap() {
    read_with_neomutt("neomutt-plain", Transport::Plain);
}

#[test]
fn neomutt_copies_flags_deletes_and_expunges_over_imaps() {
    read_with_neomutt("neomutt-imaps", Transport::Imaps);
}
