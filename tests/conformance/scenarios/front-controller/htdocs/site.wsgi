# A Flask application as a front controller's script.
from flask import Flask, redirect, request, url_for

application = Flask(__name__)


@application.route("/")
def index():
    return "index: url=%s script_root=%s" % (request.url, request.script_root)


@application.route("/page/<name>")
def page(name):
    return "page %s: path=%s full_path=%s url_for=%s" % (
        name, request.path, request.full_path, url_for("page", name=name))


@application.route("/go")
def go():
    return redirect(url_for("page", name="target"))


@application.route("/environ")
def environ():
    keys = ("REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SCRIPT_FILENAME",
            "REDIRECT_URL", "REDIRECT_STATUS", "REDIRECT_QUERY_STRING", "DOCUMENT_ROOT",
            "CONTEXT_PREFIX", "CONTEXT_DOCUMENT_ROOT", "mod_wsgi.script_name",
            "mod_wsgi.path_info", "mod_wsgi.application_group", "mod_wsgi.process_group")
    return "\n".join("%s=%s" % (k, request.environ.get(k, "<absent>")) for k in keys)
