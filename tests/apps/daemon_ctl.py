"""Daemon-mode test endpoints: /pid, /slow (streams slowly), /sleep, /spin (busy in Python),
/grow (keeps memory), /hog (holds the GIL in C), /header (a long header), /touch,
/sockets (the socket inodes the process has open), /big (streams mb megabytes)."""
import os
import re
import time

kept = []


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    if path == "/slow":
        n = int(query.get("n", "20"))
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(n * 6 + 13))])

        def chunks():
            yield ("pid=%08d\n" % os.getpid()).encode()
            for i in range(n):
                time.sleep(float(query.get("pause", "0.1")))
                yield b"chunk\n"
        return chunks()
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"x" * (1 << 20) for _ in range(int(query.get("mb", "64"))))
    if path == "/sleep":
        time.sleep(float(query.get("s", "1")))
    if path == "/spin":
        deadline = time.time() + float(query.get("s", "1"))
        while time.time() < deadline:
            pass
    if path == "/grow":
        kept.append(b"x" * (int(query["mb"]) << 20))
    if path == "/hog":
        # Catastrophic backtracking: the regex engine never releases the GIL.
        re.match(r"(a+)+$", "a" * 40 + "b")
    if path == "/header":
        body = b"long header\n"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("X-Long", "v" * int(query["n"]))])
        return [body]
    if path == "/status":
        # An error status with the application's own body (WSGIErrorOverride).
        body = b"the application's own error page\n"
        start_response(query["code"] + " Custom", [("Content-Type", "text/plain")])
        return [body]
    if path == "/touch":
        open(query["file"], "w").close()
    if path == "/sockets":
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink("/proc/self/fd/" + fd)
            except OSError:
                continue
            if target.startswith("socket:"):
                inodes.add(target)
        body = ("pid=%d\n%s\n" % (os.getpid(), " ".join(sorted(inodes)))).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    body = ("pid=%d\n" % os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
