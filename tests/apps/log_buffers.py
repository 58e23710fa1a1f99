"""Writes bytes to the binary side (`buffer`) of sys.stdout, sys.stderr and wsgi.errors, as
Mercurial does: a line split over two writes, a byte that is not UTF-8."""
import sys


def application(environ, start_response):
    sys.stdout.buffer.write(b"stdout buffer: ")
    sys.stdout.buffer.write(b"caf\xc3\xa9\n")
    sys.stderr.buffer.write(b"stderr buffer: \xff\n")
    errors = environ["wsgi.errors"].buffer
    n = errors.write(bytearray(b"wsgi.errors buffer\n"))
    refused = []
    for wrong in ("text is refused", [104, 105]):
        try:
            errors.write(wrong)
        except TypeError:
            refused.append(type(wrong).__name__)
    body = ("wrote=%d refused=%s type=%s\n" % (
        n, ",".join(refused), type(errors).__name__)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
