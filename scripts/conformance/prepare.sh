#!/usr/bin/env bash
# Builds what tests/conformance.rs compares rwsgi with, once per machine: mod_wsgi 6.1.1 from
# its PyPI source for Debian's Python (the one rwsgi's module is built for), and a virtual
# environment per scenario family with the real applications from PyPI
# (scripts/conformance/requirements-<name>.txt). Everything goes under
# /opt/rwsgi-conformance/<hash of this recipe>, readable by Apache's user, and is reused while
# the recipe is unchanged (the first run takes a few minutes).
#
# Prints KEY=VALUE lines: MOD_WSGI=<module file>, VENV_<NAME>=<venv> (progress goes to stderr).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
# graphite-web draws its PNGs with cairo; Trac's login uses an htpasswd file.
ensure_these_packages libcairo2 apache2-utils >&2
python=${RWSGI_CONFORMANCE_PYTHON:-/usr/bin/python3}
hash=$(cat scripts/conformance/prepare.sh scripts/conformance/requirements-*.txt \
    <("$python" -VV) | sha256sum | cut -c1-16)
base=/opt/rwsgi-conformance/$hash
mkdir -p /opt/rwsgi-conformance
exec 9>/opt/rwsgi-conformance/.lock
flock 9
if [ ! -e "$base/.complete" ]; then
    # Earlier recipes' builds are not needed any more.
    find /opt/rwsgi-conformance -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
    mkdir -p "$base"
    started=$(date +%s)
    echo "conformance: building mod_wsgi 6.1.1 and the applications' environments in $base" >&2
    "$python" -m venv "$base/mod_wsgi"
    # The local wheel cache may hold a mod_wsgi built for another Python: build from source.
    env -u PIP_FIND_LINKS "$base/mod_wsgi/bin/pip" install -q --disable-pip-version-check \
        --no-binary mod_wsgi mod_wsgi==6.1.1 >&2
    for req in scripts/conformance/requirements-*.txt; do
        name=$(basename "$req" .txt)
        name=${name#requirements-}
        "$python" -m venv "$base/$name"
        # GRAPHITE_NO_PREFIX: graphite-web installs into the venv, not /opt/graphite.
        GRAPHITE_NO_PREFIX=True "$base/$name/bin/pip" install -q \
            --disable-pip-version-check -r "$req" >&2
    done
    # Applications that projects ship inside their source distributions: Flask's tutorial
    # (flaskr), Pyramid's wiki2 tutorial project (installed into its venv, as the tutorial
    # does), Mercurial's contrib/hgweb.wsgi.
    mkdir -p "$base/sdists"
    for sdist in Flask==3.1.3 pyramid==2.1 mercurial==7.2.4; do
        "$base/flask/bin/pip" download -q --disable-pip-version-check --no-binary :all: \
            --no-deps -d "$base/sdists" "$sdist" >&2
    done
    for archive in "$base"/sdists/*.tar.gz; do
        tar -xzf "$archive" -C "$base/sdists"
    done
    "$base/pyramid/bin/pip" install -q --disable-pip-version-check --no-deps \
        "$base"/sdists/pyramid-2.1/docs/tutorials/wiki2/src/tests >&2
    chmod -R a+rX "$base"
    touch "$base/.complete"
    echo "conformance: ready in $(($(date +%s) - started)) s" >&2
fi
# mod_wsgi puts its daemon sockets in Debian's run directory, which apache2ctl (not the
# plain apache2 the tests start) creates.
mkdir -p /var/run/apache2
module=$(ls "$base"/mod_wsgi/lib/python3*/site-packages/mod_wsgi/server/mod_wsgi-py*.so)
echo "MOD_WSGI=$module"
echo "SDISTS=$base/sdists"
for venv in "$base"/*/; do
    name=$(basename "$venv")
    [ "$name" = mod_wsgi ] || [ "$name" = sdists ] && continue
    echo "VENV_$(echo "$name" | tr 'a-z-' 'A-Z_')=${venv%/}"
done
