"""dkimpy (Debian's python3-dkim) for the DKIM differential test.

    dkimpy.py verify NAME RECORD < message   exit 0 if every signature verifies;
                                             the key record RECORD answers NAME
    dkimpy.py sign DOMAIN SELECTOR KEY.pem HEADER/BODY < message
                                             prints the DKIM-Signature field

Keys are gannet's PEM files (PKCS#8), turned into what dkimpy reads: RSA as
PKCS#1 (by openssl), Ed25519 as the base64 of the 32-octet seed (the last 32
octets of the PKCS#8 DER).
"""

import base64
import subprocess
import sys

import dkim


def der_of(pem):
    return base64.b64decode(b"".join(l for l in pem.splitlines() if not l.startswith(b"-----")))


def main():
    message = sys.stdin.buffer.read()
    if sys.argv[1] == "verify":
        name, record = sys.argv[2].encode(), sys.argv[3].encode()

        def dnsfunc(qname, timeout=5):
            return record if qname.rstrip(b".") == name else None

        verifier = dkim.DKIM(message)
        count = len([h for h in verifier.headers if h[0].lower() == b"dkim-signature"])
        ok = all(verifier.verify(idx=i, dnsfunc=dnsfunc) for i in range(count))
        print("pass" if ok and count else "fail")
        sys.exit(0 if ok and count else 1)
    domain, selector, keyfile, canon = sys.argv[2:6]
    pem = open(keyfile, "rb").read()
    der = der_of(pem)
    if len(der) < 100:  # an Ed25519 PKCS#8 key is 48 octets, an RSA one far longer
        key, algorithm = base64.b64encode(der[-32:]), b"ed25519-sha256"
    else:
        # This dkimpy reads PKCS#1 ("RSA PRIVATE KEY") only.
        pkcs1 = subprocess.run(["openssl", "pkey", "-in", keyfile, "-traditional"],
                               check=True, capture_output=True).stdout
        key, algorithm = pkcs1, b"rsa-sha256"
    header, body = canon.encode().split(b"/")
    field = dkim.sign(message, selector.encode(), domain.encode(), key,
                      canonicalize=(header, body), signature_algorithm=algorithm,
                      include_headers=[b"from", b"to", b"subject", b"date"])
    sys.stdout.buffer.write(field)


main()
