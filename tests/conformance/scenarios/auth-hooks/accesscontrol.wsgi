import sys


def allow_access(environ, host):
    print("allow_access uri=%s script=%s path_info=%s host=%s" % (
        environ.get("REQUEST_URI"), environ.get("SCRIPT_NAME"), environ.get("PATH_INFO"),
        host), file=sys.stderr)
    if "blocked" in environ.get("REQUEST_URI", ""):
        return False
    if "undecided" in environ.get("REQUEST_URI", ""):
        return None
    return host in ("127.0.0.1", "::1", "localhost")
