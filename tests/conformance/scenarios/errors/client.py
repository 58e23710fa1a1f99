"""Every kind of breakage, in both modes. A cut response is recorded as such."""
import http.client

from conformance import HOST, PORT, Session, record

for mode in ("embedded", "daemon"):
    s = Session()
    # The statuses are mod_wsgi's; a broken application's are what the suite compares.
    for what, status in (("raise", 500), ("raise-after-start", 500), ("twice", 500),
                         ("bad-header", None), ("bad-status", None), ("none", None),
                         ("str-body", None), ("no-start", None), ("print", 200),
                         ("write", 200), ("close", 200), ("length-long", None),
                         ("nothing", 404)):
        s.get("/%s/%s" % (mode, what), step="%s-%s" % (mode, what), expect=status)
    # Responses that end early: what the client can read before the connection ends.
    for what in ("raise-in-iterable", "length-short"):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        conn.request("GET", "/%s/%s" % (mode, what))
        response = conn.getresponse()
        record("%s-%s/status" % (mode, what), response.status)
        try:
            body = response.read()
            record("%s-%s/outcome" % (mode, what), "complete: %r" % body)
        except http.client.IncompleteRead as e:
            record("%s-%s/outcome" % (mode, what), "cut after %r" % e.partial)
        conn.close()
