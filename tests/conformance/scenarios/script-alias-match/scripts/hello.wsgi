def application(environ, start_response):
    body = ("hello from %s (SCRIPT_NAME=%r PATH_INFO=%r)" % (
        environ["SCRIPT_FILENAME"], environ["SCRIPT_NAME"], environ.get("PATH_INFO"))).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
