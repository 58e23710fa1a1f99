"""A Flask application, as a derived image runs it (docker/example/Dockerfile)."""
import os
import socket
import sys

from flask import Flask, jsonify

application = Flask(__name__)


@application.route("/")
def index():
    # Which replica answered, and which Python: the venv's.
    return jsonify(host=socket.gethostname(), pid=os.getpid(), prefix=sys.prefix)
