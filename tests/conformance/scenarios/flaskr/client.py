"""Flask's tutorial blog (flaskr) as its users see it: registration, a wrong password and an
unknown user, login (a signed session cookie), writing, updating and deleting posts (one
with a large body and non-ASCII text), another user refused the author's post (403), a
missing post (404), logout, the static stylesheet served by Flask (also
not modified, and a byte range), HEAD and a wrong method."""
from conformance import Session, mask

# A post shows the day it was written.
mask(r'(<div class="about">by \S+ on )\d{4}-\d\d-\d\d(</div>)', r'\1<day>\2')
# Werkzeug lists a 405's allowed methods from a set: their order follows the process's
# string hash seed. Only which methods count.
mask(r'^(?:GET|HEAD|OPTIONS|POST)(?:, (?:GET|HEAD|OPTIONS|POST))+$',
     lambda m: ", ".join(sorted(m.group(0).split(", "))))

s = Session()
s.get("/", step="index-anonymous", expect=200)
s.get("/hello", step="hello", expect=200)
css = s.get("/static/style.css", step="static-css", expect=200)
s.get("/static/style.css", headers={"If-None-Match": css.header("etag")},
      step="static-css-not-modified", expect=304)
s.get("/static/style.css", headers={"Range": "bytes=100-199"}, step="static-css-range",
      expect=206)
s.head("/static/style.css", step="static-css-head", expect=200)
s.get("/static/missing.css", step="static-missing", expect=404)
s.get("/no/such/page", step="flask-404", expect=404)
s.request("POST", "/hello", body=b"", step="hello-post", expect=405)
s.get("/create", step="create-anonymous", expect=302)

s.get("/auth/register", step="register-page", expect=200)
s.post_form("/auth/register", {"username": "alice", "password": "alice-pass"},
            step="register", expect=302)
s.post_form("/auth/register", {"username": "alice", "password": "other"},
            step="register-taken", expect=200)
s.post_form("/auth/register", {"username": "", "password": "x"},
            step="register-no-username", expect=200)
s.post_form("/auth/register", {"username": "zoë", "password": "zoë-pass"},
            step="register-second", expect=302)

s.get("/auth/login", step="login-page", expect=200)
s.post_form("/auth/login", {"username": "alice", "password": "wrong"},
            step="login-wrong-password", expect=200)
s.post_form("/auth/login", {"username": "nobody", "password": "x"},
            step="login-unknown-user", expect=200)
s.post_form("/auth/login", {"username": "alice", "password": "alice-pass"},
            step="login", expect=302)
s.get("/", step="index-empty", expect=200)

s.get("/create", step="create-page", expect=200)
s.post_form("/create", {"title": "", "body": "no title"}, step="create-no-title", expect=200)
s.post_form("/create", {"title": "First post", "body": "Hello <b>world</b> & co."},
            step="create", expect=302)
s.get("/", step="index-one-post", expect=200)
s.get("/1/update", step="update-page", expect=200)
# A large form body (about 300 KB), read by the daemon through Apache.
long_body = "".join("Line %05d: naïve café, ☃ and the rest.\n" % i for i in range(7000))
s.post_form("/1/update", {"title": "First post, édité", "body": long_body},
            step="update", expect=302)
s.get("/", step="index-updated", expect=200)

s.post_form("/create", {"title": "Second", "body": "to be deleted"},
            step="create-second", expect=302)
s.get("/2/update", step="update-page-second", expect=200)
s.post_form("/2/delete", {}, step="delete", expect=302)
s.get("/2/update", step="update-deleted", expect=404)
s.get("/99/update", step="update-missing", expect=404)
s.get("/1/delete", step="delete-get", expect=405)
s.head("/", step="index-head", expect=200)
s.get("/auth/logout", step="logout", expect=302)
s.get("/", step="index-logged-out", expect=200)

zoe = Session()
zoe.post_form("/auth/login", {"username": "zoë", "password": "zoë-pass"},
              step="second-login", expect=302)
zoe.get("/", step="second-index", expect=200)
zoe.get("/1/update", step="second-update-not-author", expect=403)
zoe.post_form("/1/delete", {}, step="second-delete-not-author", expect=403)

s.environ("/__probe__/x?y=1", step="probe")
