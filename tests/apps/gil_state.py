"""Whether this process's Python runs with its GIL, as Python itself, the request_finished
event (of the request before) and mod_wsgi.process_metrics() report it:
`python=… event=… metrics=…`."""
import sys

import mod_wsgi

mod_wsgi.start_recording_metrics()
FINISHED = []


@mod_wsgi.subscribe_events
def record(name, **event):
    if name == "request_finished":
        FINISHED.append(event["gil_enabled"])


def application(environ, start_response):
    body = "python=%s event=%s metrics=%s" % (
        sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True,
        FINISHED[-1] if FINISHED else "-",
        mod_wsgi.process_metrics()["gil_enabled"],
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
