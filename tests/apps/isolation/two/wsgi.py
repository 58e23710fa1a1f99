"""The second of the two colliding applications: the first one's code, run as this file,
so it puts this directory on sys.path and names itself after it."""
import os

with open(os.path.join(os.path.dirname(__file__), "..", "one", "wsgi.py")) as source:
    exec(compile(source.read(), __file__, "exec"))
