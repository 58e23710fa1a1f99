"""A MoinMoin 2 wiki's readers and an editor: pages, the index, a search, static files,
a login (and a wrong password), a page created and edited, a file uploaded and downloaded,
logout."""
from conformance import Session, mask

# What the client creates gets new revision and item ids (uuid4 hex) and the time of the
# request, in the wiki's display format (Babel's, with a narrow no-break space before AM/PM).
mask(r'\b[0-9a-f]{32}\b', '<uuid>')
mask(r'\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d\s[AP]M\b',
     '<time>')



s = Session()
s.get("/wiki", step="root", expect=302)
s.get("/wiki/", step="root-slash", expect=302)
s.get("/wiki/Home", step="home", expect=200)
s.head("/wiki/Home", step="home-head", expect=200)
s.get("/wiki/help-en/Home", step="help", expect=200)
s.get("/wiki/+index/", step="index", expect=200)
s.get("/wiki/NoSuchItem", step="missing", expect=404)
s.get("/wiki/static/css/common.css", step="static-css", expect=200)
s.get("/wiki/+serve/font_awesome/css/all.min.css", step="serve-css", expect=200)
s.get("/wiki/static/no-such.css", step="static-missing", expect=404)
s.environ("/__probe__/x?y=1", step="probe")

page = s.get("/wiki/+login", step="login-page", expect=200)
fields = page.form_with("login_username")
fields.update({"login_username": "WikiAdmin", "login_password": "wrong-password"})
s.post_form("/wiki/+login", fields, step="login-wrong-password", expect=200)
fields["login_password"] = "Adm1n-Passw0rd!"
s.post_form("/wiki/+login", fields, step="login", expect=302)
s.get("/wiki/Home", step="home-logged-in", expect=200)

# A new page: the type chooser, then the editor for a wiki text item, then the save.
s.get("/wiki/+modify/ConformancePage", step="new-page-chooser", expect=200)
editor = "/wiki/+modify/ConformancePage?itemtype=default&contenttype=text/x.moin.wiki;charset%3Dutf-8&template="
page = s.get(editor, step="new-page-editor", expect=200)
fields = page.form_with("content_form_data_text")
fields.update({"content_form_data_text": "= Conformance =\n\nWritten by the **conformance** client.\n",
               "comment": "first version"})
for name in ("cancel", "preview", "content_form_data_file"):
    fields.pop(name, None)
s.post_multipart(editor, fields, {}, step="new-page-save", expect=302)
s.get("/wiki/ConformancePage", step="new-page", expect=200)
s.get("/wiki/+search?q=conformance", step="search", expect=200)

# A second revision through the editor of the existing item.
page = s.get("/wiki/+modify/ConformancePage", step="edit-page", expect=200)
fields = page.form_with("content_form_data_text")
fields.update({"content_form_data_text": "= Conformance =\n\nEdited by the **conformance** client.\n",
               "comment": "second version"})
for name in ("cancel", "preview", "content_form_data_file"):
    fields.pop(name, None)
s.post_multipart("/wiki/+modify/ConformancePage", fields, {}, step="edit-save", expect=302)
s.get("/wiki/ConformancePage", step="edited-page", expect=200)
s.get("/wiki/+history/ConformancePage", step="history", expect=200)

# A binary file item, uploaded through the editor, then downloaded whole.
upload = "/wiki/+modify/data.bin?itemtype=default&contenttype=application/octet-stream&template="
page = s.get(upload, step="upload-page", expect=200)
fields = page.form_with("content_form_data_file")
for name in ("cancel", "preview", "content_form_data_file"):
    fields.pop(name, None)
data = bytes(range(256)) * 400
s.post_multipart(upload, fields,
                 {"content_form_data_file": ("data.bin", data, "application/octet-stream")},
                 step="upload", expect=302)
s.get("/wiki/data.bin", step="uploaded-item", expect=200)
raw = s.get("/wiki/+get/data.bin", step="download", expect=200)
assert raw.body == data, "the download is not the uploaded file"
s.head("/wiki/+get/data.bin", step="download-head", expect=200)
# A browser's cache revalidating it, and a download resumed with a range. Moin answers
# +get without ranges, and Apache's byterange filter only cuts a response whose first
# brigade holds all of it, which a daemon's streamed response does not: the whole file
# again, 200.
s.get("/wiki/+get/data.bin", step="download-revalidate",
      headers={"If-None-Match": raw.header("etag")}, expect=304)
part = s.get("/wiki/+get/data.bin", step="download-range",
             headers={"Range": "bytes=1000-1999"}, expect=200)
assert part.body == data, "the whole file, for a range moin ignores"
s.get("/wiki/+get/no-such.bin", step="download-missing", expect=404)
s.get("/wiki/+index/", step="index-after", expect=200)

s.get("/wiki/+logout?logout_submit=1", step="logout", expect=302)
s.get("/wiki/+modify/ConformancePage", step="edit-after-logout", expect=403)
