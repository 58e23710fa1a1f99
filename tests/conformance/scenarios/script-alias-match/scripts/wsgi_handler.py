def application(environ, start_response):
    body = ("handler: SCRIPT_NAME=%r PATH_INFO=%r REQUEST_URI=%r" % (
        environ["SCRIPT_NAME"], environ.get("PATH_INFO"), environ["REQUEST_URI"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
