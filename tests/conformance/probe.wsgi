"""The conformance suite's environ probe: mounted beside a scenario's application, in the
same process and application group, it answers with the environ it was given (and a few
facts about its interpreter) as JSON, for the suite to compare between mod_wsgi and rwsgi."""
import json
import os
import sys


def describe(value):
    if isinstance(value, (str, bool, int, float)) or value is None:
        return repr(value) if not isinstance(value, str) else value
    if isinstance(value, tuple):
        return repr(value)
    return "<%s>" % type(value).__name__


def application(environ, start_response):
    report = {key: describe(value) for key, value in environ.items()}
    report["(sys.path)"] = "\n".join(sys.path)
    report["(sys.argv)"] = repr(sys.argv)
    report["(cwd)"] = os.getcwd()
    # What the server decides in the process environment (which other variables an
    # application sees depends on which process served it: not comparable).
    for name in ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "PATH", "PYTHONPATH", "PYTHONHOME",
                 "PYTHON_EGG_CACHE", "TMPDIR"):
        report["(os.environ %s)" % name] = os.environ.get(name, "<unset>")
    report["(stdout)"] = type(sys.stdout).__name__
    report["(interpreter)"] = __import__("mod_wsgi").application_group
    body = json.dumps(report, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
