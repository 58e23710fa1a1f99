# Flask's tutorial app (flaskr) from the Flask sdist, set up as its README says
# (`flask --app flaskr init-db`), with the .wsgi file of Flask's mod_wsgi page.
set -euo pipefail
cp -r "$SDISTS/flask-3.1.3/examples/tutorial" flaskr
cd flaskr
# The tutorial's instance config: a fixed SECRET_KEY (the default is "dev"; the README
# tells you to set your own), the same for both servers.
mkdir -p instance
echo "SECRET_KEY = 'conformance-not-secret'" > instance/config.py
"$VENV_FLASK/bin/flask" --app flaskr init-db
cat > flaskr.wsgi <<PY
import sys
sys.path.insert(0, '$SITE/flaskr')

from flaskr import create_app
application = create_app()
PY
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes the database, and its journal beside it.
chown -R www-data: instance
