"""One of two applications that would collide in one interpreter: each puts its own
directory first on sys.path, imports a module of the same name from it, and setdefaults
the same environment variable to its own name."""
import atexit
import os
import sys

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
import same_name  # noqa: E402
import mod_wsgi  # noqa: E402

os.environ.setdefault("RWSGI_ISOLATION", os.path.basename(HERE))
# Runs when the process ends this application's interpreter.
atexit.register(print, "isolation app %s: atexit" % os.path.basename(HERE), file=sys.stderr)


def application(environ, start_response):
    body = (
        "module=%s\nenv=%s\ngroup=%s\ninterpreter=%d\npid=%d\n"
        % (
            same_name.WHO,
            os.environ["RWSGI_ISOLATION"],
            mod_wsgi.application_group,
            id(sys.modules),
            os.getpid(),
        )
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
