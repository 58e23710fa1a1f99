cp "$CONFORMANCE/probe.wsgi" probe.wsgi
