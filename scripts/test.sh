#!/usr/bin/env bash
# Runs every test: unit tests of the pure logic and integration tests that start real Apache
# servers (event, worker and prefork MPMs) with the built module. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages
# `cargo test` does not refresh the cdylib the Apache tests load: build it first.
cargo build
cargo test --workspace --no-fail-fast "$@"
