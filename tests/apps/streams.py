"""Reports what happens on sys.stdin.read() and print() (WSGIRestrictStdin/Stdout), the
name its script module got (WSGICaseSensitivity), and the interpreter's other scoped
settings (<WSGIInterpreterOptions>): switch interval, sys.path entries under the
ServerRoot, whether signal.signal is guarded."""
import os
import signal
import sys

import mod_wsgi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return "OSError: %s" % e


def application(environ, start_response):
    body = "stdin=%s\nstdout=%s\nmodule=%s\n" % (
        attempt(lambda: sys.stdin.read()),
        attempt(lambda: print("printed by streams.py")),
        __name__,
    )
    body += "switch=%s\npath=%s\nsignal_guarded=%s\ngroup=%s\n" % (
        sys.getswitchinterval(),
        ",".join(os.path.basename(p) for p in sys.path if p.startswith(ROOT + "/")),
        signal.signal.__name__ == "guarded_signal",
        mod_wsgi.application_group,
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
