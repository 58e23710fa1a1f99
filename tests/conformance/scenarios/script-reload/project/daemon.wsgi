from flask import Flask

import views

SCRIPT_VERSION = 1
application = Flask(__name__)


@application.route("/")
def index():
    return "script=%d views=%s" % (SCRIPT_VERSION, views.VERSION)
