"""Endpoints that break the WSGI contract in the ways applications do."""
import logging
import sys

log = logging.getLogger("broken")


def application(environ, start_response):
    what = environ.get("PATH_INFO", "/").strip("/")
    if what == "raise":
        raise ValueError("raised before start_response")
    if what == "raise-after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise KeyError("raised after start_response")
    if what == "raise-in-iterable":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"first part\n"
            raise RuntimeError("raised while iterating")
        return body()
    if what == "twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("500 Oops", [("Content-Type", "text/plain")])
        return [b"twice"]
    if what == "bad-header":
        start_response("200 OK", [("Content-Type", 42)])
        return [b"x"]
    if what == "bad-status":
        start_response("OK", [("Content-Type", "text/plain")])
        return [b"x"]
    if what == "none":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return None
    if what == "str-body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text, not bytes"]
    if what == "no-start":
        return [b"never started"]
    if what == "print":
        print("printed to stdout")
        print("printed to stderr", file=sys.stderr)
        environ["wsgi.errors"].write("written to wsgi.errors\n")
        log.warning("logged at warning")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"printed"]
    if what == "write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"from write() ")
        return [b"and from the iterable"]
    if what == "close":
        class Body:
            def __iter__(self):
                yield b"body"

            def close(self):
                print("close() called", file=sys.stderr)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()
    if what == "length-short":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])
        return [b"only ten b"]
    if what == "length-long":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"more than four bytes"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such breakage"]
