//! Whole IMAP sessions against a real store: arbitrary bytes, delivered in
//! arbitrary pieces, either before login or logged in from the start (PREAUTH by a
//! registered client certificate, so no password hash runs per input). No input
//! may panic, and every response line must end in CRLF.

#![no_main]

#[path = "common/imap_env.rs"]
mod imap_env;

use gannet::imapserver::Action;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split size and whether the session is logged in.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let preauth = control & 1 == 1;
    let mut session = imap_env::with_env(|env| imap_env::session(env, preauth));
    check(&session.greeting());
    let chunk = usize::from(control >> 1).max(1);
    for piece in stream.chunks(chunk) {
        let (out, action) = session.feed(piece);
        check(&out);
        if matches!(action, Action::Close | Action::StartTls) {
            return;
        }
    }
    check(&session.changes_arrived().0);
});

/// Output is whole lines (literals included), each ending in CRLF.
fn check(out: &[u8]) {
    assert!(
        out.is_empty() || out.ends_with(b"\r\n"),
        "output does not end in CRLF: {:?}",
        String::from_utf8_lossy(out)
    );
}
