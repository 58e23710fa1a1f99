"""Requests through the access hook (directly, through DirectoryIndex and a rewrite) and
through Basic auth with the user and group hooks."""
from conformance import Session, basic_auth



s = Session()
s.get("/index.wsgi", step="script", expect=200)
s.get("/", step="directory-index", expect=200)
s.get("/old-home", step="rewritten", expect=200)
s.get("/blocked.wsgi", step="blocked", expect=403)
s.get("/undecided.wsgi", step="undecided", expect=200)
s.get("/private/", step="private-anonymous", expect=401)
s.get("/private/", headers=basic_auth("ann", "annpw"), step="private-staff", expect=200)
s.get("/private/", headers=basic_auth("bob", "bobpw"), step="private-visitor", expect=401)
s.get("/private/", headers=basic_auth("ann", "nope"), step="private-wrong", expect=401)
s.get("/private/", headers=basic_auth("carl", "x"), step="private-unknown", expect=401)
