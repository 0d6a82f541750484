//! IMAP sessions after COMPRESS=DEFLATE (RFC 4978): a session logged in by PREAUTH (a
//! registered client certificate, so no password hash runs per input) turns on
//! compression, then gets arbitrary bytes in arbitrary pieces, either as they are
//! (DEFLATE data the fuzzer makes up: the inflater's error paths, and stored blocks
//! it finds) or deflated first by a client (arbitrary IMAP behind the inflater). No
//! input may panic, and every answer must inflate on its own (it ends with a sync
//! flush) to whole lines that end in CRLF.

#![no_main]

#[path = "common/imap_env.rs"]
mod imap_env;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use gannet::imapserver::{Action, Session};
use libfuzzer_sys::fuzz_target;

/// A session logged in by PREAUTH, with compression on.
fn compressed_session() -> Session {
    let mut session = imap_env::with_env(|env| imap_env::session(env, true));
    let greeting = session.greeting();
    assert!(greeting.starts_with(b"* PREAUTH"), "{greeting:?}");
    let (ok, action) = session.feed(b"z COMPRESS DEFLATE\r\n");
    assert_eq!(ok, b"z OK DEFLATE active\r\n");
    assert_eq!(action, Action::Continue);
    session
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split size, whether the input is deflated first, and
    // with which flush.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let mut session = compressed_session();
    let mut client = Client::new();
    let deflated = control & 1 == 1;
    let flush = match control & 2 {
        0 => FlushCompress::Partial,
        _ => FlushCompress::Sync,
    };
    let chunk = usize::from(control >> 2).max(1);
    for piece in stream.chunks(chunk) {
        let wire = match deflated {
            true => client.deflate(piece, flush),
            false => piece.to_vec(),
        };
        let (out, action) = session.feed(&wire);
        client.check(&out);
        if matches!(action, Action::Close | Action::StartTls) {
            assert_eq!(action, Action::Close, "no STARTTLS under compression");
            return;
        }
    }
    client.check(&session.changes_arrived().0);
});

/// The client's side of the compressed connection.
struct Client {
    deflater: Compress,
    inflater: Decompress,
}

impl Client {
    fn new() -> Client {
        Client {
            deflater: Compress::new(Compression::default(), false),
            inflater: Decompress::new(false),
        }
    }

    fn deflate(&mut self, plain: &[u8], flush: FlushCompress) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 1024);
        self.deflater.compress_vec(plain, &mut out, flush).unwrap();
        out
    }

    /// An answer inflates whole, on its own, to lines that end in CRLF.
    fn check(&mut self, compressed: &[u8]) {
        if compressed.is_empty() {
            return;
        }
        assert!(
            compressed.ends_with(&[0, 0, 0xff, 0xff]),
            "answer not sync-flushed: {compressed:02x?}"
        );
        let mut plain = Vec::new();
        let mut rest = compressed;
        while !rest.is_empty() || plain.len() == plain.capacity() {
            plain.reserve(64 * 1024);
            let read = self.inflater.total_in();
            self.inflater
                .decompress_vec(rest, &mut plain, FlushDecompress::Sync)
                .expect("the server's DEFLATE stream inflates");
            rest = &rest[(self.inflater.total_in() - read) as usize..];
        }
        assert!(
            plain.ends_with(b"\r\n"),
            "output does not end in CRLF: {:?}",
            String::from_utf8_lossy(&plain)
        );
    }
}
