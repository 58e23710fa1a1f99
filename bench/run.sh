#!/usr/bin/env bash
# One command: builds rwsgi (release), installs the comparison servers into a venv made from
# the same Python (mod_wsgi built from source), runs every server with the same app and sizing
# under wrk, and writes bench/results/<date>.{md,png,json}. Extra arguments go to bench.py
# (e.g. --rounds 5 --duration 10, --only rwsgi-embedded modwsgi-embedded, --workloads hello).
# Each other Python of scripts/python/pythons.sh the machine has (BENCH_PYTHONS="" for none)
# gets a venv with rwsgi's wheel, installed by pip, and rows for hello in both modes and
# exec'd from the main module's Apache; 3.13t also the free-threading rows (cpu1ms). As
# root, Python 3.14 and 3.15 too, in the Debian sid root file system of scripts/sid/root.sh
# (BENCH_SID=0 leaves them out).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
RWSGI_PACKAGES="$RWSGI_PACKAGES wrk"
ensure_packages
python="${PYO3_PYTHON:-/usr/bin/python3}"
cargo build --release
# World-readable: Apache's children (www-data) import from it.
venv="${BENCH_VENV:-/var/tmp/rwsgi-bench-venv}"
if [ ! -x "$venv/bin/mod_wsgi-express" ] || [ ! -x "$venv/bin/granian" ]; then
    "$python" -m venv "$venv"
    # The local wheel cache may hold a mod_wsgi built for another Python: build from source.
    env -u PIP_FIND_LINKS "$venv/bin/pip" install -q --no-binary mod_wsgi \
        mod_wsgi uwsgi gunicorn granian flask matplotlib
fi
# rwsgi's own wheel, for its daemon runtime (rwsgi._daemon): the rwsgi-daemon-exec rows
# exec their group into this venv's interpreter.
"$venv/bin/pip" install -q --force-reinstall --no-deps .
chmod -R a+rX "$venv"
. scripts/python/pythons.sh
versions=()
for v in ${BENCH_PYTHONS-$RWSGI_PYTHON_VERSIONS}; do
    py=$(python_for "$v")
    [ -n "$py" ] && [ "$py" != "$python" ] || continue
    pv="$venv-py$v"
    [ -x "$pv/bin/python" ] || "$py" -m venv "$pv"
    "$pv/bin/pip" install -q flask
    # The pip route: the wheel is built for this Python (cargo's cache is target/wheel-pyX.Y).
    "$pv/bin/pip" install -q --force-reinstall --no-deps .
    chmod -R a+rX "$pv"
    versions+=(--python "$v=$pv")
done
# Python 3.14 and 3.15: Debian sid's, in the sid root file system of the sid test part
# (as root; BENCH_SID=0 for none), each with its wheel built there and Flask.
if [ "$(id -u)" = 0 ] && [ "${BENCH_SID:-1}" != 0 ]; then
    . scripts/sid/root.sh
    root=$(sid_root)
    for v in 3.14 3.15; do
        in_sid "$root" bash -c '
            set -e
            cd "$1"
            venv=/opt/rwsgi-bench-py$2
            [ -x "$venv/bin/python" ] || python$2 -m venv "$venv"
            "$venv/bin/pip" install -q flask
            CARGO_TARGET_DIR="$1/target/sid/cargo" "$venv/bin/pip" install -q --force-reinstall \
                --no-deps .
            chmod -R a+rX "$venv"
        ' sid "$PWD" "$v"
        versions+=(--sid-python "$v=$root:/opt/rwsgi-bench-py$v")
    done
fi
exec "$venv/bin/python" bench/bench.py --venv "$venv" --module target/release/libmod_rwsgi.so \
    "${versions[@]}" "$@"
