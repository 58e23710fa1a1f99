# A Trac environment as TracInstall makes one (initenv, then deploy for the WSGI script and
# the static files), an administrator, and the htpasswd file TracModWSGI's Basic
# authentication reads (fixed passwords). Run once in the site directory, as root.
set -euo pipefail
admin="$VENV_TRAC/bin/trac-admin"
"$admin" trac-env initenv "Conformance Project" sqlite:db/trac.db >/dev/null
"$admin" trac-env deploy trac-deploy >/dev/null
"$admin" trac-env permission add admin TRAC_ADMIN
htpasswd -cb trac.htpasswd admin adminpw 2>/dev/null
htpasswd -b trac.htpasswd john johnpw 2>/dev/null
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes the database, the log, attachments and the egg cache
# the generated script points at.
chown -R www-data: trac-env
