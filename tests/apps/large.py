"""Large response bodies in every shape PEP 3333 allows, chosen by PATH_INFO; `?n=` is the
size, `&cl=1` sets Content-Length. The bytes repeat PIECE (see tests/bodies.rs)."""
import io
import os

PIECE = bytes(range(256)) * 256 + b"rwsgi"


def body(n):
    return (PIECE * (n // len(PIECE) + 1))[:n]


def application(environ, start_response):
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    n = int(query.get("n", "0"))
    headers = [("Content-Type", "application/octet-stream")]
    if query.get("cl") == "1":
        headers.append(("Content-Length", str(n)))
    path = environ.get("PATH_INFO", "")
    if path == "/block":
        start_response("200 OK", headers)
        return [body(n)]
    if path == "/iter":
        data = body(n)
        start_response("200 OK", headers)
        # Blocks above the daemon protocol's frame size and its reader's 16 MiB limit.
        step = 20 * 1024 * 1024

        def blocks():
            for at in range(0, len(data), step):
                yield data[at:at + step]
        return blocks()
    if path == "/write":
        write = start_response("200 OK", headers)
        write(body(n))
        return []
    if path == "/file":
        name = os.path.join(os.path.dirname(__file__), "large.bin")
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](open(name, "rb"), 8192)
    if path == "/filelike":
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](io.BytesIO(body(n)), 32 * 1024 * 1024)
    if path == "/echo":
        data = environ["wsgi.input"].read()
        start_response("200 OK", headers)
        return [data]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"unknown " + path.encode()]
