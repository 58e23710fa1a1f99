#!/usr/bin/env bash
# Builds mod_rwsgi.so and rwsgi-express (release) into target/, installing build dependencies
# first. Python: PYO3_PYTHON (default /usr/bin/python3, see .cargo/config.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages
cargo build --release --workspace
cp target/release/libmod_rwsgi.so target/mod_rwsgi.so
echo "rwsgi: built $(pwd)/target/mod_rwsgi.so and $(pwd)/target/release/rwsgi-express"
