//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951, no zlib header) both ways,
//! from right after the tagged OK of COMPRESS to the end of the connection.
//!
//! The session stays sans-IO: [`Session::feed`] hands wire bytes to
//! [`Session::receive`], which queues them for the inflater once compression is on;
//! the feed loop pulls inflated input into the framer a bounded piece at a time
//! ([`Session::inflate_more`]), and [`Session::take_output`] deflates what the
//! session answers. So transcripts and the fuzzer see compression as the client does.

use flate2::{
    Compress, CompressError, Compression as Level, Decompress, DecompressError, FlushCompress,
    FlushDecompress, Status,
};

use super::{Action, Done, Outcome, Session};

/// Inflated input goes to the framer in pieces of at most this size, each framed
/// before the next is inflated: a few bytes that inflate to gigabytes (a deflate
/// bomb) meet the framer's caps on lines and literals instead of filling memory.
const INFLATE_STEP: usize = 16 * 1024;

/// Whether, and how far, COMPRESS has switched the session's streams.
pub(super) enum Compression {
    Off,
    /// COMPRESS succeeded: compression starts right after its tagged OK, which
    /// [`Session::complete`] writes after the command returns.
    Starting,
    On {
        deflate: Box<Deflate>,
        /// Output at the start of the session's buffer that precedes compression
        /// (up to the CRLF of COMPRESS's tagged OK): it goes out as it is.
        plain: usize,
    },
}

impl Compression {
    /// Whether COMPRESS has succeeded on this connection.
    pub(super) fn active(&self) -> bool {
        !matches!(self, Compression::Off)
    }
}

/// The client's compressed stream cannot be read on.
#[derive(Debug, thiserror::Error)]
pub(super) enum InflateError {
    #[error("invalid DEFLATE data from the client")]
    Corrupt(#[from] DecompressError),
    #[error("data from the client after the end of its DEFLATE stream")]
    AfterEnd,
}

/// One connection's DEFLATE state: the client's stream being inflated and ours being
/// deflated. Each keeps its dictionary for the whole connection, which is what
/// makes IMAP's repetitive responses compress well.
pub(super) struct Deflate {
    inflater: Decompress,
    deflater: Compress,
    /// Compressed input not inflated yet: at most what one read brought, since the
    /// listener reads again only after the session has inflated all it could.
    input: Vec<u8>,
    /// Where each inflated piece is written.
    piece: Box<[u8]>,
}

impl Deflate {
    pub(super) fn new() -> Deflate {
        Deflate {
            inflater: Decompress::new(false),
            deflater: Compress::new(Level::default(), false),
            input: Vec::new(),
            piece: vec![0; INFLATE_STEP].into_boxed_slice(),
        }
    }

    /// Queues compressed bytes from the client.
    pub(super) fn push(&mut self, compressed: &[u8]) {
        self.input.extend_from_slice(compressed);
    }

    /// Inflates the next piece of the queued input, at most [`INFLATE_STEP`] bytes;
    /// empty when the input so far yields nothing more. A block the client flushed
    /// (Z_PARTIAL_FLUSH or Z_SYNC_FLUSH) is handed over whole without waiting for
    /// more input.
    pub(super) fn inflate(&mut self) -> Result<&[u8], InflateError> {
        loop {
            let (read, written) = (self.inflater.total_in(), self.inflater.total_out());
            let status =
                self.inflater
                    .decompress(&self.input, &mut self.piece, FlushDecompress::None)?;
            // Counts of one call, bounded by the slices it was given.
            let consumed = (self.inflater.total_in() - read) as usize;
            let produced = (self.inflater.total_out() - written) as usize;
            self.input.drain(..consumed);
            // What came before the end is handed over first; the error comes with
            // the next call.
            if status == Status::StreamEnd && !self.input.is_empty() && produced == 0 {
                return Err(InflateError::AfterEnd);
            }
            // Input that only set up a block (its header, an empty flush block)
            // yields nothing yet: go on with the rest.
            if produced > 0 || consumed == 0 {
                return Ok(&self.piece[..produced]);
            }
        }
    }

    /// Deflates `plain` and ends with a sync flush (Z_SYNC_FLUSH), so the client can
    /// inflate all of it at once, without waiting for the next response. Nothing in,
    /// nothing out: an empty flush block would tell the client nothing.
    pub(super) fn deflate(&mut self, plain: &[u8]) -> Result<Vec<u8>, CompressError> {
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(plain.len() / 2 + 64);
        let mut rest = plain;
        loop {
            // The flush is complete once a call consumed all input and left output
            // space unused; until then it may have more to write.
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let (read, before) = (self.deflater.total_in(), out.len());
            self.deflater
                .compress_vec(rest, &mut out, FlushCompress::Sync)?;
            rest = &rest[(self.deflater.total_in() - read) as usize..];
            let stalled = out.len() == before && rest.len() == plain.len();
            if (rest.is_empty() && out.len() < out.capacity()) || stalled {
                return Ok(out);
            }
        }
    }
}

impl Session {
    /// COMPRESS (RFC 4978 3), valid once logged in.
    pub(super) fn compress(&mut self, algorithm: &str) -> Outcome {
        self.authenticated()?;
        if self.compression.active() {
            let done = Done::no("DEFLATE compression is active already");
            return Err(done.code("COMPRESSIONACTIVE"));
        }
        // RFC 4978 3: BAD for an unknown argument. The grammar upper-cased it.
        if algorithm != "DEFLATE" {
            return Err(Done::bad(format!(
                "unknown compression algorithm {algorithm}: only DEFLATE is offered"
            )));
        }
        self.compression = Compression::Starting;
        Ok(Done::ok("DEFLATE active"))
    }

    /// Bytes from the wire: to the inflater once compression is on, else straight to
    /// the framer.
    pub(super) fn receive(&mut self, input: &[u8]) {
        match &mut self.compression {
            Compression::On { deflate, .. } => deflate.push(input),
            Compression::Off | Compression::Starting => self.framer.push(input),
        }
    }

    /// Switches to compression once COMPRESS's tagged OK is written (RFC 4978 3:
    /// "immediately after the CRLF"). What the client sent after the command line
    /// is compressed already: it leaves the framer for the inflater.
    pub(super) fn start_compression(&mut self) {
        if !matches!(self.compression, Compression::Starting) {
            return;
        }
        let mut deflate = Box::new(Deflate::new());
        deflate.push(&self.framer.take_buffered());
        self.compression = Compression::On {
            deflate,
            plain: self.out.len(),
        };
    }

    /// Inflates the next piece of compressed input into the framer; false when
    /// there is none (or compression is off). Invalid input ends the session.
    pub(super) fn inflate_more(&mut self) -> bool {
        let Compression::On { deflate, .. } = &mut self.compression else {
            return false;
        };
        match deflate.inflate() {
            Ok([]) => false,
            Ok(piece) => {
                self.framer.push(piece);
                true
            }
            Err(e) => {
                tracing::info!(error = %e, "unreadable compressed input; closing");
                // Compressed like all output now, or the client could not read it.
                self.line(&format!("* BYE {e}"));
                self.action = Action::Close;
                false
            }
        }
    }

    /// Takes the output to send: once compression is on, deflated (after the plain
    /// part that precedes it) and ending with a sync flush. Every path that returns
    /// output goes through here, so none can leak uncompressed bytes.
    pub(super) fn take_output(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.out);
        let Compression::On { deflate, plain } = &mut self.compression else {
            return out;
        };
        let start = std::mem::take(plain).min(out.len());
        match deflate.deflate(&out[start..]) {
            Ok(compressed) => {
                out.truncate(start);
                out.extend_from_slice(&compressed);
            }
            Err(e) => {
                // Only a misused deflater fails, never the data: a bug, so log it
                // loudly and end the connection rather than send garbage.
                tracing::error!(error = %e, "compressing output failed; closing");
                out.truncate(start);
                self.action = Action::Close;
            }
        }
        out
    }
}

/// A client's side of a compressed connection, for tests: its own deflater and
/// inflater.
#[cfg(test)]
pub(super) struct Peer {
    deflater: Compress,
    inflater: Decompress,
}

#[cfg(test)]
impl Peer {
    pub(super) fn new() -> Peer {
        Peer {
            deflater: Compress::new(Level::default(), false),
            inflater: Decompress::new(false),
        }
    }

    /// Deflates all of `plain`, ending with `flush`.
    pub(super) fn compress(&mut self, plain: &[u8], flush: FlushCompress) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 1024);
        let read = self.deflater.total_in();
        self.deflater.compress_vec(plain, &mut out, flush).unwrap();
        assert_eq!(self.deflater.total_in() - read, plain.len() as u64);
        out
    }

    /// Inflates one answer, which must stand on its own: the server ends each with a
    /// sync flush, so nothing of it waits for the next.
    pub(super) fn inflate(&mut self, compressed: &[u8]) -> Vec<u8> {
        assert!(
            compressed.is_empty() || compressed.ends_with(&[0, 0, 0xff, 0xff]),
            "not sync-flushed: {compressed:02x?}"
        );
        let mut out = Vec::new();
        let mut rest = compressed;
        // Done when all is read and the inflater left room unused.
        while !rest.is_empty() || out.len() == out.capacity() {
            out.reserve(64 * 1024);
            let read = self.inflater.total_in();
            self.inflater
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .unwrap();
            rest = &rest[(self.inflater.total_in() - read) as usize..];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything the server's inflater yields for what it was given so far.
    fn inflate_all(deflate: &mut Deflate) -> Result<Vec<u8>, InflateError> {
        let mut all = Vec::new();
        loop {
            let piece = deflate.inflate()?;
            if piece.is_empty() {
                return Ok(all);
            }
            assert!(piece.len() <= INFLATE_STEP);
            all.extend_from_slice(piece);
        }
    }

    #[test]
    fn each_response_inflates_on_its_own() {
        let mut server = Deflate::new();
        let mut client = Peer::new();
        for response in ["* OK one\r\n", "* 3 EXISTS\r\n", "a OK NOOP done\r\n"] {
            let compressed = server.deflate(response.as_bytes()).unwrap();
            assert!(compressed.ends_with(&[0, 0, 0xff, 0xff]), "sync flush");
            assert_eq!(client.inflate(&compressed), response.as_bytes());
        }
        assert!(server.deflate(b"").unwrap().is_empty(), "nothing to flush");
    }

    #[test]
    fn big_output_inflates_whole() {
        let mut server = Deflate::new();
        let mut client = Peer::new();
        // Incompressible, so the deflater needs more room than it first had.
        let plain: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let compressed = server.deflate(&plain).unwrap();
        assert_eq!(client.inflate(&compressed), plain);
    }

    #[test]
    fn a_partial_flush_is_inflated_without_more_input() {
        let mut server = Deflate::new();
        let mut client = Peer::new();
        server.push(&client.compress(b"a NOOP\r\n", FlushCompress::Partial));
        assert_eq!(inflate_all(&mut server).unwrap(), b"a NOOP\r\n");
        // A command split over several flushes, each given a byte at a time: all of
        // a flushed part comes out before the next part is sent.
        let (mut sent, mut got) = (Vec::new(), Vec::new());
        for part in ["b SEL", "ECT IN", "BOX\r\n"] {
            for byte in client.compress(part.as_bytes(), FlushCompress::Partial) {
                server.push(&[byte]);
                got.extend(inflate_all(&mut server).unwrap());
            }
            sent.extend_from_slice(part.as_bytes());
            assert_eq!(got, sent);
        }
        server.push(&client.compress(b"c NOOP\r\n", FlushCompress::Sync));
        assert_eq!(inflate_all(&mut server).unwrap(), b"c NOOP\r\n");
    }

    #[test]
    fn a_deflate_bomb_comes_out_in_bounded_pieces() {
        let mut server = Deflate::new();
        let mut client = Peer::new();
        let bomb = client.compress(&vec![b'x'; 8 << 20], FlushCompress::Sync);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        server.push(&bomb);
        // inflate_all checks the size of each piece.
        assert_eq!(inflate_all(&mut server).unwrap().len(), 8 << 20);
    }

    #[test]
    fn corrupt_input_and_input_after_the_end_are_errors() {
        let mut server = Deflate::new();
        // Block type 3 is reserved (RFC 1951 3.2.3).
        server.push(&[0xff, 0xff, 0xff]);
        assert!(matches!(
            inflate_all(&mut server),
            Err(InflateError::Corrupt(_))
        ));

        let mut server = Deflate::new();
        let mut client = Peer::new();
        let mut ended = client.compress(b"a LOGOUT\r\n", FlushCompress::Finish);
        ended.extend_from_slice(b"more");
        server.push(&ended);
        assert_eq!(server.inflate().unwrap(), b"a LOGOUT\r\n");
        let err = server.inflate().unwrap_err();
        assert!(matches!(err, InflateError::AfterEnd), "{err}");
    }
}
