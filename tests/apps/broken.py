"""Every way an application can misbehave, chosen by PATH_INFO."""
import sys


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/ok":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"still serving"]
    if path == "/raise-before":
        raise RuntimeError("boom before start_response")
    if path == "/raise-after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("boom after start_response")
    if path == "/raise-midstream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"first part\n"
            raise RuntimeError("boom midstream")
        return gen()
    if path == "/raise-midstream-cl":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])

        def gen():
            yield b"first part\n"
            raise RuntimeError("boom midstream with length")
        return gen()
    if path == "/short-cl":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])
        return [b"only a little"]
    if path == "/long-cl":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"0123456789"]
    if path == "/bad-header-name":
        start_response("200 OK", [("Bad Name", "x")])
        return [b"never"]
    if path == "/bad-header-value":
        start_response("200 OK", [("X-Inject", "a\r\nSet-Cookie: evil=1")])
        return [b"never"]
    if path == "/bad-status":
        start_response("OK", [])
        return [b"never"]
    if path == "/headers-not-list":
        start_response("200 OK", (("X-A", "b"),))
        return [b"never"]
    if path == "/no-start-response":
        return [b"never"]
    if path == "/str-body":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["a str, not bytes"]
    if path == "/str-midstream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"bytes first\n"
            yield "then a str"
        return gen()
    if path == "/double-start":
        start_response("200 OK", [])
        start_response("200 OK", [])
        return [b"never"]
    if path == "/exc-info-before":
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("handled")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced by exc_info"]
    if path == "/exc-info-after":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"already sent\n")
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"never"]
    if path == "/close-raises":
        class Body:
            def __iter__(self):
                yield b"body"

            def close(self):
                raise RuntimeError("close failed")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()
    if path == "/not-iterable":
        start_response("200 OK", [])
        return 42
    if path == "/exit":
        start_response("200 OK", [])
        raise SystemExit(3)
    start_response("404 Not Found", [])
    return [b"?"]
