def application(environ, start_response):
    body = ("index: REQUEST_URI=%s SCRIPT_NAME=%s REMOTE_USER=%s REDIRECT_URL=%s" % (
        environ.get("REQUEST_URI"), environ.get("SCRIPT_NAME"), environ.get("REMOTE_USER"),
        environ.get("REDIRECT_URL"))).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
