#!/usr/bin/env bash
# Runs every test: unit tests of the pure logic and integration tests that start real Apache
# servers (event, worker and prefork MPMs) with the built module. Installs what it needs.
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
set -e
# One closing line over every test binary.
awk '/^test result:/ {p += $4; f += $6; i += $8} END {printf "%d passed, %d failed, %d ignored\n", p, f, i}' "$log"
exit "$status"
