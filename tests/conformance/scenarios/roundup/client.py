"""Roundup's classic tracker behind the "Apache Alternate" configuration: Apache's static
files and redirect, anonymous pages, a login with the single-use @csrf token, a new issue
with a message and an attached file (multipart), the file downloaded, CSRF refusals (a
replayed token, a foreign Origin), the REST interface with Basic auth, a logout.

Roundup checks Origin, Referer and Host against its [tracker] web URL, which must be the
URL Apache serves: the port is chosen when Apache starts, after setup.sh ran, so the
client, as the tracker's administrator would ("Change the tracker.web url in config.ini",
installation docs), writes it into config.ini before its first request. roundup.wsgi opens
the tracker (and reads config.ini) per request (no cache_tracker feature flag)."""
import json
import os
import re

from conformance import PORT, ROOT, Session, basic_auth, mask, record

BASE = "http://127.0.0.1:%d/foo/" % PORT
ORIGIN = "http://127.0.0.1:%d" % PORT

config = os.path.join(ROOT, "srv/roundup/foo/config.ini")
with open(config) as f:
    text = f.read()
assert "\nweb = http://127.0.0.1:0/foo/\n" in text
with open(config, "w") as f:
    f.write(text.replace("\nweb = http://127.0.0.1:0/foo/\n", "\nweb = %s\n" % BASE))

# Single-use anti-CSRF nonces, per-page script nonces (Content-Security-Policy), the
# registration form's time stamp, the times Roundup stamps on what it creates, and the REST
# etags that hash them.
mask(r'name="@csrf" type="hidden"\s+value="[^"]+"', 'name="@csrf" type="hidden" value="<csrf>"')
mask(r'(name="@csrf" value=")[^"]+"', r'\1<csrf>"')
mask(r'\bnonce="[A-Z2-7]{64}"', 'nonce="<nonce>"')
mask(r'(name="opaqueregister" value=")[^"]+"', r'\1<stamp>"')
mask(r"\b20\d\d-\d\d-\d\d(&nbsp;|[ .T])\d\d:\d\d(:\d\d([.,]\d+)?)?\b", "<time>")
mask(r'("@etag": "\\")[0-9a-f]{32}(\\"")', r"\1<etag>\2")




BROWSER = {"Origin": ORIGIN, "Referer": BASE}

s = Session()
s.get("/foo", step="redirect-slash", expect=301)
home = s.get("/foo/", step="home-anonymous", expect=200)
s.get("/foo/@@file/style.css", step="static-css", expect=200)
s.head("/foo/@@file/style.css", step="static-head", expect=200)
s.get("/foo/@@file/nosuch.css", step="static-missing", expect=404)
s.get("/doc/index.html", step="docs", expect=200)
s.get("/foo/issue", step="issue-index-anonymous", expect=200)
s.get("/foo/user?@template=register", step="register-page", expect=200)
s.get("/foo/nosuchclass", step="roundup-404", expect=404)

# Login: a wrong password, then the right one.
login = home.form_with("__login_name")
login.update({"__login_name": "alice", "__login_password": "wrong"})
s.post_form("/foo/", login, headers=BROWSER, step="login-wrong-password", expect=302)
login = s.get("/foo/", step="home-again", expect=200).form_with("__login_name")
login.update({"__login_name": "alice", "__login_password": "alicepw"})
s.post_form("/foo/", login, headers=BROWSER, step="login", expect=302)
s.get("/foo/", step="home-alice", expect=200)

# A new issue with a message and a file.
page = s.get("/foo/issue?@template=item", step="new-issue-page", expect=200)
issue = page.form_with("title")
issue.update({"title": "Printer on fire", "priority": "1", "@note": "Smoke everywhere.",
              "@action": "new"})
issue.pop("@file", None)
attachment = ("fire.txt", b"flames\n" * 500, "text/plain")
s.post_multipart("/foo/issue", issue, {"@file": attachment}, headers=BROWSER,
                 step="new-issue", expect=302)
s.get("/foo/issue1", step="issue1", expect=200)
s.get("/foo/file1/fire.txt", step="download", expect=200)
s.head("/foo/file1/fire.txt", step="download-head", expect=200)
s.get("/foo/msg1", step="message", expect=200)
s.get("/foo/issue?@columns=id,title,status&@sort=id", step="issue-index", expect=200)
s.get("/foo/issue?@action=export_csv&@columns=id,title&@filter=status&status=-1,1,2",
      step="export-csv", expect=200)

# CSRF: the token of the new-issue form again (single use), a foreign Origin.
s.post_multipart("/foo/issue", issue, {}, headers=BROWSER, step="replayed-token",
                 expect=200)
page = s.get("/foo/issue?@template=item", step="new-issue-page-2", expect=200)
issue = page.form_with("title")
issue.update({"title": "Forged", "priority": "3", "@action": "new"})
issue.pop("@file", None)
s.post_multipart("/foo/issue", issue, {},
                 headers={"Origin": "http://evil.example", "Referer": "http://evil.example/"},
                 step="foreign-origin", expect=200)
s.get("/foo/issue2", step="no-forged-issue", expect=404)

# REST with Basic auth.
r = Session()
r.get("/foo/rest/data/issue", step="rest-anonymous", expect=403)
r.get("/foo/rest/data/issue", headers=basic_auth("alice", "wrong"), step="rest-wrong-password",
      expect=401)
r.get("/foo/rest/data/issue?@fields=title,status", headers=basic_auth("alice", "alicepw"),
      step="rest-issues", expect=200)
r.get("/foo/rest/data/issue/1", headers=basic_auth("alice", "alicepw"), step="rest-issue1",
      expect=200)
r.request("POST", "/foo/rest/data/issue",
          body=json.dumps({"title": "Made over REST", "priority": "2"}),
          headers=dict(basic_auth("admin", "adminpw"), **{
              "Content-Type": "application/json", "Origin": ORIGIN, "Referer": BASE,
              "X-Requested-With": "rest"}),
          step="rest-create", expect=201)
r.get("/foo/rest/data/issue/2?@fields=title,priority", headers=basic_auth("admin", "adminpw"),
      step="rest-created", expect=200)
r.get("/foo/rest/data/file/1/content", headers=basic_auth("alice", "alicepw"),
      step="rest-file-content", expect=200)

s.get("/foo/?@action=logout", step="logout", expect=302)
s.get("/foo/issue1", step="issue1-anonymous", expect=200)

s.environ("/__probe__/x?y=1", step="probe", headers=basic_auth("alice", "alicepw"))

# What Roundup logged (to its file; level ERROR): "<time> <request id> LEVEL message", with
# the session and nonce of a refused token masked.
mask(r"session: [^ ,]+,", "session: <session>,")
mask(r"for key \S+", "for key <key>")
with open(os.path.join(ROOT, "home/roundup-foo/roundup.log")) as f:
    record("roundup-log", re.sub(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \S+ ", "", f.read()))
