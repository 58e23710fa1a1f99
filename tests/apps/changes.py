# Answers GET with a greeting and POST with the length of its body (tests/changes.rs).
# `?hold=PATH` first creates PATH.in and waits (up to a minute) until PATH exists: a request
# kept in flight until the test lets it go.
import os
import time


def application(environ, start_response):
    hold = environ.get('QUERY_STRING', '').partition('hold=')[2]
    if hold:
        open(hold + '.in', 'w').close()
        deadline = time.monotonic() + 60
        while not os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.01)
    if environ['REQUEST_METHOD'] == 'POST':
        body = environ['wsgi.input'].read()
        out = b'%d' % len(body)
    else:
        out = b'Hello, world!'
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(out)))])
    return [out]
