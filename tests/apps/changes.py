# Answers GET with a greeting and POST with the length of its body (tests/changes.rs).
def application(environ, start_response):
    if environ['REQUEST_METHOD'] == 'POST':
        body = environ['wsgi.input'].read()
        out = b'%d' % len(body)
    else:
        out = b'Hello, world!'
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(out)))])
    return [out]
