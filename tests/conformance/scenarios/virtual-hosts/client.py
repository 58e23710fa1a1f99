"""Visitors of two virtual hosts on one Apache: each site in its own daemon group."""
from conformance import Session

for host, name in (("www.site1.test", "one"), ("www.site2.test", "two"),
                   ("site2.test", "two-alias")):
    s = Session(host_header=host)
    s.get("/", step="%s-first" % name, expect=200)
    s.get("/", step="%s-again" % name, expect=200)
    s.environ("/__probe__/x", step="%s-probe" % name)
