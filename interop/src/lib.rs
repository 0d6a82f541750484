//! The interop suite: real clients (Python's imaplib, curl, mbsync, neomutt,
//! fetchmail) driven against a live `gannet localserve`, as local processes on
//! loopback. Each test gets its own directory and ports, bounds every client run with
//! a timeout, and checks the result twice: through the client's own output and
//! files, and through the server (a raw IMAP session or the store export).
//!
//! Clients come from Debian packages that `.ci/run` installs; a missing one fails the
//! test with the package to install rather than skipping it, so CI cannot pass by
//! testing nothing.

pub mod capture;
pub mod containers;
pub mod imap;
pub mod neomutt;
pub mod process;
pub mod serve;
pub mod server;
pub mod smtp;
pub mod store;
pub mod tempdir;

pub use process::{Output, require, run, run_fed};
pub use server::Gannet;
pub use tempdir::TempDir;

/// A small RFC 5322 message with CRLF line endings, unique by `subject`.
pub fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Sender <sender@example.org>\r\n\
         To: gannet@localhost\r\n\
         Subject: {subject}\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <{}@interop.example>\r\n\
         \r\n\
         {body}\r\n",
        subject.replace(' ', "-")
    )
}

/// Writes `text` to `path`; the path as text, for a client's command line.
pub fn write_file(path: &std::path::Path, text: &str) -> String {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path.display().to_string()
}

/// Where the `scripts/` directory of this crate is (Python helpers).
pub fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}
