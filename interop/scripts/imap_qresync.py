"""A Thunderbird-like QRESYNC client (RFC 7162) against gannet, with random
concurrent changes from a second connection: across reconnects, plain and abrupt,
the client's cache must never lose a flag change or an expunge.

Usage: imap_qresync.py IMAP_PORT [--seed N] [--rounds N] [--verbose]
The seed also comes from GANNET_QRESYNC_SEED; without either it is random. It is
printed first, so that any failure replays with the same seed (a fresh
`gannet localserve` with an empty INBOX, as the interop test starts it). Rounds in
which the second connection runs in a thread (step 4 below) depend on timing as
well; GANNET_QRESYNC_THREADS=0 leaves them out for an exact replay.
GANNET_QRESYNC_SILENT=0 makes A's STOREs all non-silent.

The client (A) keeps what a mail program keeps on disk for INBOX: a cache
{uid: flags}, the UIDVALIDITY and a HIGHESTMODSEQ to resynchronize from. Each round:

1. B (the same account, another connection, kept open) changes INBOX while A is
   away: APPEND, STORE of flags and keywords (also .SILENT and FLAGS replace),
   \\Deleted with EXPUNGE or UID EXPUNGE, MOVE to Archive and back, COPY.
2. A connects, LOGIN, ENABLE QRESYNC, and SELECT INBOX (QRESYNC (uidvalidity
   highestmodseq [known-uids])) - the first time a plain SELECT and
   UID FETCH 1:* (FLAGS) - and applies VANISHED (EARLIER) and the FETCHes.
3. A's cache is compared with the truth, read by a fresh third connection
   (UID FETCH 1:* (FLAGS MODSEQ)): same UIDs, same flags and keywords (\\Recent
   aside). Nothing else runs meanwhile, so the two must be equal.
4. A stays connected for a while and does what a mail program does: UID STORE
   +/-FLAGS, UID EXPUNGE, UID MOVE to Trash, NOOP, IDLE, UID FETCH 1:* (FLAGS)
   (CHANGEDSINCE h VANISHED), STORE .SILENT (applying its own change to the cache);
   it leaves INBOX (EXAMINE Trash, CLOSE, UNSELECT, or SELECT INBOX again) and
   comes back with SELECT INBOX (QRESYNC ...) on the same connection; after an
   EXISTS it fetches the new messages with UID FETCH last+1:* (FLAGS MODSEQ), where
   last is the largest UID of the last complete view. Meanwhile B makes changes
   between A's commands, while A idles, while it is in another mailbox, and in some
   rounds from a thread, truly concurrently.
   Sometimes A then settles (NOOP until quiet) and is compared with the truth too.
5. A disconnects: LOGOUT, or a bare close of the socket, or a close right after
   the first untagged responses of a NOOP, IDLE or UID FETCH (CHANGEDSINCE).

The HIGHESTMODSEQ rule (RFC 7162 3.1 and 3.2; what a careful client persists):

- Within one command's response, every untagged FETCH with MODSEQ (m) raises the
  candidate to max(candidate, m), and every OK [HIGHESTMODSEQ x], untagged or in
  the tagged completion, sets the candidate to x, even when x is lower. A server
  that tells a flag change while it may not yet tell an expunge (during FETCH,
  STORE, SEARCH) follows the FETCH with OK [HIGHESTMODSEQ x] below the expunge:
  a client that kept the FETCH's modseq would resynchronize past the expunge and
  never hear of it.
- Because that OK comes after the FETCHes, the candidate is committed only at a
  tagged completion, never in the middle of a response (nor while idling: the
  IDLE's candidate is committed at its tagged OK after DONE).
- And only when the client knows every message of the session: its cache holds as
  many messages as the last EXISTS (VANISHED without EARLIER counts down). After an
  EXISTS the candidate may already be above the new messages' modseqs, which no
  resynchronization from it would tell; so the new messages are fetched first.
- An abrupt disconnect keeps the last committed value. The cache may hold changes
  newer than it (applied from a partial response); a resync tells them again, and
  applying them again is harmless.

On a mismatch or a protocol error the script prints the seed, the difference and
the last protocol lines of every connection, and exits with status 1.
"""

import argparse
import collections
import os
import random
import re
import socket
import struct
import sys
import threading
import time

LOGIN, PASSWORD = "gannet@localhost", "gannetgannet"
KEYWORDS = ["$Label1", "$Important", "$Forwarded", "$MDNSent", "Junk", "NonJunk"]
SYSTEM = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft"]
CANONICAL = {f.lower(): f for f in SYSTEM + ["\\Deleted", "\\Recent"]}
# The INBOX size B steers towards.
LOW, HIGH = 4, 24
IDLE_QUIET = 0.12


class Failure(Exception):
    """A divergence or a protocol error: the test fails."""


class Aborted(Exception):
    """The client closed its connection in the middle of a response, on purpose."""


class Log:
    """The recent protocol lines of all connections, for the failure report."""

    def __init__(self, verbose):
        self.lines = collections.deque(maxlen=1500)
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.verbose = verbose

    def add(self, who, text):
        line = f"{time.monotonic() - self.start:8.3f} {who} {text}"
        with self.lock:
            self.lines.append(line)
        if self.verbose:
            print(line, flush=True)

    def tail(self, n=400):
        with self.lock:
            return list(self.lines)[-n:]


def parse_set(text):
    uids = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            uids.extend(range(min(a, b), max(a, b) + 1))
        else:
            uids.append(int(part))
    return uids


def format_set(uids):
    uids = sorted(set(uids))
    parts, i = [], 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        parts.append(str(uids[i]) if i == j else f"{uids[i]}:{uids[j]}")
        i = j + 1
    return ",".join(parts)


def flag_set(text):
    """The flags of a FLAGS list, \\Recent left out, system flags in one spelling."""
    out = set()
    for f in text.split():
        f = CANONICAL.get(f.lower(), f)
        if f != "\\Recent":
            out.add(f)
    return frozenset(out)


def show(flags):
    return "(" + " ".join(sorted(flags)) + ")"


FETCH_RE = re.compile(r"^\* (\d+) FETCH \((.*)\)$")
UID_RE = re.compile(r"(?:^| )UID (\d+)")
FLAGS_RE = re.compile(r"(?:^| )FLAGS \(([^)]*)\)")
MODSEQ_RE = re.compile(r"(?:^| )MODSEQ \((\d+)\)")
HIGHEST_RE = re.compile(r"\[HIGHESTMODSEQ (\d+)\]")


class Conn:
    """One IMAP connection on a raw socket, every line logged."""

    def __init__(self, port, name, log, timeout=10.0):
        self.name, self.log, self.timeout = name, log, timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.tags = 0
        self.closed = False
        greeting = self.read_line()
        if not greeting.startswith("* OK"):
            raise Failure(f"{name}: greeting {greeting!r}")

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise Failure(f"{self.name}: the server closed the connection")
        self.buf += data

    def read_line(self, timeout=None):
        """The next response line, literals inlined. TimeoutError if none comes."""
        while b"\r\n" not in self.buf:
            self._fill(timeout or self.timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        while (m := re.search(rb"\{(\d+)\}$", line)) is not None:
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill(self.timeout)
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            while b"\r\n" not in self.buf:
                self._fill(self.timeout)
            rest, self.buf = self.buf.split(b"\r\n", 1)
            line += rest
        text = line.decode("utf-8", "replace")
        self.log.add(self.name + "<", text)
        return text

    def send(self, text):
        self.log.add(self.name + ">", text)
        self.sock.sendall(text.encode() + b"\r\n")

    def next_tag(self):
        self.tags += 1
        return f"{self.name.lower()}{self.tags}"

    def command(self, text, on_line=None, stop_after=None, ok=True):
        """Sends a command and reads up to its completion, handing each line to
        `on_line`. With `stop_after`, closes the socket after that many untagged
        lines and raises Aborted. Returns the tagged line."""
        tag = self.next_tag()
        self.send(f"{tag} {text}")
        return self.finish(tag, text, on_line, stop_after, ok)

    def finish(self, tag, text, on_line=None, stop_after=None, ok=True):
        untagged = 0
        while True:
            line = self.read_line()
            if line.startswith(tag + " "):
                if on_line:
                    on_line(line, True)
                if ok and not line.startswith(tag + " OK"):
                    raise Failure(f"{self.name}: {text!r} answered {line!r}")
                return line
            if on_line:
                on_line(line, False)
            if line.startswith("* "):
                untagged += 1
                if stop_after is not None and untagged >= stop_after:
                    self.close_abruptly()
                    raise Aborted()

    def append(self, mailbox, flags, message):
        tag = self.next_tag()
        data = message.encode()
        self.send(f"{tag} APPEND {mailbox} {show(flags)} {{{len(data)}}}")
        while True:
            line = self.read_line()
            if line.startswith("+"):
                break
            if line.startswith(tag + " "):
                raise Failure(f"{self.name}: APPEND answered {line!r}")
        self.log.add(self.name + ">", f"({len(data)} octets of message)")
        self.sock.sendall(data + b"\r\n")
        line = self.finish(tag, "APPEND")
        m = re.search(r"\[APPENDUID \d+ (\d+)\]", line)
        return int(m.group(1)) if m else None

    def close_abruptly(self, reset=False):
        if self.closed:
            return
        self.closed = True
        self.log.add(self.name, "-- socket closed without LOGOUT" + (" (RST)" if reset else ""))
        if reset:
            # SO_LINGER 0: the close sends RST instead of FIN.
            linger = struct.pack("ii", 1, 0)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.sock.close()

    def logout(self):
        self.command("LOGOUT")
        self.closed = True
        self.sock.close()


class Mua:
    """Client A: the cache a mail program keeps, and its session while connected."""

    def __init__(self, port, log, rng, stats, silent_stores):
        self.port, self.log, self.rng, self.stats = port, log, rng, stats
        self.silent_stores = silent_stores
        # What is kept across connections.
        self.cache = {}
        self.uidvalidity = None
        self.modseq = None
        # The largest UID when the cache last held every message of the mailbox:
        # messages the client does not know are above it.
        self.top = 0
        # The session.
        self.conn = None
        self.exists = 0
        self.candidate = None
        self.session_uidvalidity = None
        # Whether every FETCH must have MODSEQ: all but those of a FETCH without it.
        self.modseq_required = True
        # During a STORE .SILENT: "+", "-" or "" and the flags it stores.
        self.silent = None
        # The selected mailbox ("INBOX", another, or None), and the one a SELECT
        # in progress is for: responses before its [CLOSED] are the old one's.
        self.current = None
        self.target = None
        # Whether the SELECT in progress told OK [HIGHESTMODSEQ].
        self.highest_told = False

    def command(self, text, stop_after=None):
        """A command of A's, its responses applied as they come."""
        self.modseq_required = not (
            "FETCH" in text and "MODSEQ" not in text and "CHANGEDSINCE" not in text
        )
        try:
            return self.conn.command(text, self.on_line, stop_after)
        finally:
            self.modseq_required = True

    def on_line(self, line, tagged):
        if self.current != "INBOX":
            # Another mailbox's responses, or none selected: nothing for the cache,
            # until a SELECT INBOX closes the other mailbox (RFC 7162 3.2.11).
            if line.startswith("* OK [CLOSED]") and self.current == "closing":
                self.current = self.target
            elif line.startswith("* BYE"):
                raise Failure(f"A: unexpected {line!r}")
            return
        if tagged:
            m = HIGHEST_RE.search(line)
            if m and " OK " in line:
                self.candidate = int(m.group(1))
            return
        if not line.startswith("* "):
            return
        if m := FETCH_RE.match(line):
            items = m.group(2)
            uid = UID_RE.search(items)
            if uid is None:
                raise Failure(f"A: a FETCH without UID although QRESYNC is on: {line!r}")
            uid = int(uid.group(1))
            flags = FLAGS_RE.search(items)
            if flags is not None:
                self.cache[uid] = flag_set(flags.group(1))
                self.stats["fetch lines applied"] += 1
            elif self.silent is not None and uid in self.cache:
                # The answer to our STORE .SILENT (RFC 7162 3.1.3: UID and MODSEQ
                # only): the flags are what we asked for.
                op, changed = self.silent
                if op == "+":
                    self.cache[uid] = self.cache[uid] | changed
                elif op == "-":
                    self.cache[uid] = self.cache[uid] - changed
                else:
                    self.cache[uid] = changed
            modseq = MODSEQ_RE.search(items)
            if modseq is not None:
                self.candidate = max(self.candidate or 0, int(modseq.group(1)))
            elif self.modseq_required:
                # RFC 7162 3.1: once CONDSTORE is on, FETCHes caused by STORE or by
                # others' changes have MODSEQ (only a FETCH asking for no MODSEQ may
                # leave it out).
                raise Failure(f"A: a FETCH without MODSEQ although QRESYNC is on: {line!r}")
            return
        if m := re.match(r"^\* VANISHED \(EARLIER\) ([\d:,]+)$", line):
            for uid in parse_set(m.group(1)):
                self.cache.pop(uid, None)
            self.stats["VANISHED (EARLIER)"] += 1
            return
        if m := re.match(r"^\* VANISHED ([\d:,]+)$", line):
            # Without EARLIER, each UID was a message of the session: EXISTS counts down.
            for uid in parse_set(m.group(1)):
                self.cache.pop(uid, None)
                self.exists -= 1
            self.stats["VANISHED"] += 1
            return
        if m := re.match(r"^\* (\d+) EXISTS$", line):
            self.exists = int(m.group(1))
            return
        if re.match(r"^\* \d+ EXPUNGE$", line):
            raise Failure(f"A: EXPUNGE although QRESYNC is enabled (VANISHED expected): {line!r}")
        if m := re.match(r"^\* OK \[UIDVALIDITY (\d+)\]", line):
            self.session_uidvalidity = int(m.group(1))
            return
        if m := re.match(r"^\* OK \[HIGHESTMODSEQ (\d+)\]", line):
            self.candidate = int(m.group(1))
            self.highest_told = True
            return
        if line.startswith("* BYE") or line.startswith("* NO") or line.startswith("* BAD"):
            raise Failure(f"A: unexpected {line!r}")

    def complete(self):
        """Whether the cache holds every message of the session."""
        return len(self.cache) == self.exists

    def commit(self):
        if self.candidate is not None and self.complete():
            self.modseq = self.candidate

    def run(self, text, stop_after=None):
        """One command of A's, then the new messages if an EXISTS told of some, then
        the commit. Aborted propagates (the connection is gone)."""
        self.command(text, stop_after)
        self.catch_up()
        self.commit()

    def catch_up(self):
        """After an EXISTS: the new messages' flags. They are those above the last
        UID of the last complete view, not above the largest UID known: others'
        flag changes may have told some of the new messages already."""
        if len(self.cache) < self.exists:
            self.stats["new messages fetched"] += 1
            self.command(f"UID FETCH {self.top + 1}:* (FLAGS MODSEQ)")
        if self.complete():
            self.top = max(self.cache, default=0)

    def connect_and_resync(self):
        self.conn = Conn(self.port, "A", self.log)
        self.current = self.target = None
        line = self.conn.command(f"LOGIN {LOGIN} {PASSWORD}")
        if "QRESYNC" not in line:
            raise Failure(f"A: no QRESYNC capability after LOGIN: {line!r}")
        enabled = []
        self.conn.command("ENABLE QRESYNC", lambda l, t: enabled.append(l))
        if "* ENABLED QRESYNC" not in enabled:
            raise Failure(f"A: ENABLE QRESYNC answered {enabled!r}")
        self.select_inbox()

    def select(self, command, mailbox):
        """SELECT or EXAMINE: the responses before [CLOSED] are the old mailbox's."""
        self.target = mailbox
        if self.current is not None:
            self.current = "closing"
        else:
            self.current = mailbox
        self.exists, self.candidate, self.session_uidvalidity = 0, None, None
        self.highest_told = False
        self.command(command)
        if self.current != mailbox:
            raise Failure(f"A: {command!r} closed the previous mailbox without [CLOSED]")
        if mailbox == "INBOX" and not self.highest_told:
            raise Failure(f"A: {command!r} told no HIGHESTMODSEQ although QRESYNC is on")

    def select_inbox(self):
        """SELECT INBOX, with QRESYNC when the cache has something to resync."""
        if self.modseq is None or self.uidvalidity is None:
            self.cache.clear()
            self.select("SELECT INBOX", "INBOX")
            self.uidvalidity = self.session_uidvalidity
            self.command("UID FETCH 1:* (FLAGS)")
        else:
            qresync = f"{self.uidvalidity} {self.modseq}"
            if self.cache and self.rng.random() < 0.5:
                qresync += " " + format_set(self.cache)
            self.select(f"SELECT INBOX (QRESYNC ({qresync}))", "INBOX")
            self.stats["QRESYNC SELECTs"] += 1
            if self.session_uidvalidity != self.uidvalidity:
                # Nothing of the cache can be trusted: start over.
                self.stats["UIDVALIDITY changes"] += 1
                self.cache.clear()
                self.uidvalidity = self.session_uidvalidity
                self.command("UID FETCH 1:* (FLAGS)")
        if self.complete():
            self.top = max(self.cache, default=0)
        self.commit()

    def leave_inbox(self, meanwhile):
        """What a mail program does when the user opens another folder and comes
        back: EXAMINE Trash, CLOSE (which expunges \\Deleted silently), UNSELECT,
        or SELECT INBOX again; then SELECT INBOX (QRESYNC ...) on the same
        connection. What was not committed is resynchronized."""
        how = self.rng.choice(["examine", "close", "unselect", "again"])
        self.stats[f"A leaves INBOX: {how}"] += 1
        if how == "close":
            uids = self.some_uids(2)
            if uids:
                self.run(f"UID STORE {format_set(uids)} +FLAGS (\\Deleted)")
            self.current = None
            self.command("CLOSE")
        elif how == "unselect":
            self.current = None
            self.command("UNSELECT")
        elif how == "examine":
            self.select("EXAMINE Trash", "Trash")
        if how != "again":
            meanwhile()
        self.select_inbox()

    # A's own actions; each returns after the command completed.

    def some_uids(self, most=3):
        if not self.cache:
            return []
        uids = sorted(self.cache)
        return sorted(self.rng.sample(uids, self.rng.randint(1, min(most, len(uids)))))

    def store(self):
        uids = self.some_uids()
        if not uids:
            return self.noop()
        op = self.rng.choice(["+FLAGS", "-FLAGS", "+FLAGS", "FLAGS"])
        flags = self.rng.sample(SYSTEM + KEYWORDS, self.rng.randint(1, 3))
        if self.modseq is not None and self.rng.random() < 0.2:
            # RFC 7162 3.1.3: only where nothing changed since what the client
            # committed; the others come back in [MODIFIED] and stay as they are.
            self.stats["A UID STORE (UNCHANGEDSINCE)"] += 1
            op = f"(UNCHANGEDSINCE {self.modseq}) {op}"
        if self.silent_stores and self.rng.random() < 0.3:
            # Like a client that knows what it sets and needs no echo: it learns
            # others' changes from the unsolicited FETCHes (RFC 9051 6.4.6: sent
            # "regardless of whether or not the .SILENT suffix was used").
            self.stats["A UID STORE .SILENT"] += 1
            sign = op.split()[-1][0]
            self.silent = (sign if sign in "+-" else "", flag_set(" ".join(flags)))
            try:
                self.run(f"UID STORE {format_set(uids)} {op}.SILENT {show(flags)}")
            finally:
                self.silent = None
            return
        self.stats["A UID STORE"] += 1
        self.run(f"UID STORE {format_set(uids)} {op} {show(flags)}")

    def expunge(self):
        uids = self.some_uids(2)
        if not uids:
            return self.noop()
        self.run(f"UID STORE {format_set(uids)} +FLAGS (\\Deleted)")
        if self.rng.random() < 0.7:
            self.stats["A UID EXPUNGE"] += 1
            self.run(f"UID EXPUNGE {format_set(uids)}")
        else:
            self.stats["A EXPUNGE"] += 1
            self.run("EXPUNGE")

    def move(self):
        uids = self.some_uids(2)
        if not uids:
            return self.noop()
        self.stats["A UID MOVE"] += 1
        self.run(f"UID MOVE {format_set(uids)} Trash")

    def noop(self, stop_after=None):
        self.stats["A NOOP"] += 1
        self.run("NOOP", stop_after)

    def changed_since(self, stop_after=None):
        if self.modseq is None:
            return self.noop(stop_after)
        self.stats["A UID FETCH CHANGEDSINCE"] += 1
        self.run(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {self.modseq} VANISHED)", stop_after)

    def idle(self, meanwhile, listen=IDLE_QUIET, stop_after=None):
        """IDLE while `meanwhile()` runs (B's changes), then read what is pushed
        until quiet, then DONE. With `stop_after`, close after that many untagged
        lines (Aborted)."""
        self.stats["A IDLE"] += 1
        tag = self.conn.next_tag()
        self.conn.send(f"{tag} IDLE")
        while True:
            line = self.conn.read_line()
            if line.startswith("+"):
                break
            self.on_line(line, False)
        meanwhile()
        untagged = 0
        while True:
            try:
                line = self.conn.read_line(timeout=listen)
            except (TimeoutError, socket.timeout):
                break
            self.on_line(line, False)
            untagged += 1
            if stop_after is not None and untagged >= stop_after:
                self.conn.close_abruptly()
                raise Aborted()
        self.conn.send("DONE")
        self.conn.finish(tag, "IDLE", self.on_line)
        self.catch_up()
        self.commit()

    def settle(self):
        """NOOP until nothing more comes: the session has told everything."""
        for _ in range(10):
            before = (dict(self.cache), self.exists)
            lines = []
            self.conn.command("NOOP", lambda l, t: (lines.append(l), self.on_line(l, t)))
            self.catch_up()
            self.commit()
            if len(lines) == 1 and before == (self.cache, self.exists) and self.complete():
                return
        raise Failure("A: the session does not settle: NOOP keeps telling changes, or the "
                      f"cache holds {len(self.cache)} messages while EXISTS is {self.exists}")

    def disconnect(self, how):
        if self.conn is None or self.conn.closed:
            self.conn = None
            return
        if how == "logout":
            self.conn.logout()
        else:
            self.conn.close_abruptly(reset=how == "reset")
        self.conn = None


class Changer:
    """Connection B: random changes to INBOX, as another client of the account."""

    def __init__(self, port, log, stats, seed):
        self.conn = Conn(port, "B", log)
        self.conn.command(f"LOGIN {LOGIN} {PASSWORD}")
        self.conn.command("SELECT INBOX")
        self.log, self.stats, self.seed = log, stats, seed
        self.appended = 0

    def uids(self):
        found = []

        def collect(line, tagged):
            if m := re.match(r"^\* SEARCH ?([\d ]*)$", line):
                found.extend(int(x) for x in m.group(1).split())

        self.conn.command("UID SEARCH ALL", collect)
        return found

    def action(self, rng, note=""):
        uids = self.uids()
        weights = {
            "append": 4 if len(uids) < HIGH else 0,
            "store": 6 if uids else 0,
            "expunge": 3 if len(uids) > LOW else 0,
            "move": 2 if len(uids) > LOW else 0,
            "move back": 1,
            "copy": 1 if uids and len(uids) < HIGH else 0,
        }
        if len(uids) < LOW:
            weights["append"] = 8
        kinds = [k for k, w in weights.items() if w]
        kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
        self.stats[f"B {kind}"] += 1
        self.log.add("B", f"-- {kind} {note}")
        pick = lambda most: sorted(rng.sample(uids, rng.randint(1, min(most, len(uids)))))
        c = self.conn
        if kind == "append":
            self.appended += 1
            flags = rng.sample(SYSTEM + KEYWORDS, rng.randint(0, 3))
            n = self.appended
            message = (
                "From: B <b@example.org>\r\nTo: gannet@localhost\r\n"
                f"Subject: qresync seed {self.seed} message {n}\r\n"
                "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
                f"Message-ID: <qresync-{self.seed}-{n}@interop.example>\r\n\r\n"
                f"body {n}\r\n"
            )
            c.append("INBOX", flags, message)
        elif kind == "store":
            op = rng.choice(["+FLAGS", "+FLAGS", "-FLAGS", "FLAGS"])
            if rng.random() < 0.4:
                op += ".SILENT"
            pool = SYSTEM + KEYWORDS + (["\\Deleted"] if rng.random() < 0.2 else [])
            flags = rng.sample(pool, rng.randint(1 if op[0] in "+-" else 0, 3))
            c.command(f"UID STORE {format_set(pick(3))} {op} {show(flags)}")
        elif kind == "expunge":
            chosen = pick(2)
            c.command(f"UID STORE {format_set(chosen)} +FLAGS.SILENT (\\Deleted)")
            if rng.random() < 0.5:
                c.command("EXPUNGE")
            else:
                c.command(f"UID EXPUNGE {format_set(chosen)}")
        elif kind == "move":
            c.command(f"UID MOVE {format_set(pick(2))} Archive")
        elif kind == "move back":
            c.command("SELECT Archive")
            archived = self.uids()
            if archived:
                chosen = sorted(rng.sample(archived, rng.randint(1, min(2, len(archived)))))
                c.command(f"UID MOVE {format_set(chosen)} INBOX")
            c.command("SELECT INBOX")
        elif kind == "copy":
            c.command(f"UID COPY {format_set(pick(2))} INBOX")


def truth(port, log):
    """INBOX as a fresh connection sees it: UIDVALIDITY, HIGHESTMODSEQ and
    {uid: (flags, modseq)}."""
    c = Conn(port, "C", log)
    c.command(f"LOGIN {LOGIN} {PASSWORD}")
    highest = []
    c.command(
        "STATUS INBOX (HIGHESTMODSEQ)",
        lambda l, t: highest.extend(re.findall(r"HIGHESTMODSEQ (\d+)", l)),
    )
    uidvalidity = []
    c.command(
        "EXAMINE INBOX",
        lambda l, t: uidvalidity.extend(re.findall(r"^\* OK \[UIDVALIDITY (\d+)\]", l)),
    )
    messages = {}

    def fetched(line, tagged):
        if m := FETCH_RE.match(line):
            uid = int(UID_RE.search(m.group(2)).group(1))
            flags = flag_set(FLAGS_RE.search(m.group(2)).group(1))
            modseq = int(MODSEQ_RE.search(m.group(2)).group(1))
            messages[uid] = (flags, modseq)

    c.command("UID FETCH 1:* (FLAGS MODSEQ)", fetched)
    c.logout()
    return int(uidvalidity[0]), int(highest[0]), messages


class Run:
    def __init__(self, port, seed, rounds, threads, silent_stores, verbose):
        self.port, self.seed, self.rounds, self.threads = port, seed, rounds, threads
        self.rng = random.Random(seed)
        self.log = Log(verbose)
        self.stats = collections.Counter()
        self.where = "start"
        self.a = Mua(port, self.log, self.rng, self.stats, silent_stores)
        self.b = Changer(port, self.log, self.stats, seed)

    def b_changes(self, n, note):
        for _ in range(n):
            self.b.action(self.rng, note)

    def check(self, what):
        self.where = what
        uidvalidity, highest, server = truth(self.port, self.log)
        a = self.a
        problems = []
        if a.uidvalidity != uidvalidity:
            problems.append(
                f"UIDVALIDITY: the client has {a.uidvalidity}, the server {uidvalidity}"
            )
        for uid in sorted(set(server) | set(a.cache)):
            if uid not in a.cache:
                flags, modseq = server[uid]
                problems.append(
                    f"UID {uid}: missing from the client's cache; the server has it with "
                    f"FLAGS {show(flags)} MODSEQ {modseq}"
                )
            elif uid not in server:
                problems.append(
                    f"UID {uid}: in the client's cache with FLAGS {show(a.cache[uid])}, "
                    "but the server no longer has it (an expunge was lost)"
                )
            elif a.cache[uid] != server[uid][0]:
                flags, modseq = server[uid]
                problems.append(
                    f"UID {uid}: the client has FLAGS {show(a.cache[uid])}, the server "
                    f"FLAGS {show(flags)} MODSEQ {modseq} (a flag change was lost)"
                )
        if a.modseq is not None and a.modseq > highest:
            problems.append(
                f"the client's HIGHESTMODSEQ {a.modseq} is above the mailbox's {highest}"
            )
        if problems:
            raise Failure(
                f"the client's cache differs from the server {what}:\n  "
                + "\n  ".join(problems)
                + f"\n  (the client resynchronized from HIGHESTMODSEQ {a.modseq}; "
                f"the mailbox's HIGHESTMODSEQ is {highest})"
            )
        self.stats["verified: " + what.split(" (")[0]] += 1

    def round(self, r):
        rng, a = self.rng, self.a
        self.where = f"round {r}: changes while A is away"
        self.b_changes(rng.randint(0 if r else 2, 4), "(A away)")
        self.where = f"round {r}: reconnect and resync"
        a.connect_and_resync()
        self.check(f"after the resync (round {r})")
        try:
            self.connected(r)
        except Aborted:
            self.stats["abrupt closes mid-response"] += 1
            a.conn = None

    def connected(self, r):
        rng, a = self.rng, self.a
        self.where = f"round {r}: A connected"
        if self.threads and rng.random() < 0.3:
            self.burst(r)
        for _ in range(rng.randint(1, 6)):
            step = rng.choices(
                ["b", "noop", "idle", "store", "expunge", "move", "changedsince", "leave"],
                [4, 2, 2, 3, 1, 1, 1, 1],
            )[0]
            if step == "b":
                self.b_changes(rng.randint(1, 3), "(A connected)")
            elif step == "noop":
                a.noop()
            elif step == "idle":
                n = rng.randint(1, 3)
                a.idle(lambda: self.b_changes(n, "(A idling)"))
            elif step == "store":
                a.store()
            elif step == "expunge":
                a.expunge()
            elif step == "move":
                a.move()
            elif step == "changedsince":
                a.changed_since()
            elif step == "leave":
                n = rng.randint(0, 3)
                a.leave_inbox(lambda: self.b_changes(n, "(A in another mailbox)"))
        if rng.random() < 0.35:
            self.where = f"round {r}: A settles"
            a.settle()
            self.check(f"while connected, after NOOP (round {r})")
        self.where = f"round {r}: A disconnects"
        how = rng.choices(["logout", "close", "reset", "mid-response"], [3, 2, 1, 4])[0]
        self.stats[f"disconnect: {how}"] += 1
        if how != "mid-response":
            a.disconnect(how)
            return
        # Changes A hears of in part: the first untagged lines, then the socket closes.
        self.b_changes(rng.randint(1, 4), "(A about to drop)")
        stop_after = rng.randint(1, 3)
        kind = rng.choice(["noop", "idle", "changedsince"])
        if kind == "noop":
            a.noop(stop_after)
        elif kind == "changedsince":
            a.changed_since(stop_after)
        else:
            a.idle(lambda: self.b_changes(rng.randint(0, 2), "(A idling)"), stop_after=stop_after)
        # Fewer untagged lines than stop_after came: drop the connection now.
        a.disconnect("close")

    def burst(self, r):
        """B changes INBOX from a thread while A goes on with its commands."""
        self.stats["concurrent bursts"] += 1
        b_rng = random.Random(self.rng.getrandbits(64))
        n = self.rng.randint(3, 8)
        errors = []

        def changes():
            try:
                for _ in range(n):
                    self.b.action(b_rng, "(concurrently)")
                    time.sleep(b_rng.random() * 0.01)
            except BaseException as e:  # reported by the main thread
                errors.append(e)

        thread = threading.Thread(target=changes, daemon=True)
        thread.start()
        a, rng = self.a, self.rng
        while thread.is_alive():
            step = rng.choice(["noop", "store", "changedsince", "idle", "expunge"])
            if step == "noop":
                a.noop()
            elif step == "store":
                a.store()
            elif step == "changedsince":
                a.changed_since()
            elif step == "expunge":
                a.expunge()
            else:
                a.idle(lambda: None, listen=0.03)
        thread.join()
        if errors:
            raise errors[0]

    def main(self):
        for r in range(self.rounds):
            self.round(r)
        # The last changes, and one more resync to learn them.
        self.where = "end: changes while A is away"
        self.b_changes(3, "(A away)")
        self.a.connect_and_resync()
        self.check("after the final resync")
        self.a.disconnect("logout")
        self.b.conn.logout()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    seed = args.seed
    if seed is None and os.environ.get("GANNET_QRESYNC_SEED"):
        seed = int(os.environ["GANNET_QRESYNC_SEED"])
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 32)
    threads = os.environ.get("GANNET_QRESYNC_THREADS", "1") != "0"
    print(f"seed {seed} ({args.rounds} rounds); replay with: imap_qresync.py PORT "
          f"--seed {seed} --rounds {args.rounds}", flush=True)
    silent = os.environ.get("GANNET_QRESYNC_SILENT", "1") != "0"
    run = Run(args.port, seed, args.rounds, threads, silent, args.verbose)
    started = time.monotonic()
    try:
        run.main()
    except (Failure, OSError) as e:
        print(f"FAILED (seed {seed}, {run.where}):\n{e}", file=sys.stderr)
        print(f"\nreplay: imap_qresync.py PORT --seed {seed} --rounds {args.rounds} "
              "(against a fresh localserve)", file=sys.stderr)
        print("\nthe last protocol lines (A: the resynchronizing client, B: the other "
              "client, C: the truth):", file=sys.stderr)
        for line in run.log.tail():
            print("  " + line, file=sys.stderr)
        sys.exit(1)
    elapsed = time.monotonic() - started
    print(f"ok: seed {seed}, {args.rounds} rounds in {elapsed:.1f} s, no change lost")
    for key in sorted(run.stats):
        print(f"  {key}: {run.stats[key]}")


if __name__ == "__main__":
    main()
