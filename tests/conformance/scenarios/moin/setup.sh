# A MoinMoin 2 wiki as its docs make one (https://moin-20.readthedocs.io/en/latest/admin/
# quickinstall.html, "create-instance --full": wikiconfig.py, the data and index under wiki/,
# the help items and Home loaded), set up as its wikiconfig.py's docstring says for a wiki
# whose editors log in (the superuser, known users may edit, self-registration open, no edit
# locks), a fixed SECRET_KEY, the superuser's account with a fixed password, and the
# shipped mod_wsgi driver, contrib/wsgi/moin2wsgi.py, copied beside wikiconfig.py as its
# docstring says. Run once in the site directory, as root.
set -euo pipefail
moin="$VENV_MOIN/bin/moin"
mkdir wiki-root
cd wiki-root
# --full and --path exclude each other: it makes the instance in the current directory.
"$moin" create-instance --full >/dev/null 2>&1
sed -i \
    -e 's/YOUR-SUPER-EDITOR:/WikiAdmin:/' \
    -e 's/YOUR-TRUSTED-EDITORS-GROUP:/Known:/' \
    -e 's/^\(\s*acl_functions = \)"YOUR-SUPER-USER-NAME:superuser"/\1"WikiAdmin:superuser"/' \
    -e 's/^\(\s*registration_only_by_superuser = \)True\(  #\)/\1False\2/' \
    -e 's/^\(\s*edit_locking_policy = \)"lock"/\1None/' \
    -e 's/^SECRET_KEY = .*/SECRET_KEY = "conformance-not-secret"/' \
    wikiconfig.py
if grep -q "^[^#]*YOUR-\|WARNING: set this" wikiconfig.py; then exit 1; fi
moin_pkg="$VENV_MOIN/lib/python3.11/site-packages/moin"
cp "$moin_pkg/contrib/wsgi/moin2wsgi.py" .
# Logging: moin's default writes each line to stderr (Apache's error log) with its own
# time, so no two runs log the same lines. The docs' way to configure it ("Logging
# Configuration", https://moin-20.readthedocs.io/en/latest/admin/configure.html: a separate
# file, loaded early from the adaptor script with log.load_config) with the shipped
# contrib/logging/stderr sample, its format without %(asctime)s (the error log has the time).
sed 's/^format=%(asctime)s /format=/' "$moin_pkg/contrib/logging/stderr" > logging.conf
grep -q '^format=%(name)s' logging.conf
sed -i 's|^from moin.app import create_app$|from moin import log\nlog.load_config(os.path.join(os.path.dirname(os.path.abspath(__file__)), "logging.conf"))\n\n&|' moin2wsgi.py
grep -q '^log.load_config' moin2wsgi.py
# The footer says how long each page took to render ("Page: 12.34 ms"), which changes every
# body and its Content-Length from run to run: a copy of snippets.html in wiki_local without
# it (the docs' "Using a custom snippets.html template" and "Credits and Credit Logos").
perl -0pe 's/\n\s*\{\{ sep \}\}\n\s*Page: \{\{[^\n]*\n/\n/' "$moin_pkg/templates/snippets.html" \
    > wiki_local/snippets.html
if grep -q 'Page: {{' wiki_local/snippets.html; then exit 1; fi
"$moin" account-create -n WikiAdmin -e admin@example.com -p 'Adm1n-Passw0rd!' >/dev/null 2>&1
cd ..
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes the items, the index and the wiki's caches.
chown -R www-data: wiki-root
