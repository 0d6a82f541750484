//! COMPRESS=DEFLATE (RFC 4978) against a live gannet, with Python's zlib (the C
//! zlib, not the server's miniz_oxide) deflating and inflating a raw IMAP session:
//! partial and sync flushes, a command split over several flushes, APPEND with
//! literals and FETCH of them back.

use std::process::Command;
use std::time::Duration;

use interop::{Gannet, TempDir, require, run, script};

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn python_zlib_speaks_deflate_with_partial_and_sync_flushes() {
    let tmp = TempDir::new("imap-compress");
    let server = Gannet::start(&tmp);
    server.deliver("delivered before compress", "hello");

    let out = run(
        Command::new(require("python3", "python3"))
            .arg(script("imap_compress.py"))
            .arg(server.imap_port().to_string()),
        TIMEOUT,
    );
    out.assert_success();
    for step in [
        "COMPRESS before login: BAD",
        "unknown algorithm: BAD",
        "COMPRESS DEFLATE: OK",
        "STATUS split over partial flushes: OK",
        "APPEND and FETCH back",
        "second COMPRESS: NO [COMPRESSIONACTIVE]",
        "LOGOUT: BYE, closed",
    ] {
        assert!(out.stdout.contains(step), "{step}: {out}");
    }

    // The store has what went through the compressed stream.
    let subjects: Vec<String> = server
        .stored()
        .iter()
        .map(|m| m.subject().to_string())
        .collect();
    assert_eq!(
        subjects,
        [
            "delivered before compress",
            "appended compressed",
            "appended big"
        ]
    );
    assert!(
        server.stop().success(),
        "localserve exits cleanly on SIGTERM"
    );
}
