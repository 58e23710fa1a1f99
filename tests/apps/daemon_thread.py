"""Starts a daemon thread that outlives every request (a metrics flusher, say)."""
import threading
import time

threading.Thread(target=time.sleep, args=(3600,), daemon=True, name="flusher").start()


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"started\n"]
