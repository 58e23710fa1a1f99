"""The mod_wsgi event API, observed: every event this process publishes is written to the
error log as one `EVENT {json}` line (a summary of its fields), so a test can check the
events of requests served by any process.

Paths: /hello, /post (reads the body), /boom (raises), /callback-raises, /wrapped (a
request_started callback replaces the application), /active, /log, /metrics,
/metrics/start, /signals.
"""
import json
import logging
import os
import sys

import mod_wsgi

try:
    mod_wsgi.request_data()
    OUTSIDE = "no error"
except RuntimeError as e:
    OUTSIDE = "RuntimeError: %s" % e

BEFORE_RECORDING = (mod_wsgi.request_metrics(), mod_wsgi.process_metrics())


def summary(name, event):
    """The event's fields as JSON-friendly values (types for the objects)."""
    out = {"event": name, "pid": os.getpid()}
    for key, value in event.items():
        if key == "request_environ":
            out[key] = {"PATH_INFO": value.get("PATH_INFO"),
                        "HTTP_X_TAG": value.get("HTTP_X_TAG")}
        elif key == "request_data":
            out[key] = dict(value)
            out["request_data_id"] = id(value)
        elif key == "application_object":
            out[key] = getattr(value, "__name__", type(value).__name__)
        elif key == "exception_info":
            out[key] = None if value is None else value[0].__name__
        elif key == "response_headers":
            out[key] = [list(h) for h in value]
        else:
            out[key] = value
    return out


@mod_wsgi.subscribe_events
def record(name, **event):
    tag = None
    if "request_data" in event:
        tag = event["request_data"].get("tag")
    if name == "request_started":
        environ = event["request_environ"]
        tag = environ.get("HTTP_X_TAG")
        event["request_data"]["tag"] = tag
        if environ.get("PATH_INFO") == "/callback-raises":
            raise ValueError("callback failure on purpose")
    line = summary(name, event)
    line["tag"] = tag
    print("EVENT " + json.dumps(line, sort_keys=True), file=sys.stderr)
    if name == "request_started" and event["request_environ"].get("PATH_INFO") == "/wrapped":
        inner = event["application_object"]

        def wrapper(environ, start_response):
            def no_length(status, headers, exc_info=None):
                headers = [h for h in headers if h[0].lower() != "content-length"]
                return start_response(status, headers, exc_info)
            return [b"wrapped:" + b"".join(inner(environ, no_length))]

        return {"application_object": wrapper}
    return None


@mod_wsgi.subscribe_shutdown
def first(name, **event):
    print("SHUTDOWN first %s %s" % (name, event.get("shutdown_reason")), file=sys.stderr)


@mod_wsgi.subscribe_shutdown
def second(name, **event):
    print("SHUTDOWN second %s" % event.get("shutdown_reason"), file=sys.stderr)


def on_signal(name, **event):
    print("SIGNAL %s %s %s" % (name, event.get("signame"), event.get("signum")),
          file=sys.stderr)


SIGNALS = mod_wsgi.subscribe_signals(on_signal) is on_signal

logger = logging.getLogger("events-app")
logger.propagate = False
handler = mod_wsgi.LogHandler()
handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
logger.addHandler(handler)
logger.setLevel(logging.DEBUG)


def reply(start_response, body, status="200 OK"):
    if isinstance(body, str):
        body = body.encode()
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    mod_wsgi.request_data()["path"] = path
    if path == "/post":
        body = environ["wsgi.input"].read()
        return reply(start_response, "read %d\n" % len(body))
    if path == "/boom":
        1 / 0
    if path == "/active":
        rid = environ["mod_wsgi.request_id"]
        active = mod_wsgi.active_requests
        return reply(start_response, json.dumps({
            "mine": rid in active,
            "same_dict": active[rid] is mod_wsgi.request_data(),
            "count": len(active),
            "path": active[rid]["path"],
            "outside": OUTSIDE,
            "subscribed": len(mod_wsgi.event_callbacks),
            "shutdown_subscribed": len(mod_wsgi.shutdown_callbacks),
            "signals_subscribed": len(mod_wsgi.signal_callbacks),
            "signals_returned": SIGNALS,
        }))
    if path == "/log":
        logger.critical("critical-line")
        logger.error("error-line")
        logger.warning("warning-line\nsecond-line")
        logger.info("info-line")
        logger.debug("debug-line")
        return reply(start_response, "logged\n")
    if path == "/metrics/start":
        mod_wsgi.start_recording_metrics()
        return reply(start_response, json.dumps({
            "before": [m is None for m in BEFORE_RECORDING]}))
    if path == "/metrics":
        return reply(start_response, json.dumps({
            "request": mod_wsgi.request_metrics(),
            "process": mod_wsgi.process_metrics(),
        }))
    return reply(start_response, "hello %s\n" % path)
