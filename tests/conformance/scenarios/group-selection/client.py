"""Requests whose daemon group comes from the environment, including the failures."""
from conformance import Session

s = Session()
s.environ("/app/red/x", step="red")
s.environ("/app/blue/x", step="blue")
s.environ("/app/global/x", step="global")
s.get("/app/unset/x", step="unset", expect=500)
s.get("/app/blue/restricted", step="restricted")
