# Sourced by the Python-version scripts (scripts/python/test.sh, bench/run.sh): the Pythons
# rwsgi is built and tested for, each where Apache's unprivileged user can read it.
#
#   3.11: Debian's /usr/bin/python3.
#   3.13t: free-threaded 3.13, built here from source (scripts/python/free-threaded.sh).
#   3.12, 3.13: pyenv's (shared libpython), when the machine has them. pyenv lives in
#   root's home, which is mode 0700, so a copy is staged in /opt/rwsgi-python/X.Y and made
#   to stand on its own: the paths Python recorded at build time (sysconfig, which pyo3
#   reads to link libpython) and its executable's library path point at the copy.
#
# python_for X.Y prints the interpreter's path, or nothing when that version is missing.

RWSGI_PYTHON_VERSIONS="${RWSGI_PYTHON_VERSIONS:-3.11 3.12 3.13 3.13t}"
RWSGI_PYTHON_STAGE="${RWSGI_PYTHON_STAGE:-/opt/rwsgi-python}"
. "$(dirname "${BASH_SOURCE[0]}")/free-threaded.sh"

python_for() {
    local v=$1
    if [ "$v" = 3.13t ]; then
        build_free_threaded
        return
    fi
    if [ "$v" = "$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ]; then
        echo /usr/bin/python3
        return
    fi
    local stage="$RWSGI_PYTHON_STAGE/$v"
    if [ -f "$stage/.staged" ]; then
        echo "$stage/bin/python$v"
        return
    fi
    local root src
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    src=$(ls -d "$root/versions/$v".* 2>/dev/null | sort -V | tail -1)
    [ -n "$src" ] && [ -x "$src/bin/python$v" ] || return 0
    "$src/bin/python$v" -c 'import sysconfig, sys; sys.exit(not sysconfig.get_config_var("Py_ENABLE_SHARED"))' ||
        return 0
    command -v patchelf >/dev/null || as_root apt-get install -y -qq patchelf >/dev/null
    as_root rm -rf "$stage"
    as_root mkdir -p "$RWSGI_PYTHON_STAGE"
    as_root cp -a "$src" "$stage"
    as_root chmod 755 "$RWSGI_PYTHON_STAGE"
    # Python's record of where it was built, and the executable's library path.
    as_root grep -rlF "$src" "$stage/lib/python$v/" "$stage/lib/pkgconfig" "$stage/bin" \
        --include='_sysconfigdata*.py' --include=Makefile --include='*.pc' --include="python$v-config" |
        while read -r f; do as_root sed -i "s|$src|$stage|g" "$f"; done
    as_root find "$stage/lib/python$v" -name '_sysconfigdata*.pyc' -delete
    as_root patchelf --set-rpath '$ORIGIN/../lib' "$stage/bin/python$v"
    as_root chmod -R a+rX "$stage"
    as_root touch "$stage/.staged"
    echo "$stage/bin/python$v"
}
