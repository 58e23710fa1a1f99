"""Reports mod_ssl's callables of the environ (mod_ssl.is_https, mod_ssl.var_lookup)."""


def application(environ, start_response):
    is_https = environ.get("mod_ssl.is_https")
    var_lookup = environ.get("mod_ssl.var_lookup")
    if is_https is None:
        body = "callables=absent\n"
    else:
        body = "callables=present\nis_https=%s\nHTTPS=%s\nSSL_PROTOCOL=%s\n" % (
            is_https(),
            var_lookup("HTTPS"),
            var_lookup("SSL_PROTOCOL"),
        )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
