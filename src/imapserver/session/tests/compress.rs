//! COMPRESS=DEFLATE (RFC 4978) transcripts: the test client deflates what it sends
//! and inflates what it gets, and the transcripts show the text on both sides, with
//! a marker where the stream switches to DEFLATE.

use flate2::FlushCompress;

use super::super::compress::Peer;
use super::*;

/// Marks where a transcript goes on in DEFLATE (the text shown is inflated).
const DEFLATE_FROM_HERE: &str = "-- DEFLATE from here on\n";

/// A client whose connection is compressed from now on.
struct Deflating {
    client: Client,
    peer: Peer,
}

impl Deflating {
    /// The client side of `client`'s connection once its COMPRESS is answered OK.
    fn new(client: Client) -> Deflating {
        Deflating {
            client,
            peer: Peer::new(),
        }
    }

    /// Alice, logged in, after COMPRESS (neither in the transcript).
    fn logged_in(server: &Server) -> Deflating {
        let mut client = server.logged_in("alice", "");
        let (out, _) = client.session.feed(b"z COMPRESS DEFLATE\r\n");
        assert_eq!(out, b"z OK DEFLATE active\r\n");
        Deflating::new(client)
    }

    /// Sends one write, deflated and sync-flushed, and shows the inflated answer.
    fn send(&mut self, write: &str, log: &mut String) {
        self.send_flushed(write, FlushCompress::Sync, log);
    }

    /// Sends one write deflated with `flush` (a partial flush ends no block).
    fn send_flushed(&mut self, write: &str, flush: FlushCompress, log: &mut String) {
        show(&format!("{}C: ", self.client.name), write.as_bytes(), log);
        let compressed = self.peer.compress(write.as_bytes(), flush);
        let (out, action) = self.client.session.feed(&compressed);
        self.answer(&out, action, log);
    }

    /// Shows what the server sent, inflated, and the action unless it is the usual.
    fn answer(&mut self, compressed: &[u8], action: Action, log: &mut String) {
        let plain = self.peer.inflate(compressed);
        show(&format!("{}S: ", self.client.name), &plain, log);
        if !matches!(action, Action::Continue | Action::Idle) {
            log.push_str(&format!("-- {action:?}\n"));
        }
    }

    /// What an idling session pushes after changes by others.
    fn pushed(&mut self, log: &mut String) {
        let (out, action) = self.client.session.changes_arrived();
        self.answer(&out, action, log);
        assert_eq!(action, Action::Idle);
    }
}

#[test]
fn compress_after_login_then_every_command_deflated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    append_message(&server, "alice", "Inbox", MESSAGE);
    let mut log = String::new();
    let mut client = server.connect(&mut log);
    for write in [
        "a COMPRESS DEFLATE\r\n",
        "b LOGIN alice secret\r\n",
        "c COMPRESS LZW\r\n",
        "d COMPRESS DEFLATE\r\n",
    ] {
        client.send(write, &mut log);
    }
    log.push_str(DEFLATE_FROM_HERE);
    let mut client = Deflating::new(client);
    let size = MESSAGE.len();
    for write in [
        "e COMPRESS DEFLATE\r\n",
        "f SELECT INBOX\r\n",
        &format!("g APPEND INBOX {{{size}}}\r\n"),
        &format!("{MESSAGE}\r\n"),
        "h FETCH 2 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\r\n",
        "i STARTTLS\r\n",
        "j UNAUTHENTICATE\r\n",
        "k CAPABILITY\r\n",
        "l STARTTLS\r\n",
        "m LOGOUT\r\n",
    ] {
        client.send(write, &mut log);
    }
    insta::assert_snapshot!(log);
}

#[test]
fn commands_pipelined_after_compress_are_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut log = String::new();
    let mut client = Deflating::new(server.logged_in("alice", ""));
    // The client may not pipeline after COMPRESS (RFC 4978 3), but if it does, what
    // follows the command line is compressed, and so is the answer to it.
    let mut write = b"a COMPRESS DEFLATE\r\n".to_vec();
    let pipelined = b"b NOOP\r\nc SELECT INBOX\r\n";
    write.extend(client.peer.compress(pipelined, FlushCompress::Sync));
    show("C: ", b"a COMPRESS DEFLATE\r\n", &mut log);
    log.push_str("-- in the same write, deflated:\n");
    show("C: ", pipelined, &mut log);
    let (out, action) = client.client.session.feed(&write);
    let plain = b"a OK DEFLATE active\r\n";
    assert!(out.starts_with(plain), "{out:02x?}");
    show("S: ", plain, &mut log);
    log.push_str(DEFLATE_FROM_HERE);
    client.answer(&out[plain.len()..], action, &mut log);
    client.send("d NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn partial_flushes_are_read_as_they_come() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut log = String::new();
    let mut client = Deflating::logged_in(&server);
    // One command over three partial flushes: the answer comes with the last piece.
    for piece in ["a SEL", "ECT IN", "BOX\r\n"] {
        client.send_flushed(piece, FlushCompress::Partial, &mut log);
    }
    // And a whole command, a byte of compressed input at a time.
    show("C: ", b"b NOOP\r\n", &mut log);
    let compressed = client.peer.compress(b"b NOOP\r\n", FlushCompress::Partial);
    let mut answer = Vec::new();
    for byte in &compressed {
        let (out, action) = client.client.session.feed(std::slice::from_ref(byte));
        assert_eq!(action, Action::Continue);
        answer.extend(client.peer.inflate(&out));
    }
    show("S: ", &answer, &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn idle_pushes_are_deflated_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut log = String::new();
    let mut b = Deflating::logged_in(&server);
    b.send("b1 SELECT INBOX\r\n", &mut log);
    b.send("b2 IDLE\r\n", &mut log);
    log.push_str("-- a message is delivered by SMTP\n");
    append_message(&server, "alice", "Inbox", MESSAGE);
    b.pushed(&mut log);
    b.send("DONE\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn invalid_compressed_input_ends_the_session_with_a_deflated_bye() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut client = Deflating::logged_in(&server);
    let mut log = String::new();
    client.send("a NOOP\r\n", &mut log);
    // A DEFLATE block of the reserved type 3 (RFC 1951 3.2.3).
    log.push_str("C: (bytes that are not DEFLATE data)\n");
    let (out, action) = client.client.session.feed(&[0xff; 8]);
    client.answer(&out, action, &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn a_deflate_bomb_meets_the_framers_caps() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut client = Deflating::logged_in(&server);
    let mut log = String::new();
    // 64 MiB of one byte deflates to about 64 KiB; no line may be that long.
    let bomb = client
        .peer
        .compress(&vec![b'x'; 64 << 20], FlushCompress::Sync);
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    log.push_str("C: (64 MiB of x, without a line end)\n");
    let (out, action) = client.client.session.feed(&bomb);
    assert!(
        client.client.session.framer.buffered() <= 64 * 1024,
        "the framer holds {} bytes",
        client.client.session.framer.buffered()
    );
    client.answer(&out, action, &mut log);
    client.send("\r\na NOOP\r\n", &mut log);
    insta::assert_snapshot!(log);
}

#[test]
fn a_paused_fetch_goes_on_deflated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    // 640 KB each: two of them pass the output pause, the third waits.
    let line = format!("{}\r\n", "x".repeat(78));
    let big = format!("Subject: big\r\n\r\n{}", line.repeat(8_000));
    for _ in 0..3 {
        append_message(&server, "alice", "Inbox", &big);
    }
    let mut client = Deflating::logged_in(&server);
    client.send("s SELECT INBOX\r\n", &mut String::new());
    let write = client.peer.compress(
        b"f FETCH 1:* BODY.PEEK[]\r\nn NOOP\r\n",
        FlushCompress::Sync,
    );
    let (first, action) = client.client.session.feed(&write);
    assert_eq!(action, Action::More);
    assert!(first.len() < 100_000, "compressed: {} bytes", first.len());
    let first = String::from_utf8(client.peer.inflate(&first)).unwrap();
    assert!(first.contains("* 2 FETCH") && !first.contains("* 3 FETCH"));
    let (rest, action) = client.client.session.feed(b"");
    assert_eq!(action, Action::Continue);
    let rest = String::from_utf8(client.peer.inflate(&rest)).unwrap();
    assert!(rest.starts_with("* 3 FETCH"), "{}", &rest[..200]);
    assert!(
        rest.ends_with("f OK FETCH done\r\nn OK NOOP done\r\n"),
        "{}",
        &rest[rest.len() - 200..]
    );
}

#[test]
fn the_autologout_bye_is_deflated_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::new(dir.path());
    let mut client = Deflating::logged_in(&server);
    let bye = client.client.session.timed_out();
    assert_eq!(
        client.peer.inflate(&bye),
        b"* BYE silent too long; closing\r\n"
    );
}
