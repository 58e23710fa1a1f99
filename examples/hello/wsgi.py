"""The quick-start app: a page that shows it runs inside Apache through rwsgi."""
import os
import sys


def application(environ, start_response):
    rows = "".join(
        "<tr><th>%s</th><td>%s</td></tr>" % (k, environ.get(k, ""))
        for k in ("SERVER_SOFTWARE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO",
                  "QUERY_STRING", "REMOTE_ADDR", "wsgi.multithread", "wsgi.multiprocess")
    )
    body = (
        "<!doctype html><title>rwsgi</title>"
        "<h1>Hello from rwsgi</h1>"
        "<p>Python %s in Apache process %d</p><table>%s</table>"
        % (sys.version.split()[0], os.getpid(), rows)
    ).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
