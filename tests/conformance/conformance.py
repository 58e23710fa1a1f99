"""What a conformance scenario's client uses: an HTTP session with cookies, and observations.

A scenario's `client.py` drives one running Apache (mod_wsgi's or rwsgi's, it cannot tell
which) as a user would, and records what it sees. tests/conformance.rs runs the same client
against both modules and compares the two records key by key.

Each observation is one JSON line on stdout: {"key": "...", "value": "..."}. Keys are
`<step>/status`, `<step>/header/<name>`, `<step>/body`, `<step>/environ/<NAME>`, or whatever a
scenario records itself. Values are normalised so that what differs between any two runs (the
server root, the port, pids, dates, CSRF tokens and session ids) does not count.

Standard library only: the client runs with the system's Python.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.parse
from html.parser import HTMLParser

ROOT = os.environ["CONFORMANCE_ROOT"]
SERVER_ROOT = os.environ["CONFORMANCE_SERVER_ROOT"]
PORT = int(os.environ["CONFORMANCE_PORT"])
HOST = "127.0.0.1"

# Environ keys whose values differ between any two runs: only their shape counts.
VOLATILE = {
    "REMOTE_PORT": "<port>",
    "mod_wsgi.request_id": "<id>",
    "mod_wsgi.connection_id": "<id>",
    "mod_wsgi.server_pid": "<pid>",
    "mod_wsgi.thread_id": "<number>",
    "UNIQUE_ID": "<id>",
}
EPOCH = re.compile(r"^1[6-9]\d{8}(\.\d+)?$")

# Headers whose values belong to the server build or the moment, not the application.
IGNORED_HEADERS = {"date", "server", "keep-alive", "connection"}
HTTP_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d[ -]\w{3}[ -]\d{2,4} \d\d:\d\d:\d\d GMT")
BODY_LIMIT = 64 * 1024

_masks = []
_seen_keys = set()


def mask(pattern, replacement="<masked>", flags=0):
    """Replaces what `pattern` matches in every later value (a token, an id)."""
    _masks.append((re.compile(pattern, flags), replacement))


def normalise(text):
    text = text.replace(ROOT, "{site}")
    text = text.replace(SERVER_ROOT, "{serverroot}")
    text = text.replace("%s:%d" % (HOST, PORT), "{host}")
    # The same in a URL's query string (`next=http%3A//127.0.0.1%3A8000/...`).
    text = text.replace("%s%%3A%d" % (HOST, PORT), "{host}")
    text = text.replace(":%d" % PORT, ":{port}")
    text = HTTP_DATE.sub("<date>", text)
    for pattern, replacement in _masks:
        text = pattern.sub(replacement, text)
    return text


def record(key, value):
    """Records one observation (the key must be new in this run)."""
    if key in _seen_keys:
        raise ValueError("observation key recorded twice: %s" % key)
    _seen_keys.add(key)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = normalise(str(value))
    if len(value) > BODY_LIMIT:
        digest = hashlib.sha256(value.encode()).hexdigest()
        value = "%s... (%d chars, sha256 %s)" % (value[:BODY_LIMIT], len(value), digest)
    sys.stdout.write(json.dumps({"key": key, "value": value}) + "\n")
    sys.stdout.flush()


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lower-case name, value)]
        self.body = body

    def header(self, name):
        for n, v in self.headers:
            if n == name.lower():
                return v
        return None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def form_fields(self, form_index=0):
        """The named inputs of the page's `form_index`-th form, as a dict."""
        parser = _Forms()
        parser.feed(self.text)
        return parser.forms[form_index] if len(parser.forms) > form_index else {}

    def form_with(self, field):
        """The named inputs of the page's first form that has `field`."""
        parser = _Forms()
        parser.feed(self.text)
        for form in parser.forms:
            if field in form:
                return form
        raise AssertionError("no form with %s:\n%s" % (field, self.text[:3000]))


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif tag in ("input", "textarea", "select") and self.forms and attrs.get("name"):
            self.forms[-1].setdefault(attrs["name"], attrs.get("value") or "")


class Session:
    """A client with a cookie jar, on one kept-alive connection where the server allows."""

    def __init__(self, host_header=None):
        self.cookies = {}
        self.host_header = host_header
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, PORT, timeout=120)
        return self.conn

    def request(self, method, path, body=None, headers=None, step=None, observe=True,
                expect=None):
        """Sends a request and records the response under `step`. `expect`: the status the
        scenario needs (the client fails otherwise, so a scenario that serves nothing but
        errors under both modules cannot pass unnoticed)."""
        headers = dict(headers or {})
        if self.host_header:
            headers.setdefault("Host", self.host_header)
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                raw = conn.getresponse()
                data = raw.read()
                break
            except (ConnectionError, http.client.HTTPException):
                # The server closed a kept-alive connection between requests: once more on a
                # new one, as a browser would.
                conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        response = Response(raw.status, raw.reason,
                            [(n.lower(), v) for n, v in raw.getheaders()], data)
        if raw.getheader("connection", "").lower() == "close" or raw.will_close:
            conn.close()
            self.conn = None
        for name, value in response.headers:
            if name == "set-cookie":
                cookie = value.split(";", 1)[0]
                if "=" in cookie:
                    k, v = cookie.split("=", 1)
                    self.cookies[k.strip()] = v.strip()
        if observe:
            observe_response(step or "%s %s" % (method, path), response)
        if expect is not None and response.status != expect:
            raise AssertionError("%s %s: status %d, expected %d:\n%s" % (
                method, path, response.status, expect, response.text[:2000]))
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post_form(self, path, fields, **kw):
        body = urllib.parse.urlencode(fields)
        headers = dict(kw.pop("headers", {}) or {})
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.request("POST", path, body=body, headers=headers, **kw)

    def post_multipart(self, path, fields, files, **kw):
        """`files`: {field: (filename, bytes, content type)}."""
        boundary = "rwsgiconformance%08x" % 0x5eed
        parts = []
        for name, value in fields.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                          % (boundary, name, value)).encode())
        for name, (filename, data, ctype) in files.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                          "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
                          % (boundary, name, filename, ctype)).encode() + data + b"\r\n")
        body = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
        headers = dict(kw.pop("headers", {}) or {})
        headers["Content-Type"] = "multipart/form-data; boundary=%s" % boundary
        return self.request("POST", path, body=body, headers=headers, **kw)

    def environ(self, path, step, **kw):
        """GETs the probe (probe.wsgi) at `path` and records the environ it reports."""
        response = self.request("GET", path, step=step, observe=False, expect=200, **kw)
        record("%s/status" % step, response.status)
        report = json.loads(response.body)
        for key, value in sorted(report.items()):
            if key in VOLATILE and value:
                value = VOLATILE[key]
            elif key == "HTTP_COOKIE":
                # Cookie values carry timestamps and signatures: their names count.
                value = "; ".join(c.split("=", 1)[0] + "=<value>" for c in value.split("; "))
            elif EPOCH.match(value):
                value = "<time>"
            elif value == str(PORT):
                value = "{port}"
            record("%s/environ/%s" % (step, key), value)
        return report


def basic_auth(user, password):
    """The `Authorization` header of HTTP Basic authentication."""
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def observe_response(step, response):
    record("%s/status" % step, "%d %s" % (response.status, response.reason))
    for name, value in sorted(response.headers):
        if name in IGNORED_HEADERS:
            continue
        if name == "etag":
            # Apache's ETag of a file says when it was written (and weak within a second
            # of it): files the scenario writes differ between runs.
            value = "<etag>"
        if name == "set-cookie":
            cookie, _, attrs = value.partition(";")
            cname = cookie.split("=", 1)[0]
            value = "%s=<value>;%s" % (cname, attrs)
            name = "set-cookie/%s" % cname
        key = "%s/header/%s" % (step, name)
        n = 2
        while key in _seen_keys:
            key = "%s/header/%s#%d" % (step, name, n)
            n += 1
        record(key, value)
    record("%s/body" % step, response.body)


def wait_until(condition, what, timeout=60):
    """Polls `condition` until it holds (never a fixed sleep: the machine may be loaded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)
