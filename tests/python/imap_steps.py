#!/usr/bin/env python3
"""Runs IMAP sessions with Python's imaplib, for the end-to-end tests.

The steps come as a JSON list on standard input; the result of each step is
printed as one JSON list on standard output, in order. A step that raises
gives {"error": class name, "text": ...} and the run goes on, so a test sees
every refusal. Each step names its connection with "session" (default "a"),
so one run can interleave several concurrent sessions. Steps:

  {"op": "connect", "port": N, "tls": "none" | "implicit", "host": IP}
      -> {"welcome", "capabilities"}; the host is 127.0.0.1 unless given
  {"op": "starttls"}  -> {"typ", "capabilities"}: those after the handshake
  {"op": "call", "method": NAME, "args": [...]}
      runs IMAP4.NAME(*args) -> {"typ", "data", "untagged"}. imaplib quotes
      nothing but LOGIN's password, so mailbox names with spaces or 8-bit
      characters come quoted in the arguments; {"bytes": TEXT} passes TEXT
      as bytes (APPEND's message). "untagged" holds every response imaplib
      collected and the method did not return, response codes of the tagged
      line included (APPENDUID, COPYUID); they are cleared after each step.
  {"op": "utf8"}
      makes imaplib send its arguments as UTF-8, which it does on its own
      only after ENABLE UTF8=ACCEPT, not after ENABLE IMAP4rev2.
  {"op": "noop_until", "name": NAME, "seconds": S}
      NOOP until an untagged NAME response comes (another session's change
      may take a moment to be announced) -> {"untagged", "noops"}
  {"op": "send", "bytes": TEXT, "until": REGEX}
      writes TEXT as it is, then reads lines until one matches REGEX
      -> {"lines"}: for IDLE, which imaplib before Python 3.14 lacks.

Bytes in results are decoded as UTF-8, undecodable bytes as \\xNN escapes.
The server's certificate is self-signed, so it is not verified.
"""

import imaplib
import json
import re
import ssl
import sys
import time

TIMEOUT = 15


def context():
    return ssl._create_unverified_context()


def plain(value):
    """`value` as JSON can hold it: bytes as text, tuples as lists."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def argument(value):
    if isinstance(value, dict):
        return value["bytes"].encode("utf-8")
    return value


def untagged(imap):
    collected = plain(imap.untagged_responses)
    imap.untagged_responses.clear()
    return collected


def connect(step):
    port, tls = step["port"], step.get("tls", "none")
    host = step.get("host", "127.0.0.1")
    if tls == "implicit":
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=context(), timeout=TIMEOUT)
    else:
        imap = imaplib.IMAP4(host, port, timeout=TIMEOUT)
    result = {"welcome": plain(imap.welcome), "capabilities": list(imap.capabilities)}
    imap.untagged_responses.clear()
    return imap, result


def call(imap, step):
    method = getattr(imap, step["method"])
    typ, data = method(*[argument(arg) for arg in step.get("args", [])])
    return {"typ": typ, "data": plain(data), "untagged": untagged(imap)}


def noop_until(imap, step):
    name, deadline = step["name"], time.monotonic() + step.get("seconds", 5)
    collected, noops = {}, 0
    while True:
        imap.noop()
        noops += 1
        for key, values in untagged(imap).items():
            collected.setdefault(key, []).extend(values)
        if name in collected or time.monotonic() > deadline:
            return {"untagged": collected, "noops": noops}
        time.sleep(0.05)


def send(imap, step):
    if step.get("bytes"):
        imap.send(step["bytes"].encode("utf-8"))
    until = re.compile(step["until"])
    lines = []
    while True:
        line = imap.readline()
        if not line:
            lines.append("<closed>")
            return {"lines": lines}
        lines.append(plain(line).rstrip("\r\n"))
        if until.search(lines[-1]):
            return {"lines": lines}


def run(steps):
    sessions = {}
    results = []
    for step in steps:
        op, name = step["op"], step.get("session", "a")
        try:
            if op == "connect":
                sessions[name], result = connect(step)
            elif op == "starttls":
                imap = sessions[name]
                typ, _ = imap.starttls(ssl_context=context())
                result = {"typ": typ, "capabilities": list(imap.capabilities)}
                imap.untagged_responses.clear()
            elif op == "call":
                result = call(sessions[name], step)
            elif op == "utf8":
                sessions[name]._encoding = "utf-8"
                result = {}
            elif op == "noop_until":
                result = noop_until(sessions[name], step)
            elif op == "send":
                result = send(sessions[name], step)
            else:
                raise ValueError("unknown step " + op)
        except Exception as err:  # the test sees what went wrong, and goes on
            result = {"error": type(err).__name__, "text": plain(str(err))}
        results.append(result)
    for imap in sessions.values():
        try:
            imap.shutdown()
        except OSError:
            pass
    return results


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
