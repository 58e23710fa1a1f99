#!/usr/bin/env python3
"""Load while the server changes: keep-alive clients send requests for a while, a change
(a graceful restart, a deploy, a killed process, ...) is made every few seconds, and every
request's outcome is counted. Standard library only, loopback only.

    changes.py --url http://127.0.0.1:8000/ --connections 8 --duration 15 \\
        --every 3 --change 'kill -USR1 $(cat /tmp/root/httpd.pid)'

Outcomes: ok (a complete 2xx), non_2xx, reset (the connection was reset or broke while the
request was sent or its response read), cut (the connection ended part-way through a
response), closed (a new connection ended before any byte of the response), timeout (no
complete response within --timeout), connect_errors, and slow (complete 2xx, but later
than --slow seconds). The client behaves as browsers, curl and Go's net/http do: it
reconnects when a response says `Connection: close` or the server has closed the idle
connection, and when a kept-alive connection closes before any byte of the response to
the next request, it sends that request again once on a new connection (HTTP/1.1 allows
it, RFC 9112 section 9.3.1: the server closed the connection without reading the request;
Apache does so when a graceful restart lands between a response and the next request).
Those are counted as `retried`, not as failures; pass --no-retry to count them as `closed`.

Prints one line of counts, and with --json the counts as JSON (for tests and bench/).
Exits 0 when nothing failed (no non_2xx, reset, cut, closed, timeout, connect error or
slow request), else 1.
"""
import argparse
import json
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

FAILURES = ('non_2xx', 'reset', 'cut', 'closed', 'timeout', 'connect_errors', 'slow')


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = dict.fromkeys(('requests', 'ok', 'retried') + FAILURES, 0)
        self.statuses = {}
        self.max_latency = 0.0
        self.examples = {}
        # Failures per whole second since the start: when they happened, next to the changes.
        self.timeline = {}

    def add(self, outcome, latency=None, status=None, detail=None):
        with self.lock:
            self.values[outcome] += 1
            if outcome not in ('connect_errors', 'retried'):
                self.values['requests'] += 1
            if latency is not None:
                self.max_latency = max(self.max_latency, latency)
            if status is not None and outcome == 'non_2xx':
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if detail and outcome not in self.examples:
                self.examples[outcome] = '%s (at %.2f s)' % (detail, time.monotonic() - START)
            if outcome in FAILURES:
                second = self.timeline.setdefault(int(time.monotonic() - START), {})
                second[outcome] = second.get(outcome, 0) + 1


START = time.monotonic()
# Until when the clients hold their next request (a `--change pause:SECONDS`).
PAUSE_UNTIL = [0.0]


class Incomplete(Exception):
    """The connection ended; `got` bytes of the response had arrived."""

    def __init__(self, got):
        super().__init__(got)
        self.got = got


class Reader:
    """The bytes of one response as they arrive; counts them for Incomplete."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.got = 0

    def until(self, enough):
        """Receives until enough(self.buf) holds; raises Incomplete at the end of the stream."""
        while not enough(self.buf):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Incomplete(self.got)
            self.got += len(chunk)
            self.buf += chunk


def read_response(sock, head_only):
    """Reads one response: (status, keep_alive). Raises Incomplete, OSError, timeout."""
    reader = Reader(sock)
    reader.until(lambda b: b'\r\n\r\n' in b)
    head, _, reader.buf = reader.buf.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split(' ', 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    version = lines[0].split(' ', 1)[0]
    connection = headers.get('connection', '').lower()
    keep_alive = 'close' not in connection and (version == 'HTTP/1.1' or 'keep-alive' in connection)
    if head_only or status in (204, 304) or 100 <= status < 200:
        return status, keep_alive
    if 'content-length' in headers:
        need = int(headers['content-length'])
        reader.until(lambda b: len(b) >= need)
        return status, keep_alive
    if 'chunked' in headers.get('transfer-encoding', '').lower():
        while True:
            reader.until(lambda b: b'\r\n' in b)
            size_line, _, reader.buf = reader.buf.partition(b'\r\n')
            size = int(size_line.split(b';')[0], 16)
            reader.until(lambda b: len(b) >= size + 2)
            if size == 0:
                # Trailers, if any, end with an empty line: the server sends none here.
                return status, keep_alive
            reader.buf = reader.buf[size + 2:]
    # Until the connection closes.
    while sock.recv(65536):
        pass
    return status, False


def client(args, counts, request, deadline):
    host, port = args.host, args.port
    sock = None
    # Requests answered on this connection so far, and whether this request is a retry.
    served = 0
    retrying = False
    while retrying or time.monotonic() < deadline:
        if sock is not None:
            # The server may have closed the kept-alive connection since the last
            # response (an idle timeout, a restart): reconnect rather than send into it,
            # as HTTP clients do.
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                sock.close()
                sock = None
        if sock is None:
            served = 0
            try:
                sock = socket.create_connection((host, port), timeout=args.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                counts.add('connect_errors', detail=repr(e))
                sock = None
                time.sleep(0.05)
                continue
        while time.monotonic() < PAUSE_UNTIL[0]:
            time.sleep(0.01)
        begin = time.monotonic()
        sock.settimeout(args.timeout)
        try:
            sock.sendall(request)
            status, keep_alive = read_response(sock, args.method == 'HEAD')
        except Incomplete as e:
            sock.close()
            sock = None
            if not e.got and served and not retrying and args.retry:
                counts.add('retried', detail='closed after %d responses' % served)
                retrying = True
                continue
            retrying = False
            counts.add('cut' if e.got else 'closed', detail='after %d bytes' % e.got)
            continue
        except socket.timeout:
            retrying = False
            counts.add('timeout', detail='no response within %s s' % args.timeout)
            sock.close()
            sock = None
            continue
        except OSError as e:
            retrying = False
            counts.add('reset', detail=repr(e))
            sock.close()
            sock = None
            continue
        retrying = False
        served += 1
        latency = time.monotonic() - begin
        if not 200 <= status < 300:
            counts.add('non_2xx', latency, status, detail='status %d' % status)
        elif latency > args.slow:
            counts.add('slow', latency, detail='%.2f s' % latency)
        else:
            counts.add('ok', latency)
        if not keep_alive:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def changer(args, deadline, changes, stop):
    """Runs --change every --every seconds until the load ends."""
    next_at = time.monotonic() + args.every
    while not stop.wait(max(0.0, next_at - time.monotonic())):
        if time.monotonic() >= deadline - args.settle:
            return
        at = time.monotonic() - START
        if args.change.startswith('pause:'):
            # Every client holds its next request: the server sees no traffic meanwhile.
            PAUSE_UNTIL[0] = time.monotonic() + float(args.change[len('pause:'):])
            changes.append((at, 0))
            next_at += args.every
            continue
        done = subprocess.run(args.change, shell=True, capture_output=True, text=True)
        changes.append((at, done.returncode))
        if done.returncode != 0:
            sys.stderr.write('changes.py: the change exited %d: %s\n'
                             % (done.returncode, (done.stderr or done.stdout).strip()))
        next_at += args.every


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--connections', type=int, default=8)
    parser.add_argument('--duration', type=float, default=10.0)
    parser.add_argument('--method', default='GET')
    parser.add_argument('--body-size', type=int, default=0,
                        help='send a body of this many bytes (a POST workload)')
    parser.add_argument('--change', help='shell command run every --every seconds, or '
                        'pause:SECONDS to hold every client for that long')
    parser.add_argument('--every', type=float, default=3.0)
    parser.add_argument('--settle', type=float, default=2.0,
                        help='no change in the last SETTLE seconds of the load')
    parser.add_argument('--timeout', type=float, default=10.0)
    parser.add_argument('--slow', type=float, default=1.0)
    parser.add_argument('--no-retry', dest='retry', action='store_false',
                        help='count a kept-alive connection closed before a response as closed')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if url.hostname not in ('127.0.0.1', 'localhost', '::1'):
        parser.error('loopback only: %s' % url.hostname)
    args.host, args.port = url.hostname, url.port or 80
    path = (url.path or '/') + ('?' + url.query if url.query else '')
    body = b'x' * args.body_size
    head = '%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rwsgi-changes\r\n' % (
        args.method, path, url.netloc)
    if body:
        head += 'Content-Type: application/octet-stream\r\nContent-Length: %d\r\n' % len(body)
    request = head.encode('latin-1') + b'\r\n' + body

    counts = Counts()
    deadline = time.monotonic() + args.duration
    changes = []
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(args, counts, request, deadline))
               for _ in range(args.connections)]
    if args.change:
        threads.append(threading.Thread(target=changer, args=(args, deadline, changes, stop)))
    for t in threads:
        t.start()
    for t in threads[:args.connections]:
        t.join()
    stop.set()
    for t in threads:
        t.join()

    result = dict(counts.values)
    result['changes'] = len(changes)
    result['failed_changes'] = sum(1 for _, code in changes if code != 0)
    result['change_times'] = [round(at, 2) for at, _ in changes]
    result['timeline'] = {str(k): v for k, v in sorted(counts.timeline.items())}
    result['statuses'] = {str(k): v for k, v in sorted(counts.statuses.items())}
    result['max_latency'] = round(counts.max_latency, 3)
    result['examples'] = counts.examples
    failures = sum(result[k] for k in FAILURES)
    # For readers of the JSON (tests, bench/changes.sh): the total, and the kinds that
    # happened.
    result['failed'] = failures
    result['failures'] = {k: result[k] for k in FAILURES if result[k]}
    print('%d requests in %.0f s with %d changes: %d ok, %s; max latency %.3f s; %d retried'
          % (result['requests'], args.duration, result['changes'], result['ok'],
             ', '.join('%d %s' % (result[k], k) for k in FAILURES), result['max_latency'],
             result['retried']))
    for outcome, example in counts.examples.items():
        print('  first %s: %s' % (outcome, example))
    if counts.timeline:
        print('  changes at %s s; failures by second: %s' % (
            ', '.join('%.1f' % at for at, _ in changes),
            '; '.join('%d: %s' % (k, ', '.join('%d %s' % (n, o) for o, n in v.items()))
                      for k, v in sorted(counts.timeline.items()))))
    if args.json:
        print(json.dumps(result))
    return 1 if failures or result['failed_changes'] else 0


if __name__ == '__main__':
    sys.exit(main())
