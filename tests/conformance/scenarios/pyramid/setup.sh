# Pyramid's wiki2 tutorial project (installed into the venv by prepare.sh), its database
# made as the tutorial says (`alembic -c production.ini upgrade head`, then
# `initialize_tutorial_db production.ini`: users editor/editor and basic/basic, and the
# FrontPage), and the pyramid.wsgi of Pyramid's mod_wsgi page.
set -euo pipefail
src="$SDISTS/pyramid-2.1/docs/tutorials/wiki2/src/tests"
mkdir myproject
cp -r "$src"/. myproject/
# What pip left in the sdist when it installed the project.
rm -rf myproject/build myproject/tutorial.egg-info
cd myproject
"$VENV_PYRAMID/bin/alembic" -c production.ini upgrade head
"$VENV_PYRAMID/bin/initialize_tutorial_db" production.ini
cat > pyramid.wsgi <<PY
from pyramid.paster import get_app, setup_logging
ini_path = '$SITE/myproject/production.ini'
setup_logging(ini_path)
application = get_app(ini_path, 'main')
PY
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes the database (sqlite:///%(here)s/tutorial.sqlite), and
# its journal beside it.
chown www-data: . tutorial.sqlite
