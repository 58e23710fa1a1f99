"""Reads the request body in the way ?mode= says and reports its length and sha256."""
import hashlib


def application(environ, start_response):
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    mode = query.get("mode", "read")
    inp = environ["wsgi.input"]
    h = hashlib.sha256()
    total = 0
    lines = 0
    if mode == "read":
        data = inp.read()
        h.update(data)
        total = len(data)
    elif mode == "readn":
        size = int(query.get("n", "65536"))
        while True:
            data = inp.read(size)
            if not data:
                break
            assert len(data) <= size
            h.update(data)
            total += len(data)
    elif mode == "readline":
        while True:
            line = inp.readline()
            if not line:
                break
            lines += 1
            h.update(line)
            total += len(line)
    elif mode == "readline_n":
        while True:
            line = inp.readline(7)
            if not line:
                break
            assert len(line) <= 7
            lines += 1
            h.update(line)
            total += len(line)
    elif mode == "readlines":
        for line in inp.readlines():
            lines += 1
            h.update(line)
            total += len(line)
    elif mode == "iter":
        for line in inp:
            lines += 1
            h.update(line)
            total += len(line)
    elif mode == "echo":
        data = inp.read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [data]
    elif mode == "ignore":
        pass
    elif mode == "line_echo":
        # Each line is echoed (and flushed) as soon as it is read: readline() must not wait
        # for more of the body than the line.
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            line = inp.readline()
            if not line:
                break
            write(b"echo:" + line)
        return []
    body = "len=%d\nsha256=%s\nlines=%d\n" % (total, h.hexdigest(), lines)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
