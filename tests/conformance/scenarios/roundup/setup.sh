# Roundup 2.6.0's "Apache Alternate" layout (installation docs, "WSGI Variations"): the
# tracker instance "foo" in srv/roundup/foo (the classic template on sqlite, initialised
# with roundup-admin; read-only to the daemon), the daemon user's home
# home/roundup-foo with the writable `db` directory and a symbolic link `instance` to the
# tracker, and the page's enhanced roundup.wsgi in the tracker directory.
set -euo pipefail
admin="$VENV_ROUNDUP/bin/roundup-admin"
tracker="$SITE/srv/roundup/foo"
home="$SITE/home/roundup-foo"
mkdir -p "$(dirname "$tracker")" "$home/db"
# web: the client writes the URL Apache serves (its port is known once Apache runs) into
# config.ini before its first request; see client.py. mail: no SMTP, messages to a file.
# logging: to a file in the daemon's home, which the client reads (Roundup's lines carry
# times, request ids and session keys, which only the client can mask).
"$admin" -i "$tracker" install classic sqlite \
    "tracker_web=http://127.0.0.1:0/foo/,database=$home/db,mail_domain=example.com,mail_host=localhost,mail_debug=$home/sent-mail.txt,admin_email=roundup-admin@example.com,dispatcher_email=roundup-admin@example.com,logging_filename=$home/roundup.log" \
    > /dev/null
# The generated secret keys are random: fixed ones (the site is made once for both servers).
sed -i -e 's|^secret_key = .*|secret_key = Y29uZm9ybWFuY2Utbm90LXNlY3JldC1rZXktMDEyMzQ1Njc4OQ==|' \
    "$tracker/config.ini"
grep -q '^web = http://127.0.0.1:0/foo/$' "$tracker/config.ini"
grep -q "^database = $home/db\$" "$tracker/config.ini"
grep -q "^filename = $home/roundup.log\$" "$tracker/config.ini"
"$admin" -i "$tracker" initialise adminpw > /dev/null
"$admin" -i "$tracker" create user username=alice password=alicepw \
    address=alice@example.com roles=User > /dev/null
ln -s "$tracker" "$home/instance"
# The page's roundup.wsgi; its "directory with the roundup installation" is the venv's
# site-packages here.
site_packages=$("$VENV_ROUNDUP/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > "$tracker/roundup.wsgi" <<PY
import sys, os
sys.stdout = sys.stderr

enabled = True

if enabled:
    # Add the directory with the roundup installation
    # subdirectory to the python path.
    sys.path.insert(0, '$site_packages')

    # obtain the WSGI request dispatcher
    from roundup.cgi.wsgi_handler import RequestDispatcher

    tracker_home = os.path.join(os.getcwd(), 'instance')
    application = RequestDispatcher(tracker_home)
else:
    def application(environ, start_response):
        status = '503 Service Unavailable'
        output = 'service is down for maintenance'
        response_headers = [('Content-type', 'text/plain'),
                            ('Content-Length', str(len(output)))]
        start_response(status, response_headers)
        return [output]
PY
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user, standing in for roundup-foo) owns its home: the database, the
# files and messages, the debug mail file. The tracker's config.ini stays the admin's (the
# client, as root, writes the web URL into it).
chown -R www-data: "$home"
