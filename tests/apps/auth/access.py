"""WSGIAccessScript for tests/auth.rs: decides on the client's address and a header."""


def allow_access(environ, host):
    verdict = environ.get("HTTP_X_VERDICT", "")
    if verdict == "raise":
        raise ValueError("access script failed on purpose")
    if verdict == "none":
        return None
    if verdict == "weird":
        return 42
    return host == "127.0.0.1" and verdict != "deny"
