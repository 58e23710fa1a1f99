#!/usr/bin/env bash
# The cargo part of the test run: `cargo test` over the workspace (arguments go to it), the
# module's and the runtime's unit tests, then the embedded-mode suites again with every
# application in a sub-interpreter, and the daemon suites again with exec'd daemons. Ends
# with "cargo: N passed, N failed, N ignored" over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
# Other Pythons than the module's, for the daemon groups exec'd into them (tests/launch.rs):
# pyenv's 3.12 and 3.13, staged where Apache's user can read them, where this machine has
# them (tests/launch.rs says when it has none). A group on the free-threaded 3.13t runs
# when it is built (scripts/python/test.sh runs that test again once it is).
. scripts/lib.sh
. scripts/python/pythons.sh
others=""
for v in 3.12 3.13; do
    py=$(python_for "$v")
    [ -n "$py" ] && others="$others $py"
done
export RWSGI_TEST_OTHER_PYTHONS="${RWSGI_TEST_OTHER_PYTHONS:-$others}"
# `cargo test` does not refresh the cdylib the Apache tests load: build it first.
cargo build --workspace || status=1
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# The module's and the runtime's own unit tests (their crates have `test = false`, so
# `cargo test --workspace` leaves them out; they link without Apache), and the
# embedded-mode suites again with
# every application in a sub-interpreter (the harness gives the main interpreter to another
# group: the sub-interpreters' own WSGI objects). Both skipped when a filter was given.
if [ $# -eq 0 ]; then
    cargo test -p rwsgi --lib --no-fail-fast 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    cargo test -p rwsgi-runtime --lib --no-fail-fast 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    RWSGI_TEST_SUBINTERPRETERS=1 cargo test -p rwsgi --no-fail-fast --test embedded \
        --test bodies --test errors --test frameworks --test events 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    # The suites with daemon groups again, each group exec'd into the test Python with
    # rwsgi's daemon runtime (the launch style of groups on another Python).
    RWSGI_TEST_LAUNCH=exec cargo test -p rwsgi --no-fail-fast --test daemon --test app_groups \
        --test events --test changes --test deployments --test auth --test dispatch 2>&1 |
        tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
awk '/^test result:/ {p += $4; f += $6; i += $8}
     END {printf "cargo: %d passed, %d failed, %d ignored\n", p, f, i}' "$log"
exit $status
