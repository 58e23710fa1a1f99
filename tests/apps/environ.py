"""Reports its environ as key=value lines; ?validate=1 runs under wsgiref.validate."""
import os
import sys
import threading
from wsgiref.validate import validator


def _app(environ, start_response):
    lines = []
    for key, value in sorted(environ.items()):
        if isinstance(value, str):
            lines.append("%s=%s" % (key, value))
        else:
            lines.append("%s=%r" % (key, value))
    lines.append("type.wsgi.input=%s" % type(environ["wsgi.input"]).__name__)
    lines.append("all_native_str=%s" % all(
        type(v) is str for k, v in environ.items() if k.isupper()))
    lines.append("none_values=%s" % ",".join(sorted(k for k, v in environ.items() if v is None)))
    lines.append("sys.prefix=%s" % sys.prefix)
    lines.append("pid=%d" % os.getpid())
    lines.append("thread=%d" % threading.get_ident())
    lines.append("preloaded=%s" % os.environ.get("RWSGI_PRELOADED", ""))
    body = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]


_validated = validator(_app)


def application(environ, start_response):
    if "validate=1" in environ.get("QUERY_STRING", ""):
        result = _validated(environ, start_response)
        # The validator checks close() is called: drain and close like a server would.
        return result
    return _app(environ, start_response)
