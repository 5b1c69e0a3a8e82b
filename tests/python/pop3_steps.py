#!/usr/bin/env python3
"""Runs a POP3 session with Python's poplib, for the end-to-end tests.

The steps come as a JSON list on standard input; the result of each step is
printed as one JSON list on standard output, in order. A step the server
answers with -ERR gives {"error": LINE}, and the session goes on. Steps:

  {"op": "connect", "port": N, "source": IP, "tls": BOOL, "cafile": PATH}
      -> {"response"}: the greeting; from 127.0.0.1 unless "source" is
      given (another loopback address is another client); "tls": implicit
      TLS, the server's certificate verified against "cafile"
  {"op": "stls", "cafile": PATH}
      STLS, the certificate verified against PATH -> {"response"}
  {"op": "capa"} -> {"capabilities": {NAME: [ARGS]}}
  {"op": "short", "text": LINE} -> {"response"}: one-line reply
  {"op": "long", "text": LINE} -> {"response", "lines"}: multi-line reply,
      lines as poplib gives them (dot-unstuffed)
  {"op": "retr", "number": N} -> {"response", "lines", "octets"}: octets as
      sent, lines and CRLF, before dot-unstuffing
  {"op": "auth_plain", "user": U, "password": P, "initial": BOOL}
      AUTH PLAIN with the credentials on the command line or after the
      server's "+ " challenge -> {"response"}
  {"op": "raw", "bytes": TEXT} writes TEXT as it is and reads one line
      -> {"response"}
  {"op": "quit"} -> {"response"}
  {"op": "closed"} -> {"closed": BOOL}: whether the server closed the
      connection (reads what is left)
"""

import base64
import json
import poplib
import socket
import ssl
import sys

TIMEOUT = 15


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


class FromSource(poplib.POP3):
    """poplib's client, from a chosen loopback address."""

    def __init__(self, port, source):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )


class FromSourceTls(poplib.POP3_SSL):
    def __init__(self, port, source, cafile):
        self.source = source
        super().__init__("127.0.0.1", port, timeout=TIMEOUT, context=context(cafile))

    def _create_socket(self, timeout):
        sock = socket.create_connection(
            (self.host, self.port), timeout, source_address=(self.source, 0)
        )
        return self.context.wrap_socket(sock, server_hostname=self.host)


def text(value):
    return value.decode("utf-8", "replace")


def run(steps):
    pop = None
    results = []
    for step in steps:
        op = step["op"]
        try:
            if op == "connect":
                source = step.get("source", "127.0.0.1")
                if step.get("tls"):
                    pop = FromSourceTls(step["port"], source, step["cafile"])
                else:
                    pop = FromSource(step["port"], source)
                results.append({"response": text(pop.getwelcome())})
            elif op == "stls":
                results.append({"response": text(pop.stls(context(step["cafile"])))})
            elif op == "capa":
                results.append({"capabilities": pop.capa()})
            elif op == "short":
                results.append({"response": text(pop._shortcmd(step["text"]))})
            elif op == "long":
                response, lines, _ = pop._longcmd(step["text"])
                results.append(
                    {"response": text(response), "lines": [text(l) for l in lines]}
                )
            elif op == "retr":
                pop._putcmd("RETR %d" % step["number"])
                response = pop._getresp()
                raw = b""
                lines = []
                while True:
                    line = pop.file.readline()
                    if line == b".\r\n":
                        break
                    raw += line
                    if line.startswith(b".."):
                        line = line[1:]
                    lines.append(text(line.rstrip(b"\r\n")))
                results.append(
                    {"response": text(response), "lines": lines, "octets": len(raw)}
                )
            elif op == "auth_plain":
                message = b"\0" + step["user"].encode() + b"\0" + step["password"].encode()
                encoded = base64.b64encode(message).decode()
                if step.get("initial", True):
                    response = pop._shortcmd("AUTH PLAIN " + encoded)
                else:
                    pop._putcmd("AUTH PLAIN")
                    challenge = pop._getline()[0]
                    if not challenge.startswith(b"+ ") and challenge != b"+":
                        raise poplib.error_proto(challenge)
                    response = pop._shortcmd(encoded)
                results.append({"response": text(response)})
            elif op == "raw":
                pop.sock.sendall(step["bytes"].encode())
                results.append({"response": text(pop._getline()[0])})
            elif op == "quit":
                results.append({"response": text(pop.quit())})
            elif op == "closed":
                try:
                    rest = pop.file.read()
                    results.append({"closed": True, "rest": text(rest)})
                except OSError:
                    results.append({"closed": True, "rest": ""})
            else:
                raise ValueError("unknown op " + op)
        except poplib.error_proto as err:
            line = err.args[0]
            results.append({"error": text(line) if isinstance(line, bytes) else str(line)})
        except (EOFError, OSError) as err:
            results.append({"failed": str(err)})
    return results


if __name__ == "__main__":
    print(json.dumps(run(json.load(sys.stdin))))
