import os

from flask import Flask, request, session

application = Flask(__name__)
application.secret_key = b"conformance-two"
os.environ.setdefault("SITE_NAME", "two")


@application.route("/")
def index():
    session["visits"] = session.get("visits", 0) + 1
    return "site two: host=%s group=%s app_group=%s visits=%d SITE_NAME=%s" % (
        request.host, request.environ.get("mod_wsgi.process_group"),
        request.environ.get("mod_wsgi.application_group"), session["visits"],
        os.environ.get("SITE_NAME"))
