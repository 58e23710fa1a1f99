# Sourced by scripts/python/pythons.sh: a free-threaded CPython 3.13 (3.13t: built with
# --disable-gil), which no package this machine can install provides. Built once per
# machine from Debian's source of python3.13 (the upstream tarball, checked against the
# package's .dsc), about 6 minutes on 2 cores, into $RWSGI_PYTHON_STAGE/3.13t; a stamp holds
# the hash of the recipe's inputs, so changing them rebuilds.
#
# build_free_threaded prints the interpreter's path, or nothing (saying why on stderr).
# Callers at the same time wait for one build (scripts/test.sh starts it early, in the
# background).

RWSGI_FT_VERSION=3.13.15
RWSGI_FT_DEBIAN=http://deb.debian.org/debian/pool/main/p/python3.13
# What CPython's optional modules need (ssl, ctypes, sqlite3, …), and patchelf-free
# rpath handling via LDFLAGS.
# Changing how it is built: count this up, so machines build it again.
RWSGI_FT_RECIPE=1
RWSGI_FT_PACKAGES="build-essential pkg-config libssl-dev libffi-dev zlib1g-dev libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev uuid-dev xz-utils"

build_free_threaded() {
    (
        flock 9
        build_free_threaded_locked
    ) 9>/var/lock/rwsgi-python-3.13t.lock
}

build_free_threaded_locked() {
    local stage="$RWSGI_PYTHON_STAGE/3.13t"
    local recipe
    recipe=$(echo "$RWSGI_FT_RECIPE $RWSGI_FT_VERSION $RWSGI_FT_PACKAGES" | sha256sum | cut -c1-16)
    if [ -f "$stage/.staged" ] && [ "$(cat "$stage/.staged")" = "$recipe" ]; then
        echo "$stage/bin/python3.13t"
        return
    fi
    ensure_these_packages $RWSGI_FT_PACKAGES >&2
    local work
    work=$(mktemp -d /var/tmp/rwsgi-python-3.13t.XXXXXX)
    local orig="python3.13_$RWSGI_FT_VERSION.orig.tar.xz"
    local dsc="python3.13_$RWSGI_FT_VERSION-1.dsc"
    if ! curl -fsS -o "$work/$dsc" "$RWSGI_FT_DEBIAN/$dsc" ||
        ! curl -fsS -o "$work/$orig" "$RWSGI_FT_DEBIAN/$orig"; then
        echo "rwsgi: cannot download Python $RWSGI_FT_VERSION's source from $RWSGI_FT_DEBIAN" >&2
        rm -rf "$work"
        return 0
    fi
    local want got
    want=$(awk '/^Checksums-Sha256:/ {f = 1; next} f && $3 == "'"$orig"'" {print $1; exit}' "$work/$dsc")
    got=$(sha256sum "$work/$orig" | cut -d' ' -f1)
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        echo "rwsgi: $orig: sha256 $got, but $dsc says '$want'" >&2
        rm -rf "$work"
        return 0
    fi
    echo "rwsgi: building free-threaded Python $RWSGI_FT_VERSION (3.13t) into $stage (about 6 minutes)" >&2
    mkdir "$work/src"
    tar xf "$work/$orig" -C "$work/src" --strip-components=1
    as_root rm -rf "$stage"
    if ! (cd "$work/src" &&
        ./configure --disable-gil --enable-shared --with-ensurepip=install --prefix="$stage" \
            LDFLAGS="-Wl,-rpath,$stage/lib" >"$work/configure.log" 2>&1 &&
        nice make -j"$(nproc)" >"$work/make.log" 2>&1 &&
        as_root make install >"$work/install.log" 2>&1); then
        tail -20 "$work"/*.log >&2
        echo "rwsgi: building Python 3.13t failed (logs in $work)" >&2
        return 0
    fi
    as_root chmod -R a+rX "$stage"
    echo "$recipe" | as_root tee "$stage/.staged" >/dev/null
    rm -rf "$work"
    echo "$stage/bin/python3.13t"
}
