"""WSGIDispatchScript for tests/dispatch.rs: routes by request headers; None keeps what the
configuration says."""


def process_group(environ):
    if environ.get("HTTP_X_FAIL"):
        raise RuntimeError("dispatch failed on purpose")
    return environ.get("HTTP_X_PROCESS_GROUP")


def application_group(environ):
    return environ.get("HTTP_X_APPLICATION_GROUP")


def callable_object(environ):
    return environ.get("HTTP_X_CALLABLE")
