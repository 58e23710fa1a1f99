#!/usr/bin/env bash
# Runs every test, in parts (docs/testing.md lists what each checks and installs):
#  - cargo: unit tests, and integration tests that start real Apache servers with the built
#    module, the embedded-mode ones a second time in sub-interpreters, and the differential
#    suite against mod_wsgi 6.1.1 itself (scripts/cargo-tests.sh; arguments to this script
#    go to `cargo test` as a filter);
#  - python: the pip route and the other Pythons' wheels (scripts/python/test.sh;
#    RWSGI_SKIP_PYTHONS=1 skips it);
#  - windows: the Windows build and its tests under wine (scripts/windows/test.sh;
#    RWSGI_SKIP_WINDOWS=1 skips it);
#  - sid: Python 3.14 and 3.15 with Debian sid's Apache, in a sid root file system
#    (scripts/sid/test.sh; RWSGI_SKIP_SID=1 skips it);
#  - docker: the image and its tests against a real Docker engine (docker/test.sh;
#    RWSGI_SKIP_DOCKER=1 skips it).
# What later parts need that takes long to make once per machine (a free-threaded CPython
# built from source, the sid root file system) is made in the background from the start.
# Installs what it needs. Ends with one summary line per part, the parts that failed, and
# the grand total (`N passed, N failed`) as its last line; see scripts/summary.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/summary.sh
ensure_packages
prepare_in_background
run_part cargo ./scripts/cargo-tests.sh "$@"
[ "${RWSGI_SKIP_PYTHONS:-0}" = 1 ] || run_part python ./scripts/python/test.sh
[ "${RWSGI_SKIP_SID:-0}" = 1 ] || run_part sid ./scripts/sid/test.sh
[ "${RWSGI_SKIP_WINDOWS:-0}" = 1 ] || run_part windows ./scripts/windows/test.sh
[ "${RWSGI_SKIP_DOCKER:-0}" = 1 ] || run_part docker ./docker/test.sh
print_summary
