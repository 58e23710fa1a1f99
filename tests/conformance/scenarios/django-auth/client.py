"""Pages behind Apache's Basic auth, checked against Django's users and groups."""
from conformance import Session, basic_auth, mask

mask(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="<token>"')



s = Session()
s.get("/secret/", step="secret-anonymous", expect=401)
s.get("/secret/", headers=basic_auth("agent", "agentpass"), step="secret-agent", expect=200)
s.get("/secret/", headers=basic_auth("plain", "plainpass"), step="secret-plain", expect=200)
s.get("/secret/", headers=basic_auth("agent", "wrong"), step="secret-wrong-password", expect=401)
s.get("/secret/", headers=basic_auth("nobody", "x"), step="secret-unknown-user", expect=401)
s.get("/agents/", headers=basic_auth("agent", "agentpass"), step="agents-agent", expect=200)
s.get("/agents/", headers=basic_auth("plain", "plainpass"), step="agents-plain", expect=401)
s.get("/agents/", step="agents-anonymous", expect=401)
s.get("/admin/login/", step="admin-login-page", expect=200)
