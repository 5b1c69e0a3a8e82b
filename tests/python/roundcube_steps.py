#!/usr/bin/env python3
"""Drives Roundcube over HTTP as a browser would, for the end-to-end tests:
one session (its cookie kept in a jar), forms read from the pages Roundcube
serves and sent back with the fields a user fills in.

Usage: roundcube_steps.py BASE_URL, with the steps as a JSON list on
standard input; the result of each step is printed as one JSON list on
standard output, in order. Steps:

  {"op": "submit", "page": PATH, "form": NAME, "fields": {NAME: VALUE}}
      GETs BASE_URL + PATH, finds the form whose name or id is NAME, and
      sends it as the browser would (below), with FIELDS put in place of
      what the form holds; a list VALUE is sent as several values. With
      "ajax": ACTION, it is sent as Roundcube's script sends it instead
      (its http_post(ACTION, form.serialize())): _remote=1 and the request
      token in the X-Roundcube-Request header.
  {"op": "ajax", "task": TASK, "action": ACTION, "fields": {NAME: VALUE}}
      an http_post of the page's script, with FIELDS alone

Each result is {"status", "url", "messages", "problems"}: the HTTP status,
the URL after redirects, the messages Roundcube shows ([type, text]
pairs, from display_message calls in the page or in the JSON answer), and
the fields it marks as wrong (name and tip), for the test's failure
message. A step that cannot be taken (no such form, no JSON answer) gives
{"error"} instead, with what the page said, and ends the run.

A form is sent as a browser sends it: every named control that is not
disabled, a select with its selected option (or its first), checkboxes and
radio buttons only when checked, no buttons nor files. The one thing the
page's script changes is the managesieve plugin's list fields (a textarea
with data-type="list"): they become one text input NAME[] per line, the
textarea itself left out (smart_field_init in managesieve.js). A field to
fill in that the form does not have is an error: the page changed, and the
test says so instead of posting something no browser would; so is a
value a select does not offer.
"""

import html.parser
import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 30
MESSAGE = re.compile(r'display_message\("((?:[^"\\]|\\.)*)",\s*"(\w+)"')
TOKEN = re.compile(r'"request_token":"(\w+)"')


class Failed(Exception):
    """A step that could not be taken."""


class Form(html.parser.HTMLParser):
    """The controls of one form of a page, in document order."""

    def __init__(self, wanted):
        super().__init__(convert_charrefs=True)
        self.wanted = wanted
        self.inside = False
        self.found = False
        self.action = None
        self.fields = []  # (name, value)
        self.options = {}  # a select's name: the values it offers
        self.problems = []
        self.select = None  # [name, first value, selected values]
        self.option = None  # [value, text, selected]
        self.textarea = None  # [name, attributes, text]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "error" in classes or "is-invalid" in classes:
            tip = attrs.get("data-error-msg") or attrs.get("title") or ""
            self.problems.append([attrs.get("name") or attrs.get("id"), tip])
        if tag == "form" and self.wanted in (attrs.get("name"), attrs.get("id")):
            self.inside, self.found = True, True
            self.action = attrs.get("action") or ""
        if not self.inside:
            return
        name, disabled = attrs.get("name"), "disabled" in attrs
        if tag == "input" and name and not disabled:
            self.input(name, attrs)
        elif tag == "select" and name and not disabled:
            self.select = [name, None, []]
        elif tag == "option" and self.select is not None:
            self.option = [attrs.get("value"), "", "selected" in attrs]
        elif tag == "textarea" and name:
            self.textarea = [name, attrs, ""]

    def input(self, name, attrs):
        kind = (attrs.get("type") or "text").lower()
        if kind in ("checkbox", "radio"):
            if "checked" in attrs:
                self.fields.append((name, attrs.get("value", "on")))
        elif kind not in ("submit", "button", "image", "reset", "file"):
            self.fields.append((name, attrs.get("value", "")))

    def handle_data(self, data):
        if self.option is not None:
            self.option[1] += data
        if self.textarea is not None:
            self.textarea[2] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag in ("option", "select") and self.option is not None:
            self.end_option()
        if tag == "select" and self.select is not None:
            name, first, chosen = self.select
            for value in chosen or ([first] if first is not None else []):
                self.fields.append((name, value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.end_textarea()

    def end_option(self):
        value, text, selected = self.option
        value = text.strip() if value is None else value
        if self.select[1] is None:
            self.select[1] = value
        self.options.setdefault(self.select[0], []).append(value)
        if selected:
            self.select[2].append(value)
        self.option = None

    def end_textarea(self):
        name, attrs, text = self.textarea
        self.textarea = None
        # A textarea's content starts after one leading newline.
        text = text[1:] if text.startswith("\n") else text
        if attrs.get("data-type") == "list":
            for line in text.split("\n") if text else [""]:
                self.fields.append((name + "[]", line))
        elif "disabled" not in attrs:
            self.fields.append((name, text))


class Browser:
    def __init__(self, base):
        self.base = base
        self.token = ""
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar)
        )

    def fetch(self, url, data=None, headers=None):
        body = None if data is None else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(url, body, headers or {})
        try:
            response = self.opener.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as err:
            response = err
        text = response.read().decode("utf-8", "replace")
        token = TOKEN.search(text)
        if token:
            self.token = token.group(1)
        return response.status, response.geturl(), text

    def submit(self, step):
        status, url, page = self.fetch(self.base + step["page"])
        form = Form(step["form"])
        form.feed(page)
        if not form.found:
            said = result(status, url, page)["messages"] or page[:2000]
            raise Failed(f"no form {step['form']!r} at {url} ({status}); it says {said}")
        fields = fill(form, step["fields"], url)
        if "ajax" in step:
            return self.ajax(dict(form.fields)["_task"], step["ajax"], fields)
        target = urllib.parse.urljoin(url, form.action)
        return result(*self.fetch(target, fields))

    def ajax(self, task, action, fields):
        query = urllib.parse.urlencode({"_task": task, "_action": action})
        fields = fields + [("_remote", "1")]
        headers = {"X-Roundcube-Request": self.token}
        status, url, text = self.fetch(f"{self.base}?{query}", fields, headers)
        try:
            answer = json.loads(text)
        except ValueError:
            raise Failed(f"not a JSON answer from {url} ({status}): {text[:2000]}")
        return result(status, url, answer.get("exec") or "")


def expand(fields):
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            yield name, one


def fill(form, wanted, url):
    """The form's fields with WANTED in place of theirs."""
    have = {name for name, _ in form.fields}
    missing = [name for name in wanted if name not in have]
    if missing:
        raise Failed(f"the form at {url} has no field {missing}; it has {sorted(have)}")
    for name, value in expand(wanted):
        offered = form.options.get(name)
        if offered is not None and value not in offered:
            raise Failed(
                f"the form at {url} offers no {value!r} for {name}; it offers {offered}"
            )
    kept = [(name, value) for name, value in form.fields if name not in wanted]
    return kept + list(expand(wanted))


def result(status, url, text):
    messages = [
        [kind, json.loads(f'"{message}"')] for message, kind in MESSAGE.findall(text)
    ]
    problems = Form("")
    problems.feed(text)
    return {
        "status": status,
        "url": url,
        "messages": messages,
        "problems": problems.problems,
    }


def main():
    browser = Browser(sys.argv[1])
    results = []
    for step in json.load(sys.stdin):
        try:
            if step["op"] == "submit":
                results.append(browser.submit(step))
            else:
                fields = list(expand(step["fields"]))
                results.append(browser.ajax(step["task"], step["action"], fields))
        except Failed as err:
            results.append({"error": str(err)})
            break
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
