"""imaplib over TLS, trusting only localserve's generated certificate: IMAPS by name
and by address, STARTTLS on the plaintext port, and the SASL mechanisms imaplib
has (PLAIN, CRAM-MD5) besides LOGIN.

Usage: imaplib_tls.py IMAPS_PORT IMAP_PORT CAFILE, with one message "over tls" in
INBOX. Appends "appended after starttls". Raises (exit non-zero) on any failure.
"""

import imaplib
import ssl
import sys

imaps_port, imap_port, cafile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
USER, PASSWORD = "gannet@localhost", "gannetgannet"


def trusting_cert():
    # With a cafile, the system's trust store is not loaded: this is the only anchor.
    return ssl.create_default_context(cafile=cafile)


def read_subject(M):
    typ, data = M.select("INBOX", readonly=True)
    if typ != "OK" or data != [b"1"]:
        raise AssertionError(f"EXAMINE INBOX: {typ} {data!r}")
    typ, data = M.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    if typ != "OK" or b"Subject: over tls" not in data[0][1]:
        raise AssertionError(f"FETCH over TLS: {typ} {data!r}")


for host in ["localhost", "127.0.0.1"]:
    M = imaplib.IMAP4_SSL(host, imaps_port, ssl_context=trusting_cert(), timeout=10)
    M.login(USER, PASSWORD)
    read_subject(M)
    print(f"IMAPS to {host}: {M.sock.version()}, certificate verified")
    M.logout()

# The system's trust store does not know the self-signed certificate, so a
# verifying client with defaults must refuse it: proof that the checks above were
# real verifications of the certificate localserve generated.
try:
    imaplib.IMAP4_SSL("localhost", imaps_port, ssl_context=ssl.create_default_context(), timeout=10)
    raise AssertionError("IMAPS verified against the system trust store")
except ssl.SSLCertVerificationError:
    print("IMAPS without the certificate: refused as expected")

M = imaplib.IMAP4("localhost", imap_port, timeout=10)
if "STARTTLS" not in M.capabilities:
    raise AssertionError(f"no STARTTLS in {M.capabilities!r}")
M.starttls(ssl_context=trusting_cert())
if "STARTTLS" in M.capabilities:
    raise AssertionError(f"STARTTLS still offered after TLS: {M.capabilities!r}")
M.login(USER, PASSWORD)
typ, data = M.append("INBOX", None, None, b"Subject: appended after starttls\r\n\r\nhi\r\n")
if typ != "OK":
    raise AssertionError(f"APPEND after STARTTLS: {typ} {data!r}")
print(f"STARTTLS: {M.sock.version()}, logged in, appended")
M.logout()

M = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
M.login_cram_md5(USER, PASSWORD)
M.logout()
M = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
M.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
M.logout()
print("CRAM-MD5 and PLAIN: logged in")

M = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
try:
    M.login(USER, "wrong password")
    raise AssertionError("logged in with a wrong password")
except imaplib.IMAP4.error as e:
    if "AUTHENTICATIONFAILED" not in str(e):
        raise AssertionError(f"wrong password refused without AUTHENTICATIONFAILED: {e}")
    print(f"wrong password: {e}")
M.logout()
