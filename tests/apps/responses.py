"""Response shapes, chosen by PATH_INFO."""
import os
import time


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if path == "/stream":
        n = int(query or "100")
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            for i in range(n):
                yield b"chunk %05d\n" % i
        return gen()
    if path == "/slow-stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"first\n"
            time.sleep(1.5)
            yield b"second\n"
        return gen()
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-")
        return [b"returned"]
    if path == "/file":
        name = os.path.join(os.path.dirname(__file__), "data.bin")
        if query.startswith("name="):
            name = os.path.join(os.path.dirname(__file__), query[5:])
        f = open(name, "rb")
        if query.startswith("skip="):
            f.seek(int(query[5:]))
        headers = [("Content-Type", "application/octet-stream")]
        if query.startswith("cl="):
            headers.append(("Content-Length", query[3:]))
        start_response("200 OK", headers)
        return environ["wsgi.file_wrapper"](f, 8192)
    if path == "/filelike":
        import io
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"in-memory file"), 4)
    if path == "/log":
        import sys
        print("printed-by-app", query)
        environ["wsgi.errors"].write("wsgi-errors-line " + query + "\n")
        environ["wsgi.errors"].write("partial line without newline " + query)
        sys.stderr.write("stderr-line " + query + "\n")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"logged"]
    if path == "/keep-input":
        globals()["KEPT"] = (environ["wsgi.input"], start_response)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"kept"]
    if path == "/use-kept":
        kept = globals().get("KEPT")
        if kept is None:
            result = "nothing kept in this process"
        else:
            outcomes = []
            try:
                kept[0].read()
                outcomes.append("read worked")
            except OSError as e:
                outcomes.append("read: OSError: %s" % e)
            try:
                kept[1]("200 OK", [])(b"x")
                outcomes.append("write worked")
            except Exception as e:
                outcomes.append("write: %s: %s" % (type(e).__name__, e))
            result = "; ".join(outcomes)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [result.encode()]
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/status":
        start_response("418 I'm a teapot", [("X-Custom", "yes"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        return [b"teapot"]
    if path == "/latin1":
        start_response("200 OK", [("X-Latin", "caf\xe9")])
        return [b"ok"]
    if path == "/tuple":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"a", b"b", b"c")
    if path == "/close":
        marker_dir = environ["RWSGI_TMP"]

        class Body:
            def __iter__(self):
                yield b"body"

            def close(self):
                open(os.path.join(marker_dir, "closed-" + query), "w").close()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()
    if path == "/big":
        size = int(query)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [os.urandom(16) * (size // 16)]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"unknown " + path.encode()]
