"""A Mercurial user of hgweb: the repository index, logs, files, raw files, annotations,
archives, JSON and Atom feeds, static files, the wire protocol, and the venv's own `hg`
cloning over HTTP, pushing a changeset with a 2 MB binary file (one large POST), pulling,
and cloning again to see what the server has."""
import hashlib
import os
import random
import subprocess
import tempfile

from conformance import PORT, Session, record

HG = os.path.join(os.environ["VENV_HGWEB"], "bin", "hg")
BASE = "http://127.0.0.1:%d/hg" % PORT
WORK = tempfile.mkdtemp(prefix="hgweb-client-")
ENV = dict(os.environ, HGPLAIN="1", HGRCPATH="/dev/null", HGENCODING="utf-8",
           HGUSER="Bob <bob@example.com>")


def hg(step, *args, cwd=WORK, expect=0):
    """Runs the venv's hg and records what the user sees (output and exit status)."""
    done = subprocess.run([HG] + list(args), cwd=cwd, env=ENV, capture_output=True,
                          timeout=300)
    output = (done.stdout + done.stderr).decode("utf-8", "replace").replace(WORK, "{work}")
    record("%s/exit" % step, done.returncode)
    record("%s/output" % step, output)
    if done.returncode != expect:
        raise AssertionError("hg %s: exit %d, expected %d:\n%s" % (
            " ".join(args), done.returncode, expect, output))
    return output


def digest(step, response):
    record("%s/sha256" % step, "%d bytes, %s" % (
        len(response.body), hashlib.sha256(response.body).hexdigest()))


s = Session()
s.get("/hg/", step="index", expect=200)
s.get("/hg/?style=gitweb", step="index-gitweb", expect=200)
s.get("/hg/demo/", step="summary", expect=200)
s.get("/hg/demo/log", step="log", expect=200)
s.get("/hg/demo/shortlog?revcount=2", step="shortlog", expect=200)
s.get("/hg/demo/graph", step="graph", expect=200)
s.get("/hg/demo/rev/tip", step="rev-tip", expect=200)
s.get("/hg/demo/tags", step="tags", expect=200)
s.get("/hg/demo/bookmarks", step="bookmarks", expect=200)
s.get("/hg/demo/file/tip/", step="manifest", expect=200)
s.get("/hg/demo/file/tip/mod1.py", step="file", expect=200)
s.get("/hg/demo/annotate/tip/README.txt", step="annotate", expect=200)
s.get("/hg/demo/diff/tip/mod1.py", step="diff", expect=200)
s.get("/hg/demo/log/tip/README.txt", step="filelog", expect=200)
s.get("/hg/demo/log?rev=Add", step="search", expect=200)
s.get("/hg/demo/raw-file/tip/README.txt", step="raw-file", expect=200)
digest("raw-binary", s.get("/hg/demo/raw-file/tip/logo.bin", step="raw-binary", expect=200))
s.head("/hg/demo/raw-file/tip/README.txt", step="raw-file-head", expect=200)
s.get("/hg/demo/raw-rev/tip", step="raw-rev", expect=200)
s.get("/hg/demo/json-log", step="json-log", expect=200)
s.get("/hg/demo/json-tags", step="json-tags", expect=200)
s.get("/hg/demo/atom-log", step="atom-log", expect=200)
s.get("/hg/demo/rss-log", step="rss-log", expect=200)
for kind in ("tar.gz", "zip", "tar.bz2"):
    digest("archive-" + kind,
           s.get("/hg/demo/archive/tip.%s" % kind, step="archive-" + kind, expect=200))
s.get("/hg/demo/archive/tip.tar", step="archive-not-allowed", expect=404)
s.get("/hg/static/style-paper.css", step="static-css", expect=200)
s.get("/hg/static/hglogo.png", step="static-png", expect=200)
s.get("/hg/nosuch/", step="no-such-repo", expect=404)
s.get("/hg/demo/file/tip/nosuch.txt", step="no-such-file", expect=404)
s.get("/hg/empty/", step="empty-summary", expect=200)
# The wire protocol, as a client starts it.
s.get("/hg/demo?cmd=capabilities", step="wire-capabilities", expect=200)
s.get("/hg/demo?cmd=heads", step="wire-heads", expect=200)
s.get("/hg/demo?cmd=listkeys", headers={"X-HgArg-1": "namespace=bookmarks"},
      step="wire-listkeys", expect=200)

# The real client: clone, commit, push (a 2 MB POST), pull, clone again.
hg("clone", "clone", BASE + "/demo", "work")
clone = os.path.join(WORK, "work")
hg("clone-log", "log", "-T", "{rev}:{node|short} {author} {date|isodate} {desc|firstline}"
   " {tags} {bookmarks}\n", cwd=clone)
with open(os.path.join(clone, "big.bin"), "wb") as f:
    f.write(random.Random(7).randbytes(2 * 1024 * 1024))
with open(os.path.join(clone, "mod2.py"), "a") as f:
    f.write("\n\ndef three():\n    return 3\n")
hg("add", "add", "big.bin", cwd=clone)
hg("commit", "commit", "-d", "2024-01-02 10:00:00 +0000", "-m", "Add a big file, mod2.three",
   cwd=clone)
hg("outgoing", "outgoing", "-T", "{rev}:{node|short} {desc}\n", cwd=clone)
hg("push", "push", cwd=clone)
hg("push-again", "push", cwd=clone, expect=1)
hg("pull", "pull", cwd=clone)
hg("clone-after-push", "clone", "-U", BASE + "/demo", "again")
hg("again-log", "log", "-T", "{rev}:{node|short} {author} {desc|firstline} {files}\n",
   cwd=os.path.join(WORK, "again"))
hg("push-to-empty", "push", BASE + "/empty", cwd=clone)
hg("clone-missing", "clone", BASE + "/nosuch", "missing", expect=255)
s.get("/hg/demo/json-log", step="json-log-after-push", expect=200)
digest("raw-big", s.get("/hg/demo/raw-file/tip/big.bin", step="raw-big", observe=False,
                        expect=200))
s.get("/hg/empty/shortlog", step="empty-after-push", expect=200)

s.environ("/__probe__/x?y=1", step="probe")
