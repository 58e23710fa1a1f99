# Sourced by scripts/windows/test.sh after its stand-in tests: a real Apache httpd for
# Windows (scripts/build-windows-httpd.sh) serves tests/windows/served_app.py through
# mod_rwsgi.dll under wine, in one process (-DONE_PROCESS), and takes real HTTP requests
# from this machine (tests/windows/served_checks.py); then it is stopped as a console
# Apache is (Ctrl+C) and must exit by itself. Then rwsgi-express.exe start-server does the
# same with its own configuration. Uses test.sh's variables, ok/not_ok and add_counts.

./scripts/build-windows-httpd.sh
httpd_root="${RWSGI_WIN_HTTPD:-$PWD/target/windows/httpd}"

# Flask and its dependencies for Windows, into a directory on WSGIPythonPath (wheels are
# zip files; markupsafe's is compiled for win_amd64 by its authors).
site="$win/site-packages"
if [ ! -f "$site/.installed" ]; then
    rm -rf "$site"
    env -u PIP_FIND_LINKS python3 -m pip install -q --target "$site" --platform win_amd64 \
        --python-version 3.11 --only-binary=:all: --no-compile flask
    touch "$site/.installed"
fi

s="$t/served"
mkdir -p "$s"/{app,logs}
cp tests/windows/served_app.py "$s/app/wsgi.py"
head -c 300000 /dev/urandom > "$s/app/file.bin"
# Apache installed as on Windows (C:\Apache24): its tree, the module in modules\, and in
# bin\ (where the DLLs a module imports are found) wine's missing bcryptprimitives.dll.
cp -r "$httpd_root" "$s/apache"
cp "$out/mod_rwsgi.dll" "$s/apache/modules/"
cp "$t/apache/bin/bcryptprimitives.dll" "$s/apache/bin/"
# The module links against import libraries made from its own .def files (build.rs), which
# promise names only: every name it imports must be exported by this Apache's DLLs.
imports_of() {
    x86_64-w64-mingw32-objdump -p "$1" |
        awk -v dll="$2" '/DLL Name:/ { f = ($3 == dll); next } f && NF == 3 && $1 ~ /^[0-9a-f]+$/ { print $3 }' | sort -u
}
exports_of() {
    x86_64-w64-mingw32-objdump -p "$1" | awk '/Ordinal\/Name Pointer/ { f = 1; next } f && /^\t\[/ { print $NF }' | sort -u
}
for dll in libhttpd.dll libapr-1.dll libaprutil-1.dll; do
    wanted=$(imports_of "$s/apache/modules/mod_rwsgi.dll" "$dll")
    missing=$(comm -23 <(echo "$wanted") <(exports_of "$s/apache/bin/$dll") | tr '\n' ' ')
    if [ -n "$wanted" ] && [ -z "${missing// /}" ]; then
        ok "served: the $(echo "$wanted" | wc -l) names mod_rwsgi.dll imports from $dll are all exported by it"
    else
        not_ok "served: mod_rwsgi.dll's imports from $dll are all exported by it (missing: $missing)"
    fi
done
# The same module magic number as Apache Lounge's 2.4 (the module's record says 20120211.142).
if (cd "$s/apache/bin" && "$wine" httpd.exe -V) 2>/dev/null | grep -q "Module Magic Number: 20120211:142"; then
    ok "served: this Apache's module magic number is 20120211:142"
else
    not_ok "served: this Apache's module magic number is 20120211:142"
fi
w() { winpath "$1" | tr '\\' '/'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
cat > "$s/httpd.conf" <<CONF
ServerRoot "$(w "$s/apache")"
Listen 127.0.0.1:$port
ServerName localhost
PidFile "$(w "$s/logs/httpd.pid")"
ErrorLog "$(w "$s/logs/error.log")"
LogLevel info
ThreadsPerChild 8
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule mime_module modules/mod_mime.so
LoadModule alias_module modules/mod_alias.so
LoadModule dir_module modules/mod_dir.so
LoadModule log_config_module modules/mod_log_config.so
TypesConfig conf/mime.types
LogFormat "%h \"%r\" %>s %b" short
CustomLog "$(w "$s/logs/access.log")" short
LoadFile "$(w "$python")/python311.dll"
LoadModule wsgi_module modules/mod_rwsgi.dll
WSGIPythonHome "$(w "$python")"
WSGIPythonPath "$(w "$site")"
WSGIScriptAlias / "$(w "$s/app/wsgi.py")"
<Directory "$(w "$s/app")">
    Require all granted
</Directory>
CONF

# Waits up to $2 seconds for the Apache logging to $4 to listen on port $1 (wine starts
# slowly on a loaded machine); fails early if process $3 has exited. A connection alone
# could reach another program that took the port first; Apache logs its worker threads'
# start (AH00354) only once it holds its listening sockets.
wait_listening() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        if grep -qs "AH00354" "$4" &&
            python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.5
    done
    return 1
}
# Waits up to $2 seconds for process $1 to exit.
wait_exit() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.5
    done
    return 1
}

set +e
(cd "$s/apache/bin" && "$wine" httpd.exe -t -f "$(winpath "$s/httpd.conf")") > "$s/configtest.log" 2>&1
code=$?
set -e
if [ $code -eq 0 ] && grep -q "Syntax OK" "$s/configtest.log"; then
    ok "served: httpd.exe -t passes with mod_rwsgi.dll loaded"
else
    not_ok "served: httpd.exe -t passes with mod_rwsgi.dll loaded (exit $code: $(tail -3 "$s/configtest.log"))"
fi

# Serves with the command started in the background by the caller (pid $1, the leader of its
# own process group), named $2, on port $3, logging to $4: waits until it listens, runs the
# HTTP checks, stops it with Ctrl+C and waits for it to exit.
serve_and_check() {
    local pid=$1 name=$2 port=$3 log=$4 checks code
    # Should this script stop early, the server (and wine's helpers for it) must not outlive it.
    trap 'kill -KILL -- -'"$pid"' 2>/dev/null || true' EXIT
    if ! wait_listening "$port" 180 "$pid" "$log"; then
        not_ok "served: $name starts under wine and listens ($(tail -5 "$log" 2>/dev/null))"
        kill -- -"$pid" 2>/dev/null || true
        return
    fi
    ok "served: $name starts under wine and listens"
    checks="$s/checks-$port.log"
    set +e
    python3 tests/windows/served_checks.py "$port" "$log" "$s/app/file.bin" | tee "$checks"
    set -e
    add_counts "$checks" "served: $name: the HTTP checks"
    # Ctrl+C, as in the console it was started from. Windows sends it to every process of
    # the console (rwsgi-express and its Apache); here SIGINT goes to the process group,
    # and wine hands it to each process's console control handler.
    kill -INT -- -"$pid"
    if wait_exit "$pid" 120; then
        set +e
        wait "$pid"
        code=$?
        set -e
        if [ "$code" -eq 0 ] && grep -q "AH00364: Child: All worker threads have exited" "$log"; then
            ok "served: $name stops on Ctrl+C: its threads exit, exit status 0"
        else
            not_ok "served: $name stops on Ctrl+C: its threads exit, exit status 0 (exit $code)"
        fi
    else
        not_ok "served: $name stops on Ctrl+C within 120 s"
        kill -KILL -- -"$pid" 2>/dev/null || true
    fi
}

# httpd.exe itself. Console output through a pipe: under wine, Python cannot set up
# sys.stdout on a regular file (see test.sh), which Windows can.
(cd "$s/apache/bin" && exec setsid "$wine" httpd.exe -DONE_PROCESS -f "$(winpath "$s/httpd.conf")") \
    > >(cat > "$s/console.log") 2>&1 &
before=$failed
serve_and_check $! "httpd.exe -DONE_PROCESS" "$port" "$s/logs/error.log"
# The log holds the tracebacks the checks provoke on purpose: shown only when one failed.
if [ "$failed" -ne "$before" ]; then
    echo "--- error.log"
    cat "$s/logs/error.log" 2>/dev/null || true
fi

# rwsgi-express.exe start-server with the same Apache, Python and application.
port=$(free_port)
express_root="$s/express"
(cd "$s/app" && exec setsid env WINEPATH="$(winpath "$python")" "$wine" "$t/rwsgi/rwsgi-express.exe" \
    start-server wsgi.py --httpd-executable "$(winpath "$s/apache/bin/httpd.exe")" --port "$port" \
    --python-path "$(winpath "$site")" --server-root "$(winpath "$express_root")") \
    > >(cat > "$s/express.log") 2>&1 &
before=$failed
serve_and_check $! "rwsgi-express.exe start-server" "$port" "$express_root/error_log"
if [ "$failed" -ne "$before" ]; then
    echo "--- rwsgi-express output and error_log"
    cat "$s/express.log" "$express_root/error_log" 2>/dev/null || true
fi
