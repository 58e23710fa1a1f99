"""Reports what happens on sys.stdin.read() and print() (WSGIRestrictStdin/Stdout), and the
name its script module got (WSGICaseSensitivity)."""
import sys


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
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
