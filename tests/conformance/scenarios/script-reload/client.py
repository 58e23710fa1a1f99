"""A deploy by touching the scripts: new script and module versions, then requests."""
import os
import time

from conformance import ROOT, Session

s = Session()
for n in range(4):
    s.get("/daemon/", step="daemon-before-%d" % n, expect=200)
s.get("/embedded/", step="embedded-before", expect=200)


def bump(path, old, new):
    full = os.path.join(ROOT, "project", path)
    with open(full) as f:
        text = f.read()
    with open(full, "w") as f:
        f.write(text.replace(old, new))
    # A clearly different mtime, whatever the file system's resolution.
    later = time.time() + 30
    os.utime(full, (later, later))


bump("views.py", '"one"', '"two"')
bump("daemon.wsgi", "SCRIPT_VERSION = 1", "SCRIPT_VERSION = 2")
bump("embedded.wsgi", "SCRIPT_VERSION = 1", "SCRIPT_VERSION = 2")
for n in range(4):
    s.get("/daemon/", step="daemon-after-%d" % n, expect=200)
s.get("/embedded/", step="embedded-after", expect=200)
