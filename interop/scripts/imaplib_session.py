"""A mail program's session with Python's imaplib: select, append, search, fetch
(BODY[], BODYSTRUCTURE, ENVELOPE), store, copy, UID MOVE and expunge.

Usage: imaplib_session.py IMAP_PORT. The INBOX must hold exactly the two messages
"first delivered" and "second delivered", in that order, delivered over SMTP.
Prints the final state as JSON; any unexpected answer raises, exiting non-zero.
"""

import imaplib
import json
import re
import sys
import time

port = int(sys.argv[1])

# A multipart message with an attachment, so that BODYSTRUCTURE has parts to show.
APPENDED = (
    b"From: Appender <appender@example.org>\r\n"
    b"To: gannet@localhost\r\n"
    b"Subject: appended multipart\r\n"
    b"Date: Tue, 3 Nov 2026 11:00:00 +0100\r\n"
    b"Message-ID: <appended@interop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"see attachment\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
    b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQF\r\n"
    b"--b1--\r\n"
)


def ok(result, what):
    typ, data = result
    if typ != "OK":
        raise AssertionError(f"{what}: {typ} {data!r}")
    return data


def expect(actual, wanted, what):
    if actual != wanted:
        raise AssertionError(f"{what}: wanted {wanted!r}, got {actual!r}")


def fetch_item(data, what):
    """The text of a FETCH response with its literals, as one bytes value."""
    out = b""
    for part in data:
        if isinstance(part, tuple):
            out += part[0] + part[1]
        elif part is not None:
            out += part
    if not out:
        raise AssertionError(f"{what}: empty FETCH response")
    return out


M = imaplib.IMAP4("127.0.0.1", port, timeout=10)
ok(M.login("gannet@localhost", "gannetgannet"), "LOGIN")
expect(ok(M.select("INBOX"), "SELECT INBOX"), [b"2"], "messages after SELECT")

data = ok(
    M.append("INBOX", r"(\Flagged)", '"03-Nov-2026 11:00:00 +0100"', APPENDED), "APPEND"
)
appenduid = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
if not appenduid:
    raise AssertionError(f"APPEND without APPENDUID: {data!r}")
appended_uid = appenduid.group(2).decode()
# The session that appended learns of the new message by the next NOOP at the latest.
ok(M.noop(), "NOOP")
expect(M.untagged_responses.get("EXISTS", [None])[-1], b"3", "EXISTS after APPEND")
expect(ok(M.select("INBOX"), "SELECT again"), [b"3"], "messages after APPEND")

expect(ok(M.search(None, "ALL"), "SEARCH ALL"), [b"1 2 3"], "SEARCH ALL")
expect(ok(M.search(None, "SUBJECT", '"second delivered"'), "SEARCH SUBJECT"), [b"2"], "SEARCH SUBJECT")
expect(ok(M.search(None, "FLAGGED"), "SEARCH FLAGGED"), [b"3"], "SEARCH FLAGGED")
expect(ok(M.search(None, "UNSEEN"), "SEARCH UNSEEN"), [b"1 2 3"], "SEARCH UNSEEN")
expect(ok(M.search(None, "FROM", "appender@example.org"), "SEARCH FROM"), [b"3"], "SEARCH FROM")
expect(ok(M.search(None, "BODY", "attachment"), "SEARCH BODY"), [b"3"], "SEARCH BODY")
expect(
    ok(M.uid("SEARCH", "UID", appended_uid), "UID SEARCH"),
    [appended_uid.encode()],
    "UID SEARCH",
)

internaldate = fetch_item(ok(M.fetch("3", "(INTERNALDATE)"), "INTERNALDATE"), "INTERNALDATE")
# The same instant; gannet answers it in UTC ("03-Nov-2026 10:00:00 +0000"), not
# in the zone the client gave.
parsed = imaplib.Internaldate2tuple(internaldate)
if parsed is None or time.mktime(parsed) != time.mktime(
    imaplib.Internaldate2tuple(b'INTERNALDATE "03-Nov-2026 11:00:00 +0100"')
):
    raise AssertionError(f"APPEND's date not kept: {internaldate!r}")

# BODY[] returns the message byte for byte, and marks it \Seen.
body = ok(M.fetch("3", "(BODY[])"), "FETCH BODY[]")
expect(body[0][1], APPENDED, "BODY[] of the appended message")
flags = fetch_item(ok(M.fetch("3", "(FLAGS)"), "FETCH FLAGS"), "FLAGS")
if b"\\Seen" not in flags or b"\\Flagged" not in flags:
    raise AssertionError(f"flags after FETCH BODY[]: {flags!r}")
# BODY.PEEK[] does not.
peek = fetch_item(ok(M.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] FLAGS)"), "PEEK"), "PEEK")
if b"second delivered" not in peek or b"\\Seen" in peek:
    raise AssertionError(f"BODY.PEEK: {peek!r}")

structure = fetch_item(ok(M.fetch("3", "(BODYSTRUCTURE)"), "FETCH BODYSTRUCTURE"), "BODYSTRUCTURE")
# Part sizes exclude the CRLF before each boundary, which belongs to the boundary
# (RFC 2046, section 5.1.1).
for wanted in [
    rb'("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 14 ',
    rb'("application" "octet-stream" ("name" "data.bin") NIL NIL "BASE64" 8 ',
    rb'"mixed" ("boundary" "b1")',
    rb'("attachment" ("filename" "data.bin"))',
]:
    if wanted.lower() not in structure.lower():
        raise AssertionError(f"BODYSTRUCTURE lacks {wanted!r}: {structure!r}")

envelope = fetch_item(ok(M.fetch("1", "(ENVELOPE)"), "FETCH ENVELOPE"), "ENVELOPE")
for wanted in [
    b'"Mon, 2 Nov 2026 10:00:00 +0000" "first delivered"',
    b'(("Sender" NIL "sender" "example.org"))',
    b'((NIL NIL "gannet" "localhost"))',
    b'"<first-delivered@interop.example>"',
]:
    if wanted not in envelope:
        raise AssertionError(f"ENVELOPE lacks {wanted!r}: {envelope!r}")

# STORE: the untagged FETCH shows the new flags; .SILENT shows nothing.
stored = fetch_item(ok(M.store("1", "+FLAGS", r"(\Seen \Answered $Label1)"), "STORE"), "STORE")
# Keywords are compared without case: gannet answers "$label1" (keywords are
# case-insensitive; Dovecot would keep the client's spelling).
for flag in [rb"\seen", rb"\answered", b"$label1"]:
    if flag not in stored.lower():
        raise AssertionError(f"STORE +FLAGS: {stored!r}")
ok(M.store("1", "-FLAGS.SILENT", r"(\Answered)"), "STORE -FLAGS.SILENT")
flags = fetch_item(ok(M.fetch("1", "(FLAGS)"), "FETCH FLAGS"), "FLAGS")
if rb"\Answered" in flags or b"$label1" not in flags.lower():
    raise AssertionError(f"flags after -FLAGS.SILENT: {flags!r}")

data = ok(M.copy("1", "Archive"), "COPY")
if b"COPYUID" not in data[0]:
    raise AssertionError(f"COPY without COPYUID: {data!r}")

# UID MOVE: the message leaves INBOX with an untagged EXPUNGE and keeps its flags.
typ, data = M.uid("MOVE", appended_uid, "Trash")
expect(typ, "OK", f"UID MOVE {data!r}")
moved = M.untagged_responses.pop("EXPUNGE", None)
expect(moved, [b"3"], "EXPUNGE after UID MOVE")

ok(M.store("2", "+FLAGS", r"(\Deleted)"), "STORE \\Deleted")
expect(ok(M.expunge(), "EXPUNGE"), [b"2"], "expunged sequence numbers")
expect(ok(M.search(None, "ALL"), "SEARCH after EXPUNGE"), [b"1"], "INBOX after EXPUNGE")

state = {}
for mailbox in ["INBOX", "Archive", "Trash"]:
    ok(M.select(mailbox, readonly=True), f"EXAMINE {mailbox}")
    typ, data = M.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    expect(typ, "OK", f"FETCH in {mailbox}")
    entries = [
        part[1].decode().strip().removeprefix("Subject: ")
        for part in data
        if isinstance(part, tuple)
    ]
    state[mailbox] = entries
expect(
    ok(M.status("Trash", "(MESSAGES)"), "STATUS"), [b'Trash (MESSAGES 1)'], "STATUS Trash"
)
M.logout()
print(json.dumps(state, sort_keys=True))
