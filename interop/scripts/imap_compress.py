"""COMPRESS=DEFLATE (RFC 4978) with Python's zlib over a raw socket: imaplib has no
COMPRESS. After the tagged OK every byte both ways is raw DEFLATE (wbits -15).
Commands go out with Z_PARTIAL_FLUSH (the flush RFC 4978 4 suggests) or
Z_SYNC_FLUSH, one is split over several partial flushes, and an APPEND with a
synchronizing literal is fetched back byte for byte. Every answer is checked.

Usage: imap_compress.py IMAP_PORT, with exactly one message in the INBOX. Prints one
line per step; raises (exit non-zero) on any unexpected answer.
"""

import re
import socket
import sys
import zlib

port = int(sys.argv[1])

SMALL = (
    b"From: Compressor <compressor@example.org>\r\n"
    b"To: gannet@localhost\r\n"
    b"Subject: appended compressed\r\n"
    b"Date: Tue, 3 Nov 2026 11:00:00 +0100\r\n"
    b"Message-ID: <compressed@interop.example>\r\n"
    b"\r\n"
    b"sent through zlib\r\n"
)

# Big enough for several deflate blocks and inflate steps, partly repetitive
# (compresses) and partly not (numbers).
BIG = (
    b"From: Compressor <compressor@example.org>\r\n"
    b"To: gannet@localhost\r\n"
    b"Subject: appended big\r\n"
    b"Date: Tue, 3 Nov 2026 11:05:00 +0100\r\n"
    b"Message-ID: <big@interop.example>\r\n"
    b"\r\n"
    + b"".join(b"line %06d of the big message, %d\r\n" % (i, i * i) for i in range(6000))
)


class Connection:
    """A raw IMAP connection that reads lines and literals, plain or inflated."""

    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.deflate = None
        self.inflate = None

    def start_compression(self):
        # Raw DEFLATE both ways: negative wbits means no zlib header.
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        if self.buf:
            raise AssertionError(f"bytes before compression started: {self.buf!r}")

    def receive(self):
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError(f"connection closed; unread: {self.buf!r}")
        if self.inflate is not None:
            data = self.inflate.decompress(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.receive()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def literal(self, size):
        while len(self.buf) < size:
            self.receive()
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def send(self, data, flush=zlib.Z_SYNC_FLUSH):
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(flush)
        self.sock.sendall(data)

    def nothing_yet(self, seconds=0.3):
        """No answer arrives within `seconds`: the command is not complete yet."""
        self.sock.settimeout(seconds)
        try:
            self.receive()
        except (socket.timeout, TimeoutError):
            pass
        finally:
            self.sock.settimeout(10)
        if self.buf:
            raise AssertionError(f"answer before the command was complete: {self.buf!r}")

    def response(self, tag):
        """Lines until the tagged one (literals joined into their line's list)."""
        lines = []
        while True:
            line = self.line()
            literal = re.search(rb"\{(\d+)\}$", line)
            if literal:
                line += b"\r\n" + self.literal(int(literal.group(1)))
                line += self.line()
            if line.startswith(tag + b" "):
                return lines, line
            lines.append(line)

    def command(self, tag, text, flush=zlib.Z_SYNC_FLUSH, status=b"OK"):
        tag = tag.encode()
        self.send(tag + b" " + text + b"\r\n", flush)
        lines, done = self.response(tag)
        if not done.startswith(tag + b" " + status):
            raise AssertionError(f"{text!r}: wanted {status!r}, got {done!r}")
        return lines, done

    def append(self, tag, message, flush):
        tag = tag.encode()
        self.send(tag + b" APPEND INBOX (\\Seen) {%d}\r\n" % len(message), flush)
        go_on = self.line()
        if not go_on.startswith(b"+"):
            raise AssertionError(f"APPEND: wanted a continuation, got {go_on!r}")
        self.send(message + b"\r\n", flush)
        _, done = self.response(tag)
        uid = re.match(rb"\S+ OK \[APPENDUID \d+ (\d+)\]", done)
        if not uid:
            raise AssertionError(f"APPEND: {done!r}")
        return int(uid.group(1))

    def fetch_body(self, tag, uid):
        lines, _ = self.command(tag, b"UID FETCH %d (BODY.PEEK[])" % uid)
        for line in lines:
            body = re.match(rb"\* \d+ FETCH \(.*BODY\[\] \{(\d+)\}\r\n", line, re.S)
            if body:
                start = body.end()
                return line[start : start + int(body.group(1))]
        raise AssertionError(f"UID FETCH {uid}: no BODY[] in {lines!r}")


def step(what):
    print(what, flush=True)


c = Connection()
greeting = c.line()
if not greeting.startswith(b"* OK") or b"COMPRESS=" in greeting:
    raise AssertionError(f"greeting: {greeting!r}")
c.command("a", b"COMPRESS DEFLATE", status=b"BAD")
step("COMPRESS before login: BAD")

_, login = c.command("b", b"LOGIN gannet@localhost gannetgannet")
if b"COMPRESS=DEFLATE" not in login:
    raise AssertionError(f"no COMPRESS=DEFLATE after login: {login!r}")
c.command("c", b"COMPRESS X-LZW", status=b"BAD")
step("unknown algorithm: BAD")

# The tagged OK comes uncompressed; everything after it is DEFLATE.
c.command("d", b"COMPRESS DEFLATE")
c.start_compression()
step("COMPRESS DEFLATE: OK")

c.command("e", b"NOOP", zlib.Z_SYNC_FLUSH)
lines, _ = c.command("f", b"SELECT INBOX", zlib.Z_PARTIAL_FLUSH)
if b"* 1 EXISTS" not in lines:
    raise AssertionError(f"SELECT: {lines!r}")
step("NOOP (sync flush) and SELECT (partial flush): OK")

# One command in three partial flushes: nothing comes back until the last.
for piece in [b"g STAT", b"US INBOX (MESS", b"AGES UIDNEXT)"]:
    c.send(piece, zlib.Z_PARTIAL_FLUSH)
    c.nothing_yet()
c.send(b"\r\n", zlib.Z_PARTIAL_FLUSH)
lines, done = c.response(b"g")
status = re.compile(rb"\* STATUS INBOX \(MESSAGES 1 UIDNEXT \d+\)")
if not done.startswith(b"g OK") or len(lines) != 1 or not status.match(lines[0]):
    raise AssertionError(f"split STATUS: {lines!r} {done!r}")
step("STATUS split over partial flushes: OK")

small = c.append("h", SMALL, zlib.Z_PARTIAL_FLUSH)
big = c.append("i", BIG, zlib.Z_SYNC_FLUSH)
for tag, uid, sent in [("j", small, SMALL), ("k", big, BIG)]:
    got = c.fetch_body(tag, uid)
    if got != sent:
        raise AssertionError(f"UID {uid}: {len(got)} bytes fetched, {len(sent)} sent")
step(f"APPEND and FETCH back, {len(SMALL)} and {len(BIG)} bytes: OK")

_, again = c.command("l", b"COMPRESS DEFLATE", status=b"NO")
if b"[COMPRESSIONACTIVE]" not in again:
    raise AssertionError(f"second COMPRESS: {again!r}")
step("second COMPRESS: NO [COMPRESSIONACTIVE]")

lines, _ = c.command("m", b"LOGOUT", zlib.Z_PARTIAL_FLUSH)
if not lines or not lines[0].startswith(b"* BYE"):
    raise AssertionError(f"LOGOUT: {lines!r}")
c.sock.settimeout(5)
if c.sock.recv(1) != b"":
    raise AssertionError("the connection stays open after LOGOUT")
step("LOGOUT: BYE, closed")
