# Test app for tests/directives.rs: imports a module that is only on WSGIPythonPath.
import dir_libmod


def application(environ, start_response):
    body = ('lib=%s\nlib_file=%s\n' % (dir_libmod.VALUE, dir_libmod.__file__)).encode('utf-8')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
