"""The WSGI application the Windows Apache serves under wine (scripts/windows/served.sh)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def flask_app():
    from flask import Flask

    app = Flask(__name__)

    @app.route("/flask/<name>")
    def hello(name):
        return {"hello": name, "platform": sys.platform}

    return app


try:
    FLASK = flask_app()
except ImportError as e:  # reported by /flask, so the check names the cause
    FLASK = e


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/hello":
        body = ("Hello from %s, Python %s, mod_wsgi %s, multithread %s" % (
            sys.platform, sys.version.split()[0],
            ".".join(map(str, environ["mod_wsgi.version"])),
            environ["wsgi.multithread"])).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"block %03d\n" % i for i in range(100))
    if path == "/file":
        f = open(os.path.join(HERE, "file.bin"), "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 65536)
    if path.startswith("/flask/"):
        if isinstance(FLASK, Exception):
            raise FLASK
        return FLASK(environ, start_response)
    if path == "/raise":
        raise RuntimeError("raised on purpose by the Windows test app")
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
