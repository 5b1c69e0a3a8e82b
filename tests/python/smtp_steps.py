#!/usr/bin/env python3
"""Runs an SMTP conversation with Python's smtplib, for the end-to-end tests.

The steps come as a JSON list on standard input; the result of each step is
printed as one JSON list on standard output, in order. A step that raises
gives {"error": ...} and the conversation goes on, so a test sees every
refusal. Steps:

  {"op": "connect", "port": N, "tls": "none" | "starttls" | "implicit",
   "host": IP}
      -> {"code", "features"}: the EHLO reply, after TLS when there is TLS;
         with "starttls" also "features_before_tls" and "starttls_code".
         The host is 127.0.0.1 unless given.
  {"op": "ehlo"}                     -> {"code", "features"}
  {"op": "login", "user", "password", "mechanism": "PLAIN" | "LOGIN"}
  {"op": "mail", "from", "options": [...]}
  {"op": "rcpt", "to", "options": [...]}
  {"op": "data", "message"}          (the message as sent, CRLF line ends)
  {"op": "sendmail", "from", "to": [...], "message", "mail_options": [...]}
      -> {"refused": {address: [code, text]}} or {"error", "code", "text"}
  {"op": "raw", "bytes"}             sends the text as it is (pipelining)
  {"op": "reply"}                    reads one reply
  {"op": "starttls_injection", "port": N}
      sends "STARTTLS\\r\\nNOOP\\r\\n" in one write, switches to TLS, sends
      EHLO and returns that first reply after TLS (CVE-2011-0411).
  {"op": "quit"}

Codes and texts are returned as {"code": int, "text": str}. The server's
certificate is self-signed, so it is not verified.
"""

import json
import smtplib
import socket
import ssl
import sys

TIMEOUT = 15


def context():
    return ssl._create_unverified_context()


def reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return {"code": code, "text": text}


def features(smtp):
    return {name: value for name, value in smtp.esmtp_features.items()}


def connect(step):
    port, tls = step["port"], step.get("tls", "none")
    host = step.get("host", "127.0.0.1")
    if tls == "implicit":
        smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
    code, _ = smtp.ehlo("client.example")
    result = {"code": code, "features": features(smtp)}
    if tls == "starttls":
        result["features_before_tls"] = result["features"]
        result["starttls_code"], _ = smtp.starttls(context=context())
        code, _ = smtp.ehlo("client.example")
        result["code"], result["features"] = code, features(smtp)
    return smtp, result


def login(smtp, step):
    smtp.user, smtp.password = step["user"], step["password"]
    mechanism = step.get("mechanism", "PLAIN")
    method = getattr(smtp, "auth_" + mechanism.lower())
    try:
        return reply(*smtp.auth(mechanism, method))
    except smtplib.SMTPAuthenticationError as err:
        return reply(err.smtp_code, err.smtp_error)


def sendmail(smtp, step):
    try:
        refused = smtp.sendmail(
            step["from"],
            step["to"],
            step["message"].encode("utf-8"),
            mail_options=step.get("mail_options", []),
        )
        return {"refused": {k: list(reply(*v).values()) for k, v in refused.items()}}
    except smtplib.SMTPRecipientsRefused as err:
        return {
            "error": "recipients refused",
            "refused": {k: list(reply(*v).values()) for k, v in err.recipients.items()},
        }
    except smtplib.SMTPResponseException as err:
        return {"error": type(err).__name__, **reply(err.smtp_code, err.smtp_error)}


def starttls_injection(step):
    sock = socket.create_connection(("127.0.0.1", step["port"]), timeout=TIMEOUT)
    stream = sock.makefile("rb")

    def read_reply():
        lines = []
        while True:
            line = stream.readline()
            if not line:
                return {"closed": True, "lines": lines}
            lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            if line[3:4] == b" ":
                return {"code": int(line[:3]), "lines": lines}

    read_reply()
    sock.sendall(b"EHLO client.example\r\n")
    read_reply()
    # The NOOP is sent in clear after STARTTLS: it must not be executed.
    sock.sendall(b"STARTTLS\r\nNOOP\r\n")
    go_ahead = read_reply()
    tls = context().wrap_socket(sock, server_hostname="mx.postino.test")
    stream = tls.makefile("rb")
    tls.sendall(b"EHLO client.example\r\n")
    first = read_reply()
    tls.sendall(b"QUIT\r\n")
    read_reply()
    tls.close()
    return {"starttls": go_ahead, "first_after_tls": first}


def run(steps):
    smtp = None
    results = []
    for step in steps:
        op = step["op"]
        try:
            if op == "connect":
                smtp, result = connect(step)
            elif op == "ehlo":
                code, _ = smtp.ehlo("client.example")
                result = {"code": code, "features": features(smtp)}
            elif op == "login":
                result = login(smtp, step)
            elif op == "mail":
                result = reply(*smtp.mail(step["from"], step.get("options", [])))
            elif op == "rcpt":
                result = reply(*smtp.rcpt(step["to"], step.get("options", [])))
            elif op == "data":
                result = reply(*smtp.data(step["message"].encode("utf-8")))
            elif op == "sendmail":
                result = sendmail(smtp, step)
            elif op == "raw":
                smtp.send(step["bytes"].encode("utf-8"))
                result = {}
            elif op == "reply":
                result = reply(*smtp.getreply())
            elif op == "starttls_injection":
                result = starttls_injection(step)
            elif op == "quit":
                result = reply(*smtp.quit())
            else:
                raise ValueError("unknown step " + op)
        except smtplib.SMTPResponseException as err:
            result = {"error": type(err).__name__, **reply(err.smtp_code, err.smtp_error)}
        except Exception as err:  # the test sees what went wrong, and goes on
            result = {"error": type(err).__name__, "text": str(err)}
        results.append(result)
    return results


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
