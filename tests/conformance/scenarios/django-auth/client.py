"""Pages behind Apache's Basic auth, checked against Django's users and groups."""
import base64

from conformance import Session, mask

mask(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="<token>"')


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


s = Session()
s.get("/secret/", step="secret-anonymous", expect=401)
s.get("/secret/", headers=basic("agent", "agentpass"), step="secret-agent", expect=200)
s.get("/secret/", headers=basic("plain", "plainpass"), step="secret-plain", expect=200)
s.get("/secret/", headers=basic("agent", "wrong"), step="secret-wrong-password", expect=401)
s.get("/secret/", headers=basic("nobody", "x"), step="secret-unknown-user", expect=401)
s.get("/agents/", headers=basic("agent", "agentpass"), step="agents-agent", expect=200)
s.get("/agents/", headers=basic("plain", "plainpass"), step="agents-plain", expect=401)
s.get("/agents/", step="agents-anonymous", expect=401)
s.get("/admin/login/", step="admin-login-page", expect=200)
