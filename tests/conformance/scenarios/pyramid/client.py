"""Pyramid's wiki2 tutorial under /myapp, as its users see it: redirects built from
SCRIPT_NAME, pages rendered from reStructuredText, static files (also not modified, and a
byte range), login with the CSRF token (400 without it, 400 for a wrong password), adding a
page (400 without the token) and editing it (a multipart form), a user without the right to
edit (403), a missing page (404), logout by POST, HEAD, and the Authorization header passed
to the application (WSGIPassAuthorization On)."""
import base64

from conformance import Session, mask

# pyramid.csrf.CookieCSRFStoragePolicy's random token, in every form.
mask(r'name="csrf_token" value="[0-9a-f]+"', 'name="csrf_token" value="<token>"')

s = Session()
s.get("/myapp", step="mount-point", expect=303)
s.get("/myapp/", step="root", expect=303)
s.get("/myapp/FrontPage", step="front-page-anonymous", expect=200)
css = s.get("/myapp/static/theme.css", step="static-css", expect=200)
s.get("/myapp/static/theme.css", headers={"If-Modified-Since": css.header("last-modified")},
      step="static-css-not-modified", expect=304)
s.get("/myapp/static/theme.css", headers={"Range": "bytes=10-59"}, step="static-css-range",
      expect=206)
s.get("/myapp/static/pyramid.png", step="static-png", expect=200)
s.head("/myapp/static/pyramid-16x16.png", step="static-icon-head", expect=200)
s.get("/myapp/static/missing.css", step="static-missing", expect=404)
s.get("/myapp/NoSuchPage", step="missing-page", expect=404)
s.get("/myapp/add_page/NewPage", step="add-page-anonymous", expect=303)
s.get("/myapp/FrontPage/edit_page", step="edit-page-anonymous", expect=303)

login = s.get("/myapp/login", step="login-page", expect=200)
fields = login.form_fields()
s.post_form("/myapp/login", {"login": "editor", "password": "editor",
                             "next": "/myapp/FrontPage"},
            step="login-without-csrf", expect=400)
s.post_form("/myapp/login", dict(fields, login="editor", password="wrong"),
            step="login-wrong-password", expect=400)
s.post_form("/myapp/login", dict(fields, login="editor", password="editor"),
            step="login", expect=303)
s.get("/myapp/FrontPage", step="front-page-editor", expect=200)

# Logged in, the layout's logout form comes first and the page's own form second.
form = s.get("/myapp/add_page/NewPage", step="add-page-form", expect=200).form_fields(1)
s.post_form("/myapp/add_page/NewPage", {"body": "no token"},
            step="add-page-without-csrf", expect=400)
s.post_form("/myapp/add_page/NewPage",
            dict(form, body="Hello **world**, back to FrontPage or on to OtherPage.\n\n"
                            "* naïve café\n* ☃\n"),
            step="add-page", expect=303)
s.get("/myapp/NewPage", step="new-page", expect=200)
s.get("/myapp/add_page/NewPage", step="add-page-existing", expect=303)
form = s.get("/myapp/NewPage/edit_page", step="edit-page-form", expect=200).form_fields(1)
s.post_multipart("/myapp/NewPage/edit_page",
                 {"csrf_token": form["csrf_token"],
                  "body": "Edited: *emphasis* and ``code``.\n\n" + "A line.\n" * 2000},
                 {}, step="edit-page", expect=303)
s.get("/myapp/NewPage", step="edited-page", expect=200)
s.head("/myapp/NewPage", step="edited-page-head", expect=200)
logout = s.get("/myapp/FrontPage", step="front-page-before-logout", expect=200).form_fields(0)
s.get("/myapp/logout", step="logout-get", expect=303)
s.post_form("/myapp/logout", logout, step="logout", expect=303)
s.get("/myapp/NewPage/edit_page", step="edit-page-logged-out", expect=303)

basic = Session()
fields = basic.get("/myapp/login", step="basic-login-page", expect=200).form_fields()
basic.post_form("/myapp/login", dict(fields, login="basic", password="basic",
                                     next="/myapp/NewPage"),
                step="basic-login", expect=303)
basic.get("/myapp/NewPage/edit_page", step="basic-edit-not-allowed", expect=403)
basic.get("/myapp/add_page/OtherPage", step="basic-add-page-form", expect=200)

credentials = base64.b64encode(b"someone:secret").decode()
s.environ("/__probe__/x?y=1", step="probe", headers={"Authorization": "Basic " + credentials})
