source "$CONFORMANCE/apps/django-site/make-site.sh"
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
