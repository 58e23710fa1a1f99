#!/usr/bin/env bash
# The pip route, for each Python rwsgi supports (scripts/python/pythons.sh; the ones this
# machine lacks are skipped, saying so):
#  - `pip wheel .` builds the wheel with that Python;
#  - a fresh venv gets it with `pip install`, and Flask: module-location, module-config and
#    `rwsgi.module_config()` name the wheel's module and the venv; the wheel's daemon
#    runtime (`rwsgi._daemon`) imports and links no libpython;
#  - start-server as root with --user www-data serves the Flask app from the venv, with no
#    other flags, and SIGTERM stops it cleanly;
#  - one Apache with the first Python's module serves a daemon group from each Python's
#    venv (the others exec'd into their venvs' interpreters), each answering from its own,
#    and so does its rwsgi-express given the others' --python-home / --python-executable;
#  - `apache2 -t` refuses the wheel's module with a venv of another Python X.Y, naming both;
#  - start-server refuses a venv the unprivileged user cannot read, with the fix (once);
#  - the sdist builds and installs, and without apxs fails naming apache2-dev (once);
#  - for the Pythons other than Debian's, whose module the main suite tests, the wheel's
#    module passes the integration tests of embedded mode, daemon mode, request and response
#    bodies, broken applications, application groups, events, interpreter options and
#    free-threading (3.13t's runs without the GIL), and the daemon suites again with every
#    group exec'd into that Python;
#  - a group exec'd into 3.13t under Debian's Python's module runs free-threaded.
# Needs root (www-data, the staged Pythons). Prints "python: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
    echo "python: skipped: the tests run start-server as root (run ./scripts/python/test.sh as root)"
    exit 0
fi
. scripts/lib.sh
. scripts/python/pythons.sh
ensure_packages
# The integration tests load the module; their binaries come from the main build.
cargo build --workspace -q

. scripts/checks.sh

work=$(mktemp -d /tmp/rwsgi-python.XXXXXX)
chmod 755 "$work"
server_pid=""
cleanup() {
    set +e
    if [ -n "$server_pid" ]; then
        kill -INT "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (up to $2 s, as a last resort) until $1 answers; fails early when $3 (a pid) exits.
wait_for_url() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

mkdir -p "$work/app"
cat > "$work/app/wsgi.py" <<'PY'
import os
import sys

import flask

app = flask.Flask(__name__)


@app.route("/gil")
def gil():
    # False only on a free-threaded Python running without its GIL.
    return str(getattr(sys, "_is_gil_enabled", lambda: True)())


@app.route("/")
def which():
    # Flask from the venv's site-packages, not the system's; 3.13t for a free-threaded one.
    return "%d.%d%s %s flask-from-venv=%s uid=%d" % (
        sys.version_info[0], sys.version_info[1], sys.abiflags, sys.prefix,
        flask.__file__.startswith(sys.prefix + "/"), os.getuid())


application = app
PY
chmod -R a+rX "$work/app"
www_uid=$(id -u www-data)

cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# One cargo target directory for every build here (setup.py's default is one per Python):
# the dependencies that do not depend on Python are compiled once, not once per version.
# Only pyo3 and what uses it rebuild for each Python (pyo3 reruns when PYO3_PYTHON changes).
wheel_target="$PWD/target/python/cargo"
declare -A venvs modules
versions=()
for v in $RWSGI_PYTHON_VERSIONS; do
    py=$(python_for "$v")
    if [ -z "$py" ]; then
        echo "python: $v skipped: this machine has no Python $v with a shared libpython"
        continue
    fi
    versions+=("$v")
    echo "# Python $v ($py)"

    # --- the wheel ------------------------------------------------------------------------
    # Built from a venv, as a developer would (Debian's Python forbids pip outside one).
    dist="target/python/dist-$v"
    rm -rf "$dist"
    "$py" -m venv "$work/build-$v"
    # A free-threaded 3.13 builds with other RUSTFLAGS (packaging/pyo3_env.py): its own
    # directory, so the others' builds are not redone.
    target="$wheel_target"
    [[ "$v" != *t ]] || target="$wheel_target-ft"
    if CARGO_TARGET_DIR="$target" "$work/build-$v/bin/pip" wheel . --no-deps -q -w "$dist" \
        >"$work/wheel-$v.log" 2>&1; then
        ok "$v: pip wheel . builds a wheel"
    else
        tail -30 "$work/wheel-$v.log"
        not_ok "$v: pip wheel . builds a wheel"
        continue
    fi
    wheel=$(ls "$dist"/rwsgi-*.whl)
    # 3.13t: python tag cp313, ABI tag cp313t.
    tag="cp${v/./}"
    check "$v: the wheel is rwsgi $cargo_version for CPython $v ($(basename "$wheel"))" \
        '[[ "$(basename "$wheel")" == "rwsgi-$cargo_version-${tag%t}-$tag-linux_"* ]]'

    # --- a fresh venv -----------------------------------------------------------------------
    venv="$work/venv-$v"
    "$py" -m venv "$venv"
    if "$venv/bin/pip" install -q "$wheel" flask >"$work/install-$v.log" 2>&1; then
        ok "$v: pip install of the wheel and Flask into a fresh venv"
    else
        tail -30 "$work/install-$v.log"
        not_ok "$v: pip install of the wheel and Flask into a fresh venv"
        continue
    fi
    chmod -R a+rX "$venv"
    venvs[$v]=$venv
    module=$(ls "$venv/lib/python$v/site-packages/rwsgi"/mod_rwsgi*.so)
    modules[$v]=$module
    check "$v: rwsgi-express is a console command of the venv" '[ -x "$venv/bin/rwsgi-express" ]'
    check "$v: module-location names the wheel's module" \
        '[ "$("$venv/bin/rwsgi-express" module-location)" = "$module" ]'
    config=$("$venv/bin/rwsgi-express" module-config)
    check "$v: module-config loads the wheel's module" 'grep -qxF "LoadModule wsgi_module \"$module\"" <<<"$config"'
    check "$v: module-config sets the venv as WSGIPythonHome" 'grep -qxF "WSGIPythonHome \"$venv\"" <<<"$config"'
    check "$v: rwsgi.module_config() agrees with module-config" \
        '[ "$("$venv/bin/python" -c "import rwsgi; print(rwsgi.module_config(), end=\"\")")" = "$config" ]'
    check "$v: the module links this Python's libpython" \
        'ldd "$module" | grep "libpython$v" >/dev/null'
    daemon_ext=$(ls "$venv/lib/python$v/site-packages/rwsgi"/_daemon*.so 2>/dev/null || true)
    check "$v: the wheel's daemon runtime (rwsgi._daemon) is rwsgi $cargo_version and links no libpython" \
        '[ -n "$daemon_ext" ] && [ "$("$venv/bin/python" -c "import rwsgi._daemon as d; print(d.__version__)")" = "$cargo_version" ] && ! ldd "$daemon_ext" | grep -q libpython'

    # --- start-server as root, the app as www-data ------------------------------------------
    port=$(free_port)
    "$venv/bin/rwsgi-express" start-server "$work/app/wsgi.py" --port "$port" --user www-data \
        --group www-data --server-root "$work/server-$v" >"$work/server-$v.log" 2>&1 &
    server_pid=$!
    if wait_for_url "http://127.0.0.1:$port/" 300 "$server_pid"; then
        body=$(curl -fsS "http://127.0.0.1:$port/")
        check "$v: start-server serves the Flask app with the venv's Python as www-data ($body)" \
            '[ "$body" = "$v $venv flask-from-venv=True uid=$www_uid" ]'
    else
        cat "$work/server-$v.log"
        not_ok "$v: start-server serves the Flask app"
    fi
    kill -TERM "$server_pid"
    status=0
    wait "$server_pid" || status=$?
    server_pid=""
    check "$v: SIGTERM stops start-server cleanly (exit $status)" '[ "$status" = 0 ]'

    # --- the main integration tests, on this version's module -----------------------------
    if [ "$py" != /usr/bin/python3 ]; then
        home=$(dirname "$(dirname "$py")")
        set +e
        RWSGI_MODULE="$module" RWSGI_TEST_PYTHON="$py" RWSGI_TEST_PYTHON_HOME="$home" \
            cargo test -q -p rwsgi --test embedded --test daemon --test bodies --test errors \
            --test app_groups --test events --test interpreter_options --test free_threading \
            >"$work/cargo-$v.log" 2>&1
        status=$?
        # Again with every embedded application in a sub-interpreter with its own GIL, and
        # the application-group tests with own-GIL sub-interpreters.
        RWSGI_MODULE="$module" RWSGI_TEST_PYTHON="$py" RWSGI_TEST_PYTHON_HOME="$home" \
            RWSGI_TEST_SUBINTERPRETERS=1 RWSGI_TEST_OWN_GIL=1 \
            cargo test -q -p rwsgi --test embedded --test bodies --test errors --test events \
            >>"$work/cargo-$v.log" 2>&1 || status=$?
        RWSGI_MODULE="$module" RWSGI_TEST_PYTHON="$py" RWSGI_TEST_PYTHON_HOME="$home" \
            RWSGI_TEST_OWN_GIL=1 cargo test -q -p rwsgi --test app_groups \
            >>"$work/cargo-$v.log" 2>&1 || status=$?
        # The daemon suites with every group exec'd into this Python (rwsgi._daemon built
        # for it); the application groups also with own-GIL sub-interpreters (not the
        # daemon suite: its request-timeout stack dump is not read while they run).
        RWSGI_MODULE="$module" RWSGI_TEST_PYTHON="$py" RWSGI_TEST_PYTHON_HOME="$home" \
            RWSGI_TEST_LAUNCH=exec cargo test -q -p rwsgi --test daemon --test app_groups \
            >>"$work/cargo-$v.log" 2>&1 || status=$?
        RWSGI_MODULE="$module" RWSGI_TEST_PYTHON="$py" RWSGI_TEST_PYTHON_HOME="$home" \
            RWSGI_TEST_LAUNCH=exec RWSGI_TEST_OWN_GIL=1 cargo test -q -p rwsgi --test app_groups \
            >>"$work/cargo-$v.log" 2>&1 || status=$?
        set -e
        read -r p f < <(awk '/^test result:/ {p += $4; f += $6} END {print p + 0, f + 0}' "$work/cargo-$v.log")
        echo "$v: integration tests: $p passed, $f failed"
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$status" != 0 ]; then
            grep -E "^(test .* FAILED|failures:|---- )|panicked" "$work/cargo-$v.log" | head -40 || true
            [ "$f" != 0 ] || not_ok "$v: the integration tests ran (cargo test exit $status)"
        fi
    fi
done

# --- a group exec'd into 3.13t under the module of Debian's Python -----------------------
# tests/launch.rs (the cargo part runs it only when 3.13t was built before it started).
ft=$(python_for 3.13t)
if [ -n "$ft" ]; then
    set +e
    RWSGI_TEST_FREE_THREADED_PYTHON="$ft" cargo test -q -p rwsgi --test launch \
        a_group_exec_d_into_a_free_threaded_python >"$work/launch-ft.log" 2>&1
    status=$?
    set -e
    check "a daemon group exec'd into 3.13t runs without its GIL under the 3.11 module (tests/launch.rs)" \
        '[ "$status" = 0 ] && grep -q "^test result: ok. 1 passed" "$work/launch-ft.log"' ||
        grep -E "^(test .* FAILED|---- )|panicked" "$work/launch-ft.log" | head -20 || true
fi

# --- one Apache, a daemon group on each Python's venv -----------------------------------
# The first version's module; each venv (with the wheel, so rwsgi._daemon, and Flask) runs
# its group: the other versions' groups are exec'd into their venvs' Pythons.
if [ ${#modules[@]} -ge 2 ]; then
    v=${versions[0]}
    port=$(free_port)
    conf="$work/groups.conf"
    {
        echo "ServerRoot $work"
        echo "DefaultRuntimeDir $work"
        echo "Listen 127.0.0.1:$port"
        echo "PidFile $work/groups.pid"
        echo "ErrorLog $work/groups_error.log"
        echo "LogLevel info"
        echo "User www-data"
        echo "Group www-data"
        echo "ServerName localhost"
        echo "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so"
        echo "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so"
        echo "LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so"
        echo "LoadModule wsgi_module \"${modules[$v]}\""
        echo "WSGIPythonHome \"${venvs[$v]}\""
        for u in "${versions[@]}"; do
            [ -n "${venvs[$u]:-}" ] || continue
            echo "WSGIDaemonProcess py${u/./} python-home=${venvs[$u]} threads=2"
            echo "WSGIScriptAlias /py${u/./} $work/app/wsgi.py process-group=py${u/./} application-group=%{GLOBAL}"
        done
    } >"$conf"
    if apache2 -f "$conf" -k start >"$work/groups.out" 2>&1; then
        for u in "${versions[@]}"; do
            [ -n "${venvs[$u]:-}" ] || continue
            body=""
            for _ in $(seq 300); do
                body=$(curl -fsS "http://127.0.0.1:$port/py${u/./}/" 2>/dev/null) && break
                sleep 0.2
            done
            check "one Apache (module for $v): the group on the $u venv answers from it ($body)" \
                '[ "$body" = "$u ${venvs[$u]} flask-from-venv=True uid=$www_uid" ]'
        done
        kill -TERM "$(cat "$work/groups.pid")"
        for _ in $(seq 100); do [ -f "$work/groups.pid" ] || break; sleep 0.1; done
    else
        cat "$work/groups.out"
        not_ok "one Apache with a daemon group on each Python's venv starts"
    fi
    # rwsgi-express of the first venv, its daemons on the other venvs' Pythons: named by
    # --python-home (the second) and by --python-executable (the third; the free-threaded
    # one with --free-threading too).
    for i in 1 2 3; do
        u=${versions[$i]:-}
        [ -n "$u" ] && [ -n "${venvs[$u]:-}" ] || continue
        case $i in
            1) flag=(--python-home "${venvs[$u]}") ;;
            2) flag=(--python-executable "${venvs[$u]}/bin/python3") ;;
            3) flag=(--python-executable "${venvs[$u]}/bin/python3" --free-threading) ;;
        esac
        port=$(free_port)
        "${venvs[$v]}/bin/rwsgi-express" start-server "$work/app/wsgi.py" --port "$port" \
            --user www-data --group www-data "${flag[@]}" --server-root "$work/server-own-$u" \
            >"$work/server-own-$u.log" 2>&1 &
        server_pid=$!
        body=""
        if wait_for_url "http://127.0.0.1:$port/" 300 "$server_pid"; then
            body=$(curl -fsS "http://127.0.0.1:$port/")
        else
            cat "$work/server-own-$u.log"
        fi
        check "rwsgi-express of the $v venv with ${flag[*]} (the $u venv) serves from it ($body)" \
            '[ "$body" = "$u ${venvs[$u]} flask-from-venv=True uid=$www_uid" ]'
        if [[ "$u" == *t ]]; then
            gil=$(curl -fsS "http://127.0.0.1:$port/gil" 2>/dev/null || true)
            check "rwsgi-express --free-threading runs the $u daemons without the GIL (_is_gil_enabled: $gil)" \
                '[ "$gil" = False ]'
        fi
        kill -TERM "$server_pid"
        wait "$server_pid" || true
        server_pid=""
    done
else
    echo "python: groups on several Pythons skipped: it needs two Pythons"
fi

# --- a venv of another Python X.Y fails the configuration test --------------------------
if [ ${#modules[@]} -ge 2 ]; then
    for i in "${!versions[@]}"; do
        v=${versions[$i]}
        other=${versions[$(((i + 1) % ${#versions[@]}))]}
        [ -n "${modules[$v]:-}" ] && [ -n "${venvs[$other]:-}" ] || continue
        conf="$work/mismatch-$v.conf"
        cat > "$conf" <<CONF
ServerRoot $work
Listen 127.0.0.1:$(free_port)
PidFile $work/mismatch.pid
ErrorLog $work/mismatch_error.log
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule wsgi_module "${modules[$v]}"
WSGIPythonHome "${venvs[$other]}"
CONF
        out=$(apache2 -t -f "$conf" 2>&1) && status=0 || status=$?
        check "$v: apache2 -t refuses a Python $other venv, naming both versions" \
            '[ "$status" != 0 ] && grep -q "WSGIPythonHome: .*is for Python $other, but this mod_rwsgi.so is built for Python $v" <<<"$out"'
    done
else
    echo "python: version-mismatch check skipped: it needs two Pythons"
fi

# --- the sdist: builds where apxs is, and names the package to install where it is not -----
if [ ${#versions[@]} -gt 0 ] && [ -d "$work/build-${versions[0]}" ]; then
    v=${versions[0]}
    build_venv="$work/build-$v"
    "$build_venv/bin/pip" install -q build
    rm -rf target/python/sdist
    if "$build_venv/bin/python" -m build --sdist -o target/python/sdist . >"$work/sdist.log" 2>&1; then
        ok "python -m build --sdist builds an sdist"
        sdist=$(ls target/python/sdist/rwsgi-*.tar.gz)
        # Every file the crates are built from must be in it (MANIFEST.in lists patterns,
        # so a new kind of file, e.g. an include_str! source, is easy to leave out).
        missing=$(comm -23 \
            <(git ls-files src core/src core/Cargo.toml runtime/src runtime/Cargo.toml runtime/build.rs daemon-ext express/src express/Cargo.toml express/build.rs packaging \
                apache python .cargo build.rs Cargo.toml Cargo.lock | sort) \
            <(tar tzf "$sdist" | sed 's|^[^/]*/||' | sort))
        check "the sdist carries every file the crates are built from${missing:+ (missing: $missing)}" \
            '[ -z "$missing" ]'
        "$(python_for "$v")" -m venv "$work/sdist-venv"
        # pip unpacks and builds it in a new directory; cargo's output may be shared.
        if CARGO_TARGET_DIR="$wheel_target" "$work/sdist-venv/bin/pip" install -q "$sdist" \
            >"$work/sdist-install.log" 2>&1; then
            ok "pip install of the sdist builds and installs rwsgi"
            check "the sdist's install has rwsgi-express and the module" \
                '"$work/sdist-venv/bin/rwsgi-express" module-location | grep -q "$work/sdist-venv/lib/python$v/site-packages/rwsgi/mod_rwsgi"'
        else
            tail -30 "$work/sdist-install.log"
            not_ok "pip install of the sdist builds and installs rwsgi"
        fi
        # Without Apache's development files: apxs hidden (a private mount namespace).
        out=$(unshare -m sh -c 'mount --bind /dev/null "$(command -v apxs)" && exec "$0" install "$1"' \
            "$work/sdist-venv/bin/pip" "$sdist" 2>&1) && status=0 || status=$?
        check "pip install of the sdist without apxs fails naming apache2-dev" \
            '[ "$status" != 0 ] && grep -q "needs Apache.s development files (apxs)" <<<"$out" && grep -q "apt-get install apache2-dev" <<<"$out"'
    else
        tail -30 "$work/sdist.log"
        not_ok "python -m build --sdist builds an sdist"
    fi
fi

# --- a venv www-data cannot read is refused before Apache starts --------------------------
if [ ${#versions[@]} -gt 0 ] && [ -n "${modules[${versions[0]}]:-}" ]; then
    v=${versions[0]}
    private="$work/private"
    mkdir -m 700 "$private"
    "$(python_for "$v")" -m venv "$private/venv"
    "$private/venv/bin/pip" install -q --no-deps "$(ls target/python/dist-"$v"/rwsgi-*.whl)" >/dev/null
    out=$("$private/venv/bin/rwsgi-express" start-server "$work/app/wsgi.py" --port "$(free_port)" \
        --user www-data --group www-data --server-root "$work/server-private" 2>&1) && status=0 || status=$?
    check "$v: start-server refuses a venv www-data cannot read, with the fix" \
        '[ "$status" != 0 ] && grep -q "$private" <<<"$out" && grep -q "chmod" <<<"$out"'
fi

part_summary python
[ "$failed" -eq 0 ]
