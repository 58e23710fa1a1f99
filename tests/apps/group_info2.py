"""Answers with the application group the request ran in, as the environ and the mod_wsgi
module name it, and which process and interpreter ran it."""
import os
import sys

import mod_wsgi


def application(environ, start_response):
    body = "environ=%s\nmodule=%s\npid=%d\ninterpreter=%d\n" % (
        environ["mod_wsgi.application_group"],
        mod_wsgi.application_group,
        os.getpid(),
        id(sys.modules),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
