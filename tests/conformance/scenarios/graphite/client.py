"""A Graphite user: the browser and composer pages, renders of fixed whisper data as JSON,
CSV, raw and PNG, metric finding, a login, a dashboard saved and loaded, events posted and
read back, and Django admin's login with CSRF (refused without the token)."""
import hashlib
import json

from conformance import Session, mask, record

mask(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="<token>"')
# cairo numbers the surfaces a process has made: an SVG's id says how many graphs the daemon
# process that drew it had drawn before, and which of the five processes serves a request is
# up to the processes (two runs under mod_wsgi alone give surface1 and surface2).
mask(r'(<g class="graphite" id=")surface\d+(")', r'\1surface<n>\2')

# 2024-01-01 00:00 UTC to 2024-01-03 00:00 UTC: the hours setup.sh wrote.
WINDOW = "from=00:00_20240101&until=00:00_20240103"


def digest(step, response):
    """Binary bodies: their size and hash, besides the (lossily decoded) body."""
    record("%s/sha256" % step, "%d bytes, %s" % (
        len(response.body), hashlib.sha256(response.body).hexdigest()))


s = Session()
s.get("/", step="browser", expect=200)
s.get("/composer/", step="composer", expect=200)
s.get("/browser/header/", step="browser-header", expect=200)
s.get("/version/", step="version", expect=200)
s.get("/static/js/composer_widgets.js", step="static-js", expect=200)
s.head("/static/img/graphite_short.png", step="static-head", expect=200)
s.get("/static/admin/css/base.css", step="static-admin-css", expect=200)
s.get("/static/missing.js", step="static-missing", expect=404)
s.get("/no/such/page/", step="graphite-404", expect=404)

# Metrics.
s.get("/metrics/find?query=*", step="find-top", expect=200)
s.get("/metrics/find?query=servers.*", step="find-servers", expect=200)
s.get("/metrics/find?query=servers.web1.*&format=treejson", step="find-treejson", expect=200)
s.get("/metrics/expand?query=servers.*.cpu", step="expand", expect=200)
s.get("/metrics/index.json", step="index-json", expect=200)

# Renders of fixed data.
s.get("/render?target=servers.web1.cpu&%s&format=json" % WINDOW, step="render-json",
      expect=200)
s.get("/render?target=servers.*.cpu&%s&format=csv" % WINDOW, step="render-csv", expect=200)
s.get("/render?target=sumSeries(servers.*.cpu)&target=alias(servers.web1.load,%%22load%%22)"
      "&%s&format=json" % WINDOW, step="render-functions", expect=200)
s.get("/render?target=servers.web2.cpu&from=1704067200&until=1704110400&format=raw",
      step="render-raw", expect=200)
s.get("/render?target=servers.web1.cpu&%s&format=json&jsonp=cb" % WINDOW,
      step="render-jsonp", expect=200)
png = s.get("/render?target=servers.web1.cpu&target=servers.web2.cpu&%s"
            "&width=400&height=250&title=CPU" % WINDOW, step="render-png", expect=200)
digest("render-png", png)
gz = s.get("/render?target=servers.web1.cpu&%s&format=json" % WINDOW,
           headers={"Accept-Encoding": "gzip"}, step="render-json-gzip", expect=200)
digest("render-json-gzip", gz)
s.get("/render?target=servers.web1.load&%s&format=svg" % WINDOW, step="render-svg",
            expect=200)
s.post_form("/render", {"target": "maxSeries(servers.*.cpu)", "from": "00:00_20240101",
                        "until": "00:00_20240102", "format": "json"},
            step="render-post", expect=200)
s.get("/render?target=nosuchFunction(servers.web1.cpu)&%s&format=json" % WINDOW,
      step="render-bad-function", expect=400)

# A login (Graphite's own view has no CSRF check), a dashboard saved and loaded.
s.get("/account/login", step="login-page", expect=200)
s.post_form("/account/login", {"username": "admin", "password": "wrong", "nextPage": "/"},
            step="login-wrong-password", expect=200)
s.post_form("/account/login", {"username": "admin", "password": "adminpass",
                               "nextPage": "/dashboard/"}, step="login", expect=302)
s.get("/dashboard/", step="dashboard", expect=200)
state = {"name": "ops", "graphs": [["servers.web1.cpu", {"target": ["servers.web1.cpu"]},
                                    "/render?target=servers.web1.cpu"]],
         "timeConfig": {"type": "absolute", "startDate": "2024-01-01T00:00:00",
                        "endDate": "2024-01-03T00:00:00"}}
s.post_form("/dashboard/save/ops", {"state": json.dumps(state)}, step="dashboard-save",
            expect=200)
s.get("/dashboard/load/ops", step="dashboard-load", expect=200)
s.get("/dashboard/find?query=o", step="dashboard-find", expect=200)
s.get("/dashboard/load/nosuch", step="dashboard-load-missing", expect=200)

# Events: posted as JSON, read back.
for n, event in enumerate([
        {"what": "deploy v1", "tags": ["deploy", "web"], "when": 1704070800, "data": "first"},
        {"what": "restart", "tags": "web ops", "when": 1704157200, "data": "second"}], 1):
    s.request("POST", "/events/", body=json.dumps(event),
              headers={"Content-Type": "application/json"}, step="event-post-%d" % n,
              expect=200)
s.request("POST", "/events/", body=json.dumps({"what": "bad", "tags": 5}),
          headers={"Content-Type": "application/json"}, step="event-post-bad", expect=400)
s.get("/events/get_data?tags=web&from=00:00_20240101&until=00:00_20240103",
      step="events-get-data", expect=200)
s.get("/events/get_data?tags=deploy&from=00:00_20240101&until=00:00_20240103&jsonp=cb",
      step="events-get-jsonp", expect=200)
s.get("/events/1/", headers={"Accept": "application/json"}, step="event-json", expect=200)
s.get("/events/2/", step="event-html", expect=200)
s.get("/events/99/", step="event-missing", expect=404)
s.get("/render?target=events(%%22web%%22)&%s&format=json" % WINDOW, step="render-events",
      expect=200)

# Django admin: login with CSRF, refused without the token.
a = Session()
a.get("/admin/", step="admin-anonymous", expect=302)
login = a.get("/admin/login/?next=/admin/", step="admin-login-page", expect=200)
fields = login.form_fields()
a.post_form("/admin/login/?next=/admin/",
            {"username": "admin", "password": "adminpass", "next": "/admin/"},
            step="admin-login-without-csrf", expect=403)
fields.update({"username": "admin", "password": "adminpass"})
a.post_form("/admin/login/?next=/admin/", fields, step="admin-login", expect=302)
a.get("/admin/", step="admin-index", expect=200)
a.get("/admin/dashboard/dashboard/", step="admin-dashboards", expect=200)
a.get("/admin/events/event/", step="admin-events", expect=200)
a.head("/admin/", step="admin-head", expect=200)

s.environ("/__probe__/x?y=1", step="probe")
