"""Each site's page, in turn: which settings each site runs with."""
from conformance import Session

s = Session()
s.get("/one/", step="one", expect=200)
s.get("/two/", step="two", expect=200)
s.get("/one/", step="one-again", expect=200)
