"""Requests to a Windows Apache serving tests/windows/served_app.py under wine, over real
HTTP from this machine. Usage: served_checks.py PORT ERROR_LOG FILE_BIN.
Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits 1 on a failure."""
import http.client
import json
import os
import sys
import time

port, error_log, file_bin = int(sys.argv[1]), sys.argv[2], sys.argv[3]
passed = failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("not ok - %s %s" % (what, detail))


def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def log_has(text, timeout=60):
    """Waits for `text` in the error log (Apache writes it after answering)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(error_log, encoding="utf-8", errors="replace") as f:
                if text in f.read():
                    return True
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


status, headers, body = request("GET", "/hello")
check(status == 200 and body.startswith(b"Hello from win32, Python 3.11")
      and b"multithread True" in body, "hello world from Python on Windows", (status, body[:200]))

payload = os.urandom(1024 * 1024)
status, headers, body = request("POST", "/echo", payload, {"Content-Type": "application/octet-stream"})
check(status == 200 and body == payload, "a 1 MB POST is echoed whole", (status, len(body)))

status, headers, body = request("GET", "/stream")
expected = b"".join(b"block %03d\n" % i for i in range(100))
check(status == 200 and headers.get("transfer-encoding") == "chunked" and body == expected,
      "a streamed response arrives chunked and whole", (status, headers, len(body)))

with open(file_bin, "rb") as f:
    data = f.read()
status, headers, body = request("GET", "/file")
check(status == 200 and body == data and headers.get("content-length") == str(len(data)),
      "wsgi.file_wrapper sends the file with its Content-Length", (status, headers, len(body)))

status, headers, body = request("GET", "/flask/wine")
try:
    answer = json.loads(body)
except ValueError:
    answer = None
check(status == 200 and answer == {"hello": "wine", "platform": "win32"},
      "a Flask app answers", (status, body[:300]))

status, headers, body = request("GET", "/raise")
check(status == 500, "an exception in the app answers 500", status)
check(log_has("RuntimeError: raised on purpose by the Windows test app") and log_has("Traceback"),
      "the traceback is in error.log")

status, headers, body = request("GET", "/hello")
check(status == 200, "the server keeps serving after the failure", status)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
