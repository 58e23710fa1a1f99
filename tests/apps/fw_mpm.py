"""Reports what tests/mpm.rs checks: the MPM-dependent environ flags, and a per-thread
counter kept in a module-level threading.local (persistent Python thread states)."""

import os
import threading
import time

local = threading.local()


def slow():
    yield b"started\n"
    for _ in range(300):
        time.sleep(0.1)
        yield b"tick\n"
    yield b"finished\n"


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    if path == "/work":
        # Concurrency check: a body that depends on the request, produced after a short
        # pause (so requests overlap) and in several pieces.
        n = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("n", "?")
        time.sleep(0.02)
        body = [f"n={n}\n".encode(), f"pid={os.getpid()}\n".encode(), (f"payload-{n}-" * 100).encode() + b"\n"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body
    if path == "/stream":
        # A request still running (30 s, a chunk every 0.1 s) when Apache is told to stop.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return slow()
    local.count = getattr(local, "count", 0) + 1
    lines = [
        f"multithread={environ['wsgi.multithread']}",
        f"multiprocess={environ['wsgi.multiprocess']}",
        f"run_once={environ['wsgi.run_once']}",
        f"pid={os.getpid()}",
        f"thread={threading.get_ident()}",
        f"count={local.count}",
        f"script_name={environ.get('SCRIPT_NAME')}",
        f"path_info={path}",
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
