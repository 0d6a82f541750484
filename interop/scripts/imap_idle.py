"""IDLE push: one connection IDLEs on INBOX (raw socket: imaplib has no IDLE before
Python 3.14) while another session appends, changes flags and expunges, and mail
arrives over SMTP. Each change must reach the idler within PUSH_WITHIN seconds.

Usage: imap_idle.py IMAP_PORT SMTP_PORT, with an empty INBOX. Prints one line per
event with the delay; raises (exit non-zero) on a missing or late update.
"""

import imaplib
import re
import smtplib
import socket
import sys
import time

imap_port, smtp_port = int(sys.argv[1]), int(sys.argv[2])
PUSH_WITHIN = 2.0


class Raw:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        self.seen = []
        self.line()

    def line(self):
        line = self.file.readline()
        if not line:
            raise AssertionError(f"connection closed; lines so far: {self.seen!r}")
        self.seen.append(line)
        return line

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def command(self, tag, text):
        self.send(f"{tag} {text}")
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                if not line.startswith(tag.encode() + b" OK"):
                    raise AssertionError(f"{text}: {line!r}")
                return

    def wait_for(self, pattern, what, within=PUSH_WITHIN):
        """Reads until a line matches; returns the delay. Fails after `within`."""
        start = time.monotonic()
        first = len(self.seen)
        while True:
            left = within - (time.monotonic() - start)
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                line = self.line()
            except (socket.timeout, TimeoutError):
                break
            if re.match(pattern, line):
                return time.monotonic() - start
        raise AssertionError(
            f"{what}: no line matching {pattern!r} within {within} s; "
            f"the idler got {self.seen[first:]!r}"
        )


idler = Raw(imap_port)
idler.command("a1", "LOGIN gannet@localhost gannetgannet")
idler.command("a2", "SELECT INBOX")
if b"* 0 EXISTS\r\n" not in idler.seen:
    raise AssertionError(f"INBOX is not empty: {idler.seen!r}")
idler.send("a3 IDLE")
idler.wait_for(rb"\+ ", "IDLE continuation")

writer = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
writer.login("gannet@localhost", "gannetgannet")

writer.append("INBOX", None, None, b"Subject: appended while idling\r\n\r\nhi\r\n")
# No backslashes inside f-string expressions: Debian 12 has Python 3.11.
delay = idler.wait_for(rb"\* 1 EXISTS", "APPEND")
print(f"APPEND by another session: {delay:.3f} s")

with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
    smtp.sendmail(
        "sender@example.org",
        ["gannet@localhost"],
        b"Subject: delivered while idling\r\n\r\nhi\r\n",
    )
delay = idler.wait_for(rb"\* 2 EXISTS", "SMTP delivery")
print(f"delivery over SMTP: {delay:.3f} s")

writer.select("INBOX")
writer.store("1", "+FLAGS", r"(\Flagged)")
delay = idler.wait_for(rb"\* 1 FETCH \(.*\\Flagged", "flag change")
print(f"STORE by another session: {delay:.3f} s")

writer.store("1", "+FLAGS.SILENT", r"(\Deleted)")
writer.expunge()
delay = idler.wait_for(rb"\* 1 EXPUNGE", "EXPUNGE")
print(f"EXPUNGE by another session: {delay:.3f} s")
writer.logout()

idler.send("DONE")
idler.wait_for(rb"a3 OK", "IDLE completion after DONE")
idler.command("a4", "LOGOUT")
