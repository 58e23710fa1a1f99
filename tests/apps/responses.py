"""Response shapes, chosen by PATH_INFO."""
import os
import time

flood_blocks = 0

def client_nodelay(environ):
    """TCP_NODELAY of this request's connection, found among the process's descriptors by
    its peer address (None where the process does not hold it: daemon mode)."""
    import socket
    peer = (environ["REMOTE_ADDR"], int(environ["REMOTE_PORT"]))
    for name in os.listdir("/proc/self/fd"):
        try:
            fd = os.dup(int(name))
        except OSError:
            continue
        try:
            s = socket.socket(fileno=fd)
        except OSError:
            os.close(fd)
            continue
        try:
            if s.type == socket.SOCK_STREAM and s.getpeername() == peer:
                return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        except OSError:
            pass
        finally:
            s.close()
    return None


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
        # The next block waits for the client to say it got the first: only a server that
        # sends each block before asking for the next one ever gets "seen".
        marker = os.path.join(environ["RWSGI_TMP"], "got-first-" + query)
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"first\n"
            deadline = time.monotonic() + 30
            while not os.path.exists(marker) and time.monotonic() < deadline:
                time.sleep(0.01)
            yield b"second: seen\n" if os.path.exists(marker) else b"second: not seen\n"
        return gen()
    if path == "/flood":
        # Small blocks for ever (until the client goes away), counted where other requests
        # of this process can see them.
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        block = b"x" * 1024

        def gen():
            global flood_blocks
            while True:
                flood_blocks += 1
                yield block
        return gen()
    if path.endswith("/nodelay"):
        # Two flushed blocks, then what the connection's TCP_NODELAY is after them.
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"one\n"
            yield b"two\n"
            yield b"port=%s nodelay=%s\n" % (environ["REMOTE_PORT"].encode(),
                                              str(client_nodelay(environ)).encode())
        return gen()
    if path.endswith("/nodelay-now"):
        body = b"port=%s nodelay=%s\n" % (environ["REMOTE_PORT"].encode(),
                                           str(client_nodelay(environ)).encode())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    if path == "/flood-count":
        body = b"%d %d" % (os.getpid(), flood_blocks)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
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
    if path == "/pieces":
        # Small items on both sides of a large one, after a write(): the server may hold
        # small unflushed items back, but must send every byte in order.
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"w;")
        small = [b"%04d," % i for i in range(1500)]
        return small[:1000] + [b"L" * 10000] + small[1000:]
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
