# Test app for tests/directives.rs: answers with one `key=value` line per string in the
# WSGI environ, plus a few facts about the interpreter. The request method is also sent as
# the X-Request-Method header so HEAD requests (which have no body) can be checked.
import os
import sys


def application(environ, start_response):
    lines = ['app=dir_env']
    for key in sorted(environ):
        value = environ[key]
        if isinstance(value, str):
            lines.append('%s=%s' % (key, value.replace('\n', ' ')))
        elif isinstance(value, (bool, int)):
            lines.append('%s=%r' % (key, value))
    lines.append('py.prefix=%s' % sys.prefix)
    lines.append('py.preloaded=%s' % os.environ.get('RWSGI_PRELOADED', ''))
    body = ('\n'.join(lines) + '\n').encode('utf-8')
    start_response('200 OK', [
        ('Content-Type', 'text/plain; charset=utf-8'),
        ('Content-Length', str(len(body))),
        ('X-Request-Method', environ['REQUEST_METHOD']),
    ])
    return [body]
