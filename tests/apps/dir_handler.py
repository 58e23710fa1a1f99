# Test handler script for tests/directives.rs (WSGIHandlerScript): the callable is
# handle_request, not application.


def handle_request(environ, start_response):
    body = ('handler=dir_handler\nhandler_script=%s\nrequest_handler=%s\nREQUEST_URI=%s\n' % (
        environ.get('mod_wsgi.handler_script', ''),
        environ.get('mod_wsgi.request_handler', ''),
        environ.get('REQUEST_URI', ''))).encode('utf-8')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
