"""The application behind the dispatch script: says where it ran and as which callable."""
import os

import mod_wsgi


def respond(name, environ, start_response):
    body = "callable=%s\nprocess_group=%s\napplication_group=%s\npid=%d\n" % (
        name,
        mod_wsgi.process_group,
        environ["mod_wsgi.application_group"],
        os.getpid(),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


def application(environ, start_response):
    return respond("application", environ, start_response)


def other(environ, start_response):
    return respond("other", environ, start_response)
