"""The protected application: says who it serves."""


def application(environ, start_response):
    body = "user=%s auth=%s\n" % (environ.get("REMOTE_USER", ""), environ.get("AUTH_TYPE", ""))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
