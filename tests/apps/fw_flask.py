"""A small Flask app for tests/frameworks.rs (mounted at a non-root URL)."""

import os

import flask
import mod_wsgi
from flask import Flask, jsonify, request, send_file, url_for

app = Flask(__name__)

# Written by the test into the staged ServerRoot: <root>/htdocs/fw_payload.txt
PAYLOAD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "htdocs", "fw_payload.txt")


@app.route("/hello")
def hello():
    name = request.args.get("name", "nobody")
    return f"hello {name}", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/echo", methods=["POST"])
def echo():
    data = request.get_json()
    return jsonify(echo=data, length=request.content_length)


@app.route("/cookie")
def cookie():
    resp = flask.make_response("cookie set")
    resp.set_cookie("fwcookie", "v1", path="/flask")
    resp.headers["X-Fw-Custom"] = "custom-value"
    return resp


@app.route("/whoami")
def whoami():
    got = request.cookies.get("fwcookie", "")
    return f"cookie={got}\n", 200, {"Content-Type": "text/plain"}


@app.route("/urls")
def urls():
    lines = [
        "url_for=" + url_for("hello", name="x"),
        "external=" + url_for("urls", _external=True),
        "script_root=" + request.script_root,
        "path=" + request.path,
        "full_path=" + request.full_path,
        "url=" + request.url,
    ]
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain"}


@app.route("/file")
def file():
    wrapper = request.environ.get("wsgi.file_wrapper")
    resp = send_file(PAYLOAD, mimetype="text/plain")
    resp.headers["X-File-Wrapper"] = "mod_wsgi" if wrapper is mod_wsgi.FileWrapper else repr(wrapper)
    return resp


application = app
