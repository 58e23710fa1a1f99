# Makes the Django project the django scenarios deploy, as Django's tutorial and deployment
# docs have one: `django-admin startproject mysite` in mysite.com/, an app with an upload
# form, the admin, collected static files, users. Sourced by a scenario's setup.sh with
# $VENV_DJANGO and $CONFORMANCE set, in the scenario's site directory.
set -euo pipefail
here="$CONFORMANCE/apps/django-site"
python="$VENV_DJANGO/bin/python"
mkdir -p mysite.com
cd mysite.com
"$VENV_DJANGO/bin/django-admin" startproject mysite .
# The generated SECRET_KEY is random: one for both servers (the site is made once), and
# the one the tests use.
sed -i "s/^SECRET_KEY = .*/SECRET_KEY = 'conformance-not-secret'/" mysite/settings.py
cp -r "$here/uploads" .
mkdir -p uploads/migrations
touch uploads/migrations/__init__.py
cp "$here/urls.py" mysite/urls.py
cat "$here/settings-additions.py" >> mysite/settings.py
"$python" manage.py makemigrations uploads -v 0
"$python" manage.py migrate -v 0
"$python" manage.py collectstatic --noinput -v 0
DJANGO_SUPERUSER_PASSWORD=adminpass "$python" manage.py createsuperuser --noinput \
    --username admin --email admin@example.com
"$python" manage.py shell -c "
from django.contrib.auth.models import Group, User
agents, _ = Group.objects.get_or_create(name='secret-agents')
User.objects.create_user('agent', 'agent@example.com', 'agentpass').groups.add(agents)
User.objects.create_user('plain', 'plain@example.com', 'plainpass')
"
printf 'User-agent: *\nDisallow: /admin/\n' > static/robots.txt
printf 'not really an icon\n' > static/favicon.ico
mkdir -p media
# The daemon (Apache's user) writes the database (and its journal beside it) and uploads.
chown www-data: . db.sqlite3 media
cd ..
