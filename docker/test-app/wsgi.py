"""docker/test.sh's application: who answered (host, pid, uid), and a slow request."""
import os
import socket
import sys
import time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        print("slow request started", file=sys.stderr, flush=True)
        time.sleep(2)
        body = b"finished"
    else:
        body = ("host=%s pid=%d uid=%d\n" % (socket.gethostname(), os.getpid(), os.getuid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
