"""A Trac project's visitors and its administrator: wiki pages and the timeline
anonymously, a login through Apache's Basic auth, a new ticket (refused without the form
token), an attachment and its raw download, a wiki edit, the admin panel, Apache's static
chrome files, logout."""
import base64

from conformance import Session, mask

# The session's form token, and the times of what the client creates (ISO in links, the
# user's format in titles, microseconds in the ticket form, "N seconds ago").
mask(r'(name="__FORM_TOKEN"[^>]* value=")[0-9a-f]{24}"', r'\1<token>"')
mask(r'form_token="[0-9a-f]{24}"', 'form_token="<token>"')
mask(r'\d{4}-\d\d-\d\dT\d\d(%3A|:)\d\d(%3A|:)\d\dZ', '<iso-time>')
mask(r'\b\d\d/\d\d/\d\d \d\d:\d\d:\d\d\b', '<time>')
mask(r'\b\d+ (second|minute)s? ago\b', '<n> ago')
mask(r'value="1[7-9]\d{14}"', 'value="<microseconds>"')
# The timeline shows each event's time of day.
mask(r'<span class="time">\d\d:\d\d</span>', '<span class="time"><hh:mm></span>')


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


def form_with(response, field):
    """The fields of the page's form that has `field` (the search box is a form too)."""
    for n in range(20):
        fields = response.form_fields(n)
        if field in fields:
            return fields
    raise AssertionError("no form with %s" % field)


s = Session()
# Anonymous.
s.get("/trac", step="root", expect=200)
s.get("/trac/wiki/WikiStart", step="wiki-start", expect=200)
s.get("/trac/wiki/TracModWSGI", step="wiki-doc", expect=200)
s.get("/trac/wiki/NoSuchPage", step="wiki-missing", expect=404)
s.head("/trac/wiki/WikiStart", step="wiki-head", expect=200)
s.get("/trac/timeline", step="timeline", expect=200)
s.get("/trac/no/such/handler", step="not-found", expect=404)
s.get("/trac/chrome/common/css/trac.css", step="chrome-css", expect=200)
s.get("/trac/chrome/common/js/trac.js", step="chrome-js", expect=200)
s.get("/trac/chrome/common/trac_banner.png", step="chrome-png", expect=200)
s.get("/trac/chrome/common/no-such.css", step="chrome-missing", expect=404)
s.get("/trac/newticket", step="newticket-anonymous", expect=403)
s.environ("/__probe__/x?y=1", step="probe")

# Login: Apache checks the password, Trac takes REMOTE_USER and sets its cookie.
s.get("/trac/login", step="login-anonymous", expect=401)
s.get("/trac/login", headers=basic("admin", "wrong"), step="login-wrong-password", expect=401)
s.environ("/trac/login/__probe__/x", headers=basic("admin", "adminpw"), step="login-probe")
s.get("/trac/login", headers=basic("admin", "adminpw"), step="login", expect=302)
s.get("/trac/wiki/WikiStart", step="wiki-start-admin", expect=200)

# A new ticket: refused without the form token, created with it.
page = s.get("/trac/newticket", step="newticket-page", expect=200)
fields = form_with(page, "field_summary")
fields.update({"field_summary": "Conformance ticket",
               "field_description": "Created by the '''conformance''' client.\n",
               "field_type": "defect", "field_priority": "major",
               "field_component": "component1", "field_version": "1.0"})
fields.pop("attachment", None)  # "I have files to attach": not on this form
fields.pop("preview")
without = dict(fields)
del without["__FORM_TOKEN"]
s.post_form("/trac/newticket", without, step="newticket-without-token", expect=400)
s.post_form("/trac/newticket", fields, step="newticket", expect=303)
s.get("/trac/ticket/1", step="ticket", expect=200)

# An attachment on the ticket, and its raw download (Trac sends it with wsgi.file_wrapper).
page = s.get("/trac/attachment/ticket/1/?action=new", step="attach-page", expect=200)
fields = form_with(page, "attachment")
for name in ("attachment", "cancel", "replace"):
    del fields[name]
data = bytes(range(256)) * 400
s.post_multipart("/trac/attachment/ticket/1/", fields,
                 {"attachment": ("data.bin", data, "application/octet-stream")},
                 step="attach", expect=303)
s.get("/trac/attachment/ticket/1/data.bin", step="attachment-page", expect=200)
raw = s.get("/trac/raw-attachment/ticket/1/data.bin", step="raw-attachment", expect=200)
assert raw.body == data, "the raw attachment is not the uploaded file"
s.head("/trac/raw-attachment/ticket/1/data.bin", step="raw-attachment-head", expect=200)
# A browser's cache revalidating it, and a download resumed with a range. Trac ignores
# Range, and Apache's byterange filter only cuts a response whose first brigade holds all
# of it, which a daemon's streamed response does not: the whole file again, 200.
s.get("/trac/raw-attachment/ticket/1/data.bin", step="raw-attachment-revalidate",
      headers={"If-Modified-Since": raw.header("last-modified")}, expect=304)
part = s.get("/trac/raw-attachment/ticket/1/data.bin", step="raw-attachment-range",
             headers={"Range": "bytes=1000-1999"}, expect=200)
assert part.body == data, "the whole file, for a range Trac ignores"

# A wiki edit.
page = s.get("/trac/wiki/SandBox?action=edit", step="wiki-edit-page", expect=200)
fields = form_with(page, "text")
fields["text"] = "= Sandbox =\nEdited by the '''conformance''' client, see #1.\n"
fields["comment"] = "conformance edit"
fields.pop("preview", None)
fields.pop("diff", None)
fields.pop("cancel", None)
s.post_form("/trac/wiki/SandBox", fields, step="wiki-save", expect=303)
s.get("/trac/wiki/SandBox", step="wiki-sandbox", expect=200)
s.get("/trac/timeline", step="timeline-after", expect=200)

# The admin panel: a change of the project's name.
s.get("/trac/admin", step="admin", expect=200)
page = s.get("/trac/admin/general/basics", step="admin-basics", expect=200)
fields = form_with(page, "name")
fields["name"] = "Conformance Project (renamed)"
s.post_form("/trac/admin/general/basics", fields, step="admin-save", expect=303)
s.get("/trac/admin/general/basics", step="admin-basics-after", expect=200)

page = s.get("/trac/wiki/WikiStart", step="before-logout", expect=200)
s.post_form("/trac/logout", form_with(page, "__FORM_TOKEN"), step="logout", expect=303)
s.get("/trac/newticket", step="newticket-after-logout", expect=403)
