#!/usr/bin/env python3
"""Runs a ManageSieve session (RFC 5804) over a TCP socket, with ssl for
STARTTLS, for the end-to-end tests.

The steps come as a JSON list on standard input; the result of each step is
printed as one JSON list on standard output, in order. Steps:

  {"op": "connect", "port": N, "source": IP}
      -> {"lines", "response"}: the greeting; the source address is
      127.0.0.1 unless given (another loopback address is another client)
  {"op": "starttls"}
      -> {"lines", "response"} of STARTTLS, then, if it was OK,
      {"tls_lines", "tls_response"}: the capabilities after the handshake
  {"op": "send", "text": TEXT}
      writes TEXT (UTF-8) as it is, CRLF included, then reads up to the
      response that ends the command -> {"lines", "response"}
  {"op": "authenticate", "user": U, "password": P, "initial": BOOL}
      AUTHENTICATE "PLAIN", the credentials with the command or after the
      server's empty challenge -> {"challenge", "lines", "response"}

What the server sends is read as lines; a line that ends by announcing a
literal ({N}) is joined with the literal's bytes and the rest of its line,
so a script from GETSCRIPT is one item of "lines". The response is the
first line that starts with OK, NO or BYE. The certificate is
self-signed, so it is not verified.
"""

import base64
import json
import re
import socket
import ssl
import sys

TIMEOUT = 15
LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Session:
    def __init__(self, port, source):
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=TIMEOUT, source_address=(source, 0)
        )
        self.reader = self.sock.makefile("rb")

    def line(self):
        raw = self.reader.readline()
        if not raw:
            raise EOFError("the server closed the connection")
        literal = LITERAL.search(raw)
        if literal is None:
            return raw, raw[:-2]
        content = self.reader.read(int(literal.group(1)))
        rest = self.reader.readline()
        return raw, raw[: literal.start()] + content + rest[:-2]

    def response(self):
        """Lines up to the response that ends a command."""
        lines = []
        while True:
            raw, line = self.line()
            if re.match(rb"(OK|NO|BYE)\b", raw):
                return {"lines": lines, "response": text(line)}
            lines.append(text(line))

    def send(self, data):
        self.sock.sendall(data)

    def starttls(self):
        self.send(b"STARTTLS\r\n")
        result = self.response()
        if result["response"].startswith("OK"):
            context = ssl._create_unverified_context()
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
            self.reader = self.sock.makefile("rb")
            after = self.response()
            result["tls_lines"] = after["lines"]
            result["tls_response"] = after["response"]
        return result

    def authenticate(self, user, password, initial):
        message = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        if initial:
            self.send(f'AUTHENTICATE "PLAIN" "{message}"\r\n'.encode())
            result = self.response()
            result["challenge"] = None
            return result
        self.send(b'AUTHENTICATE "PLAIN"\r\n')
        _, challenge = self.line()
        if re.match(rb"(OK|NO|BYE)\b", challenge):
            return {"challenge": None, "lines": [], "response": text(challenge)}
        self.send(f'{{{len(message)}+}}\r\n{message}\r\n'.encode())
        result = self.response()
        result["challenge"] = text(challenge)
        return result


def text(data):
    return data.decode("utf-8", "backslashreplace")


def main():
    steps = json.load(sys.stdin)
    session = None
    results = []
    for step in steps:
        op = step["op"]
        try:
            if op == "connect":
                session = Session(step["port"], step.get("source", "127.0.0.1"))
                results.append(session.response())
            elif op == "starttls":
                results.append(session.starttls())
            elif op == "send":
                session.send(step["text"].encode())
                results.append(session.response())
            elif op == "authenticate":
                results.append(
                    session.authenticate(
                        step["user"], step["password"], step.get("initial", True)
                    )
                )
            else:
                raise ValueError(f"unknown step {op}")
        except Exception as error:  # noqa: BLE001 - reported to the test
            results.append({"error": type(error).__name__, "text": str(error)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
