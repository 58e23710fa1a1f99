# Test app for tests/directives.rs: two callables, to see which one WSGICallableObject or
# callable-object= selects.


def _answer(which, environ, start_response):
    body = ('which=%s\ncallable_object=%s\n' % (
        which, environ.get('mod_wsgi.callable_object', ''))).encode('utf-8')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def application(environ, start_response):
    return _answer('application', environ, start_response)


def my_app(environ, start_response):
    return _answer('my_app', environ, start_response)
