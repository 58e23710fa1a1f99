#!/usr/bin/env bash
# Runs every test: unit tests of the pure logic, integration tests that start real Apache
# servers (event, worker and prefork MPMs) with the built module (the embedded-mode ones a
# second time in sub-interpreters), the differential suite against mod_wsgi 6.1.1 itself
# (tests/conformance.rs: real applications from PyPI, built once per machine by
# scripts/conformance/prepare.sh), the pip route and the
# other Pythons' wheels (scripts/python/test.sh; RWSGI_SKIP_PYTHONS=1 skips it), the Windows
# build with its tests under wine (scripts/windows/test.sh; RWSGI_SKIP_WINDOWS=1 skips it),
# and the Docker image with its tests against a real Docker engine (docker/test.sh;
# RWSGI_SKIP_DOCKER=1 skips it). Installs what it needs (docs/testing.md lists it all).
# Ends with one summary line per part, the parts that failed, and the grand total
# (`N passed, N failed`) as its last line.
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
# The other parts, each printing its own "<part>: N passed, N failed" line last.
summaries=()
failed_parts=()
run_part() {
    local name=$1 out
    shift
    out="$(mktemp)"
    "$@" 2>&1 | tee "$out"
    local code=${PIPESTATUS[0]}
    local line
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -1)
    if [ -z "$line" ] && [ "$code" -eq 0 ]; then
        # A part that could not run here says why ("docker: skipped: ...").
        line=$(grep -E "^$name: skipped" "$out" | tail -1)
    fi
    rm -f "$out"
    if [ -z "$line" ]; then
        line="$name: 0 passed, 1 failed (it stopped before its summary, exit status $code)"
    fi
    summaries+=("$line")
    [ "$code" -eq 0 ] || failed_parts+=("$name")
}
[ "${RWSGI_SKIP_PYTHONS:-0}" = 1 ] || run_part python ./scripts/python/test.sh
[ "${RWSGI_SKIP_WINDOWS:-0}" = 1 ] || run_part windows ./scripts/windows/test.sh
[ "${RWSGI_SKIP_DOCKER:-0}" = 1 ] || run_part docker ./docker/test.sh
set -e
cargo_line=$(awk '/^test result:/ {p += $4; f += $6; i += $8} END {printf "cargo: %d passed, %d failed, %d ignored\n", p, f, i}' "$log")
[ "$status" -eq 0 ] || failed_parts=(cargo "${failed_parts[@]}")
# The summary: one line per part, the parts that failed, and the grand total last (CI reads
# it).
echo
echo "==== rwsgi test summary ===="
printf '%s\n' "$cargo_line" "${summaries[@]}"
if [ ${#failed_parts[@]} -gt 0 ]; then
    echo "failed parts: ${failed_parts[*]}"
else
    echo "failed parts: none"
fi
printf '%s\n' "$cargo_line" "${summaries[@]}" | awk '
    { for (i = 1; i < NF; i++) { if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i } }
    END { printf "%d passed, %d failed\n", p, f }'
[ ${#failed_parts[@]} -eq 0 ]
