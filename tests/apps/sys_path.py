"""Reports sys.path (one entry a line, `path=`), the process's locale and LANG."""
import locale
import os
import sys


def application(environ, start_response):
    lines = ["path=%s" % p for p in sys.path]
    lines.append("LANG=%s" % os.environ.get("LANG", ""))
    lines.append("locale=%s" % locale.setlocale(locale.LC_CTYPE))
    lines.append("cwd=%s" % os.getcwd())
    lines.append("pid=%d" % os.getpid())
    body = ("\n".join(lines) + "\n").encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
