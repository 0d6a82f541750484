//! The IMAP command framer on arbitrary bytes in arbitrary pieces, with small
//! limits so that every limit and the spooling are reached: no input may panic,
//! frames must not depend on how the bytes were split, the limits hold, and
//! spooled literals leave no file behind. The same bytes, as text, go through the
//! modified UTF-7 decoder: what it accepts must be the canonical encoding.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use gannet::imap::{Frame, Framer, Limits, decode_mutf7, encode_mutf7};
use libfuzzer_sys::fuzz_target;

fn spool_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("gannet-fuzz-imap-framer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cannot create the spool directory");
        dir
    })
    .clone()
}

/// A frame with its literals read back, to compare runs.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Command(String, Vec<Vec<u8>>),
    Continue,
    Error(Option<String>, String),
    Line(Result<Vec<u8>, String>),
}

/// Chunk sizes from a xorshift generator seeded by the input, so a crash
/// reproduces from its file alone.
struct Sizes(u32, usize);

impl Iterator for Sizes {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        Some(self.0 as usize % self.1 + 1)
    }
}

fn check(frame: Frame, limits: &Limits) -> Seen {
    match frame {
        Frame::Command { text, literals } => {
            assert!(!text.contains(['\r', '\n', '\0']), "{text:?}");
            assert!(
                text.len() <= limits.max_text,
                "{} octets of text",
                text.len()
            );
            assert!(literals.len() <= limits.max_literals);
            let literals: Vec<Vec<u8>> = literals
                .iter()
                .map(|l| {
                    l.bytes()
                        .expect("a spooled literal reads back")
                        .into_owned()
                })
                .collect();
            let total: u64 = literals.iter().map(|l| l.len() as u64).sum();
            assert!(
                literals
                    .iter()
                    .all(|l| l.len() as u64 <= limits.max_literal)
            );
            assert!(total <= limits.max_command);
            Seen::Command(text, literals)
        }
        Frame::Continue => Seen::Continue,
        Frame::Error { tag, message, .. } => {
            assert!(!message.is_empty());
            if let Some(tag) = &tag {
                assert!(!tag.is_empty() && !tag.contains([' ', '+', '{', '\0']));
            }
            Seen::Error(tag, message)
        }
    }
}

/// Feeds `stream` in pieces (at once without `sizes`); with `lines`, sometimes
/// asks for a raw line instead of a frame, as a session does during AUTHENTICATE
/// and IDLE.
fn run(stream: &[u8], limits: &Limits, mut sizes: Option<Sizes>, lines: bool) -> Vec<Seen> {
    let mut framer = Framer::new(limits.clone());
    let mut seen = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let size = sizes.as_mut().map_or(rest.len(), |s| s.next().unwrap());
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        framer.push(chunk);
        loop {
            if lines && sizes.as_mut().is_some_and(|s| s.next().unwrap() % 4 == 0) {
                match framer.next_line() {
                    Some(line) => seen.push(Seen::Line(line.map_err(|e| e.to_string()))),
                    None => break,
                }
                continue;
            }
            match framer.next_frame() {
                Some(frame) => seen.push(check(frame, limits)),
                None => break,
            }
        }
        assert!(
            framer.buffered() <= limits.max_line + 1,
            "{} octets held",
            framer.buffered()
        );
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(decoded) = decode_mutf7(text) {
            assert_eq!(encode_mutf7(&decoded), text, "decoded as {decoded:?}");
        }
        let encoded = encode_mutf7(text);
        assert_eq!(
            decode_mutf7(&encoded).as_deref(),
            Ok(text),
            "encoded as {encoded:?}"
        );
    }

    // Two control bytes: limits and chunking; the rest is the stream.
    let [a, b, stream @ ..] = data else {
        return;
    };
    let limits = Limits {
        max_line: 16 + usize::from(a & 63),
        max_text: 128 + usize::from(a >> 6) * 64,
        max_literal: 1024,
        max_command: 1536,
        max_literals: 4,
        max_non_sync_literal: (b & 1 == 1).then_some(64),
        memory_literal: 24,
        spool_dir: spool_dir(),
    };
    let seed = u32::from_le_bytes([*a, *b, 0x5a, 0xa5]);
    let pieces = if b & 2 == 2 { 7 } else { 200 };
    let whole = run(stream, &limits, None, false);
    let pieced = run(stream, &limits, Some(Sizes(seed, pieces)), false);
    assert_eq!(whole, pieced, "frames depend on the split");
    run(stream, &limits, Some(Sizes(seed, pieces)), true);
    let left = std::fs::read_dir(&limits.spool_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "spooled literals left files behind");
});
