"""CalDAV/CardDAV clients of Radicale: the web interface, Radicale's own Basic
authentication (401 without or with wrong credentials), a calendar made with MKCOL, events
PUT, fetched, queried with REPORT, changed with conditional requests, moved and DELETEd, an
address book with a vCard, and another user refused (403)."""
from conformance import PORT, Session, basic_auth, mask

# A collection's sync token hashes its items' history etags, which Radicale seeds with
# os.urandom (radicale/storage/multifilesystem/history.py).
mask(r"http://radicale\.org/ns/sync/[0-9a-f]{64}", "http://radicale.org/ns/sync/<token>")



ALICE = basic_auth("alice", "alicepw")
BOB = basic_auth("bob", "bobpw")
XML = {"Content-Type": "application/xml; charset=utf-8"}


def dav(session, method, path, body=None, headers=None, **kw):
    h = dict(headers or {})
    if body is not None and "Content-Type" not in h:
        h.update(XML)
    return session.request(method, path, body=body, headers=h, **kw)


EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//rwsgi conformance//EN
BEGIN:VEVENT
UID:event1@example.com
DTSTAMP:20240101T000000Z
DTSTART:20240115T100000Z
DTEND:20240115T110000Z
SUMMARY:%s
END:VEVENT
END:VCALENDAR
"""

MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:calendar/></D:resourcetype>
    <D:displayname>Work</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</D:mkcol>"""

MKADDRESSBOOK = """<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
    <D:displayname>Contacts</D:displayname>
  </D:prop></D:set>
</D:mkcol>"""

PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:resourcetype/><D:displayname/><D:getetag/><D:current-user-principal/>
  <C:calendar-home-set/></D:prop>
</D:propfind>"""

CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20240101T000000Z" end="20240201T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""

MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <D:href>/radicale/alice/work/event1.ics</D:href>
  <D:href>/radicale/alice/work/missing.ics</D:href>
</C:calendar-multiget>"""

SYNC = """<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>
</D:sync-collection>"""

PROPPATCH = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/">
  <D:set><D:prop><D:displayname>Work (renamed)</D:displayname>
  <I:calendar-color>#ff0000ff</I:calendar-color></D:prop></D:set>
</D:propertyupdate>"""

VCARD = """BEGIN:VCARD
VERSION:3.0
UID:contact1@example.com
FN:Carol Example
N:Example;Carol;;;
EMAIL:carol@example.com
END:VCARD
"""

s = Session()
s.get("/radicale", step="root-no-slash", expect=302)
s.get("/radicale/", step="root", expect=302)
s.get("/radicale/.web/", step="web", expect=200)
s.get("/radicale/.web/css/main.css", step="web-css", expect=200)
s.request("OPTIONS", "/radicale/", step="options", expect=200)

dav(s, "PROPFIND", "/radicale/", PROPFIND, headers={"Depth": "0"}, step="propfind-anonymous",
    expect=401)
dav(s, "PROPFIND", "/radicale/", PROPFIND, headers=dict(basic_auth("alice", "wrong"), Depth="0"),
    step="propfind-wrong-password", expect=401)
dav(s, "PROPFIND", "/radicale/", PROPFIND, headers=dict(ALICE, Depth="0"),
    step="propfind-root", expect=207)
dav(s, "PROPFIND", "/radicale/alice/", PROPFIND, headers=dict(ALICE, Depth="1"),
    step="propfind-home-empty", expect=207)

dav(s, "MKCOL", "/radicale/alice/work/", MKCALENDAR, headers=ALICE, step="mkcol-calendar",
    expect=201)
dav(s, "MKCOL", "/radicale/alice/work/", MKCALENDAR, headers=ALICE, step="mkcol-again",
    expect=405)
ics = {"Content-Type": "text/calendar; charset=utf-8"}
s.request("PUT", "/radicale/alice/work/event1.ics", body=EVENT % "Planning",
          headers=dict(ALICE, **ics), step="put-event", expect=201)
s.get("/radicale/alice/work/event1.ics", headers=ALICE, step="get-event", expect=200)
s.head("/radicale/alice/work/event1.ics", headers=ALICE, step="head-event", expect=200)
s.request("PUT", "/radicale/alice/work/event1.ics", body=EVENT % "Planning, moved",
          headers=dict(ALICE, **{"If-Match": '"not-the-etag"'}, **ics),
          step="put-stale-etag", expect=412)
etag = s.get("/radicale/alice/work/event1.ics", headers=ALICE, step="get-for-etag",
             expect=200).header("etag")
s.request("PUT", "/radicale/alice/work/event1.ics", body=EVENT % "Planning, moved",
          headers=dict(ALICE, **{"If-Match": etag}, **ics), step="put-matching-etag",
          expect=204)
s.request("PUT", "/radicale/alice/work/bad.ics", body="not a calendar",
          headers=dict(ALICE, **ics), step="put-invalid", expect=400)
dav(s, "PROPFIND", "/radicale/alice/work/", PROPFIND, headers=dict(ALICE, Depth="1"),
    step="propfind-calendar", expect=207)
dav(s, "REPORT", "/radicale/alice/work/", CALENDAR_QUERY, headers=dict(ALICE, Depth="1"),
    step="report-query", expect=207)
dav(s, "REPORT", "/radicale/alice/work/", MULTIGET, headers=dict(ALICE, Depth="1"),
    step="report-multiget", expect=207)
dav(s, "REPORT", "/radicale/alice/work/", SYNC, headers=ALICE, step="report-sync",
    expect=207)
dav(s, "PROPPATCH", "/radicale/alice/work/", PROPPATCH, headers=ALICE, step="proppatch",
    expect=207)
s.get("/radicale/alice/work/", headers=ALICE, step="get-calendar", expect=200)

# Another user: refused.
dav(s, "PROPFIND", "/radicale/alice/work/", PROPFIND, headers=dict(BOB, Depth="1"),
    step="bob-propfind-alice", expect=403)
s.get("/radicale/alice/work/event1.ics", headers=BOB, step="bob-get-alice-event", expect=403)
s.request("PUT", "/radicale/alice/work/bob.ics", body=EVENT % "Bob was here",
          headers=dict(BOB, **ics), step="bob-put-alice", expect=403)
dav(s, "PROPFIND", "/radicale/bob/", PROPFIND, headers=dict(BOB, Depth="1"),
    step="bob-propfind-own", expect=207)

# Move, delete.
s.request("MOVE", "/radicale/alice/work/event1.ics",
          headers=dict(ALICE, Destination="http://127.0.0.1:%d/radicale/alice/work/moved.ics"
                       % PORT),
          step="move-event", expect=201)
s.get("/radicale/alice/work/event1.ics", headers=ALICE, step="get-moved-away", expect=404)
s.request("DELETE", "/radicale/alice/work/moved.ics", headers=ALICE, step="delete-event",
          expect=200)
s.get("/radicale/alice/work/moved.ics", headers=ALICE, step="get-deleted", expect=404)

# An address book.
dav(s, "MKCOL", "/radicale/alice/contacts/", MKADDRESSBOOK, headers=ALICE,
    step="mkcol-addressbook", expect=201)
s.request("PUT", "/radicale/alice/contacts/carol.vcf", body=VCARD,
          headers=dict(ALICE, **{"Content-Type": "text/vcard; charset=utf-8"}),
          step="put-vcard", expect=201)
s.get("/radicale/alice/contacts/carol.vcf", headers=ALICE, step="get-vcard", expect=200)
s.request("DELETE", "/radicale/alice/contacts/", headers=ALICE, step="delete-addressbook",
          expect=200)
dav(s, "PROPFIND", "/radicale/alice/", PROPFIND, headers=dict(ALICE, Depth="1"),
    step="propfind-home-end", expect=207)

s.environ("/__probe__/x?y=1", step="probe", headers=ALICE)
