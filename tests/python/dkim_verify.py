"""Verifies every DKIM signature of a message with dkimpy, an independent
implementation (RFC 6376, and RFC 8463 for Ed25519 through PyNaCl).

Reads JSON on stdin: {"message": "<the message, latin-1 text>",
"records": {"selector._domainkey.domain": "v=DKIM1; ..."}} and answers the
TXT lookups from those records only, never from DNS. Prints a JSON list:
for each DKIM-Signature header, in order, its a= tag and whether it
verified.
"""

import json
import sys

import dkim


def main():
    request = json.load(sys.stdin)
    message = request["message"].encode("latin-1")
    records = request["records"]

    def lookup(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        value = records.get(name.rstrip("."))
        return value.encode() if value is not None else None

    verifier = dkim.DKIM(message)
    results = []
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    for index in range(count):
        verified = verifier.verify(idx=index, dnsfunc=lookup)
        signature = verifier.signature_fields or {}
        algorithm = signature.get(b"a", b"?").decode()
        results.append({"algorithm": algorithm, "verified": bool(verified)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
