"""A visitor of a front-controller site: pages, a redirect, a static file, query strings."""
from conformance import Session

s = Session()
s.get("/", step="index", expect=200)
s.get("/page/about?ref=menu", step="page", expect=200)
s.get("/page/caf%C3%A9", step="page-utf8", expect=200)
s.get("/go", step="redirect", expect=302)
s.get("/environ?x=1&y=2", step="environ", expect=200)
s.get("/static/site.css", step="static", expect=200)
s.head("/page/about", step="head", expect=200)
s.get("/missing/deeper/path", step="not-found", expect=404)
