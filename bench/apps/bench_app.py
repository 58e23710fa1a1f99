"""The one WSGI app every server runs in the benchmark; PATH_INFO picks the workload."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HELLO = b"Hello, world!"
TEN_K = b"x" * 10240
ONE_M_FILE = os.path.join(HERE, "1m.bin")

from flask import Flask  # noqa: E402

flask_app = Flask(__name__)


@flask_app.route("/flask/<name>")
def flask_route(name):
    return {"hello": name}


def spin(loops=20000):
    """About 1 ms of pure Python on this machine's cores (3.13 with its GIL)."""
    total = 0
    for i in range(loops):
        total += i * i
    return total


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/cpu":
        body = str(spin()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/hello":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
        return [HELLO]
    if path == "/get10k":
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", "10240")])
        return [TEN_K]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/upload":
        inp = environ["wsgi.input"]
        total = 0
        while True:
            chunk = inp.read(262144)
            if not chunk:
                break
            total += len(chunk)
        body = str(total).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/file1m":
        f = open(ONE_M_FILE, "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapper = environ.get("wsgi.file_wrapper")
        return wrapper(f, 65536) if wrapper else iter(lambda: f.read(65536), b"")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"chunk %03d\n" % i for i in range(100))
    if path.startswith("/flask/"):
        return flask_app(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]
