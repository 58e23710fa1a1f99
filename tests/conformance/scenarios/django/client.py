"""A Django site's visitor and its administrator: static files from Apache, the admin's
login with CSRF (refused without the token), an upload, the uploaded file from Apache."""
from conformance import Session, mask

mask(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="<token>"')

s = Session()
s.get("/robots.txt", step="robots", expect=200)
s.get("/favicon.ico", step="favicon", expect=200)
s.get("/static/admin/css/base.css", step="static-css", expect=200)
s.get("/static/admin/missing.css", step="static-missing", expect=404)
s.get("/no/such/page/", step="django-404", expect=404)
s.get("/admin/", step="admin-anonymous", expect=302)
login = s.get("/admin/login/?next=/admin/", step="login-page", expect=200)
fields = login.form_fields()
s.post_form("/admin/login/?next=/admin/",
            {"username": "admin", "password": "adminpass", "next": "/admin/"},
            step="login-without-csrf", expect=403)
fields.update({"username": "admin", "password": "wrong"})
s.post_form("/admin/login/?next=/admin/", fields, step="login-wrong-password", expect=200)
fields = s.get("/admin/login/?next=/admin/", step="login-page-again", expect=200).form_fields()
fields.update({"username": "admin", "password": "adminpass"})
s.post_form("/admin/login/?next=/admin/", fields, step="login", expect=302)
s.get("/admin/", step="admin-index", expect=200)
form = s.get("/upload/", step="upload-page", expect=200).form_fields()
s.post_multipart("/upload/", {"csrfmiddlewaretoken": form["csrfmiddlewaretoken"],
                              "title": "Minutes"},
                 {"upload": ("minutes.txt", b"the minutes\n" * 1000, "text/plain")},
                 step="upload", expect=302)
s.get("/upload/", step="upload-list", expect=200)
s.get("/media/docs/minutes.txt", step="uploaded-file", expect=200)
s.get("/admin/uploads/document/", step="admin-documents", expect=200)
s.head("/admin/", step="admin-head", expect=200)
s.environ("/__probe__/x?y=1", step="probe")
