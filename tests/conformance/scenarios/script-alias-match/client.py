"""Requests across both regex mounts: scripts by name, extra path, a missing script."""
from conformance import Session

s = Session()
s.get("/wsgi-scripts/hello", step="hello", expect=200)
s.get("/wsgi-scripts/hello/extra/path?q=1", step="hello-extra", expect=200)
s.get("/wsgi-scripts/nothing", step="missing-script", expect=404)
s.get("/admin/users/7", step="handler-admin", expect=200)
s.get("/files", step="handler-files", expect=200)
s.get("/photologue/gallery/", step="handler-photologue", expect=200)
s.environ("/wsgi-scripts/probe/x/y", step="probe")
