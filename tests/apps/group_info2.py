"""group_info.py's application as a second script file: a second application."""
import os

with open(os.path.join(os.path.dirname(__file__), "group_info.py")) as f:
    exec(f.read())
