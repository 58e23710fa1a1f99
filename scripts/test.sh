#!/usr/bin/env bash
# Runs every test: unit tests of the pure logic, integration tests that start real Apache
# servers (event, worker and prefork MPMs) with the built module (the embedded-mode ones a
# second time in sub-interpreters), the differential suite against mod_wsgi 6.1.1 itself
# (tests/conformance.rs: real applications from PyPI, built once per machine by
# scripts/conformance/prepare.sh), the pip route and the
# other Pythons' wheels (scripts/python/test.sh; RWSGI_SKIP_PYTHONS=1 skips it), the Windows
# build with its tests under wine (scripts/windows/test.sh; RWSGI_SKIP_WINDOWS=1 skips it),
# and the Docker image with its tests against a real Docker engine (docker/test.sh;
# RWSGI_SKIP_DOCKER=1 skips it). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages
# `cargo test` does not refresh the cdylib the Apache tests load: build it first.
cargo build --workspace
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The embedded-mode suites again with every application in a sub-interpreter (the harness
# gives the main interpreter to another group): the sub-interpreters' own WSGI objects.
if [ $# -eq 0 ]; then
    RWSGI_TEST_SUBINTERPRETERS=1 cargo test -p rwsgi --no-fail-fast --test embedded \
        --test bodies --test errors --test frameworks --test events 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
pythons=0
if [ "${RWSGI_SKIP_PYTHONS:-0}" != 1 ]; then
    ./scripts/python/test.sh
    pythons=$?
fi
windows=0
if [ "${RWSGI_SKIP_WINDOWS:-0}" != 1 ]; then
    ./scripts/windows/test.sh
    windows=$?
fi
docker=0
if [ "${RWSGI_SKIP_DOCKER:-0}" != 1 ]; then
    ./docker/test.sh
    docker=$?
fi
set -e
# One closing line over every test binary (the Python, Windows and Docker tests printed their
# own).
awk '/^test result:/ {p += $4; f += $6; i += $8} END {printf "%d passed, %d failed, %d ignored\n", p, f, i}' "$log"
[ "$status" -eq 0 ] && [ "$pythons" -eq 0 ] && [ "$windows" -eq 0 ] && [ "$docker" -eq 0 ]
