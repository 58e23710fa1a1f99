# Two projects, each with a page naming its own settings module.
for name in one two; do
    mkdir -p "$name"
    "$VENV_DJANGO/bin/django-admin" startproject "$name" "$name"
    sed -i "s/^SECRET_KEY = .*/SECRET_KEY = 'conformance-$name'/" "$name/$name/settings.py"
    cat >> "$name/$name/settings.py" <<PY
DEBUG = False
ALLOWED_HOSTS = ["*"]
SITE_TITLE = "site $name"
PY
    cat > "$name/$name/urls.py" <<PY
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

urlpatterns = [
    path("", lambda request: HttpResponse(
        "%s (settings %s)" % (settings.SITE_TITLE, settings.SETTINGS_MODULE),
        content_type="text/plain")),
]
PY
done
