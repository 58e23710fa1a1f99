#!/usr/bin/env bash
# Quick start: builds rwsgi and serves examples/hello/wsgi.py on http://localhost:8000 with
# `rwsgi-express start-server`, in the foreground (Ctrl-C stops it).
# Environment: PORT (8000), APP (the WSGI script), MPM (worker). Other arguments are passed
# to rwsgi-express (see `target/release/rwsgi-express start-server --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
app="$(realpath "${APP:-examples/hello/wsgi.py}")"
# As root, Apache's children run as www-data, which cannot enter a checkout in a private
# home directory: serve a world-readable copy of the app.
stage="$(mktemp -d /tmp/rwsgi-example-XXXXXX)"
cp "$app" "$stage/wsgi.py"
chmod -R a+rX "$stage"
exec target/release/rwsgi-express start-server "$stage/wsgi.py" \
    --working-directory "$stage" --port "${PORT:-8000}" --server-mpm "${MPM:-worker}" \
    --log-to-terminal --access-log "$@"
