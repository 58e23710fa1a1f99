cp "$CONFORMANCE/probe.wsgi" scripts/probe.wsgi
