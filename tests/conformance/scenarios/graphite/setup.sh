# graphite-web 1.1.10's instance as its install docs lay one out under GRAPHITE_ROOT
# (https://graphite.readthedocs.io/en/1.1.10/install.html, config-local-settings.html), here
# the scenario's site: conf/graphite.wsgi, webapp/ (what the vhost's graphite.wsgi puts on
# sys.path: the local settings), storage/ (the database, whisper files, logs), static/ (the
# collected static files Apache serves).
set -euo pipefail
python="$VENV_GRAPHITE/bin/python"
mkdir -p conf webapp storage/log/webapp storage/whisper
# conf/graphite.wsgi.example as shipped, with its "multi-instance" lines uncommented to name
# this instance's settings module, and the webapp path of this site.
sed -e "s|^# import os|import os|" \
    -e "s|^# os.environ\['GRAPHITE_SETTINGS_MODULE'\] = 'graphite.local_settings'|os.environ['GRAPHITE_SETTINGS_MODULE'] = 'local_settings'|" \
    -e "s|/opt/graphite/webapp|$SITE/webapp|" \
    "$VENV_GRAPHITE/conf/graphite.wsgi.example" > conf/graphite.wsgi
grep -q "^os.environ\['GRAPHITE_SETTINGS_MODULE'\] = 'local_settings'" conf/graphite.wsgi
cat > webapp/local_settings.py <<PY
# local_settings.py (https://graphite.readthedocs.io/en/1.1.10/config-local-settings.html)
SECRET_KEY = 'conformance-not-secret'
TIME_ZONE = 'UTC'
GRAPHITE_ROOT = '$SITE'
# The pip install (GRAPHITE_NO_PREFIX) puts webapp/content under the venv: settings.py
# derives STATICFILES_DIRS from WEBAPP_DIR after importing this file.
WEBAPP_DIR = '$VENV_GRAPHITE/webapp'
CONF_DIR = '$SITE/conf'
STORAGE_DIR = '$SITE/storage'
STATIC_ROOT = '$SITE/static'
LOG_DIR = '$SITE/storage/log/webapp'
INDEX_FILE = '$SITE/storage/index'
DATABASES = {
    'default': {
        'NAME': '$SITE/storage/graphite.db',
        'ENGINE': 'django.db.backends.sqlite3',
        'USER': '', 'PASSWORD': '', 'HOST': '', 'PORT': '',
    }
}
PY
export GRAPHITE_SETTINGS_MODULE=local_settings PYTHONPATH="$SITE/webapp"
admin() { "$VENV_GRAPHITE/bin/django-admin" "$@" --settings=graphite.settings; }
admin migrate -v 0
admin collectstatic --noinput -v 0
DJANGO_SUPERUSER_PASSWORD=adminpass admin createsuperuser --noinput \
    --username admin --email admin@example.com
# Whisper files with fixed timestamps (two days of hourly points from 2024-01-01 00:00 UTC),
# kept for 20 years so that a render of those days does not depend on today's date.
"$python" - <<'PY'
import os
import whisper

start = 1704067200  # 2024-01-01T00:00:00Z
for name, f in (("servers/web1/cpu", lambda i: (i * 7) % 23),
                ("servers/web2/cpu", lambda i: (i * 5) % 17 + 0.5),
                ("servers/web1/load", lambda i: i / 4.0)):
    path = "storage/whisper/%s.wsp" % name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(3600, 24 * 365 * 20)])
    whisper.update_many(path, [(start + i * 3600, f(i)) for i in range(48)])
PY
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes the database (and its journal beside it) and the logs.
chown -R www-data: storage
