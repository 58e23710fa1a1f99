"""Answers with the application group the request ran in, as the environ and the mod_wsgi
module name it, which process and interpreter ran it, and whether that is the process's
main interpreter."""
import os
import sys

import mod_wsgi


def in_main_interpreter():
    try:
        import _interpreters as interpreters
    except ImportError:
        import _xxsubinterpreters as interpreters
    return interpreters.get_current() == interpreters.get_main()


def application(environ, start_response):
    body = "environ=%s\nmodule=%s\npid=%d\ninterpreter=%d\nmain=%s\n" % (
        environ["mod_wsgi.application_group"],
        mod_wsgi.application_group,
        os.getpid(),
        id(sys.modules),
        in_main_interpreter(),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
