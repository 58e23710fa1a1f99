source "$CONFORMANCE/apps/django-site/make-site.sh"
# The page's wsgi.py, with the handlers imported once Django is set up: as printed (the
# import first), Django 5.2 raises AppRegistryNotReady (its auth handler looks the user
# model up at import).
cat > mysite.com/mysite/wsgi.py <<'PY'
import os

os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.contrib.auth.handlers.modwsgi import check_password, groups_for_user  # noqa: E402
PY
