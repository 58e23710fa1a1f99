#!/usr/bin/env bash
# Load while the server changes, for rwsgi-express and mod_wsgi-express with the same
# options (2 processes x 4 threads, worker MPM): under bench/changes.py's kept-alive load
# (4 connections, 10 s), each change is made every 2 s, and every request's outcome is
# counted. Prints a Markdown table and writes it to bench/results/changes-<date>.md.
#
#   ./bench/changes.sh                 # every scenario, both servers
#   ./bench/changes.sh graceful kill   # some scenarios
#
# mod_wsgi-express comes from $BENCH_VENV (made by bench/run.sh, or here: mod_wsgi built
# from source by pip for the Python rwsgi links). Needs root for the daemons' user switch
# (both run their children as www-data). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_packages
python="${PYO3_PYTHON:-/usr/bin/python3}"
cargo build --release --workspace -q
venv="${BENCH_VENV:-/var/tmp/rwsgi-bench-venv}"
if [ ! -x "$venv/bin/mod_wsgi-express" ]; then
    "$python" -m venv "$venv"
    env -u PIP_FIND_LINKS "$venv/bin/pip" install -q --no-binary mod_wsgi mod_wsgi==6.1.1
fi
rwsgi="$PWD/target/release/rwsgi-express"
modwsgi="$venv/bin/mod_wsgi-express"

work=$(mktemp -d /var/tmp/rwsgi-changes.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp tests/apps/changes.py "$work/app.py"
chmod 644 "$work/app.py"
user_args=()
[ "$(id -u)" != 0 ] || user_args=(--user www-data --group www-data)

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run SERVER SCENARIO: one row of the table.
run() {
    local server=$1 scenario=$2 exe extra=() load=() change="" port root pid
    case $server in
        rwsgi) exe=$rwsgi ;;
        mod_wsgi) exe=$modwsgi ;;
    esac
    port=$(free_port)
    root="$work/root-$server-$scenario"
    case $scenario in
        graceful) change='kill -USR1 $(cat '"$root"'/httpd.pid)' ;;
        graceful-post) change='kill -USR1 $(cat '"$root"'/httpd.pid)'
            load=(--method POST --body-size 10000) ;;
        graceful-embedded) change='kill -USR1 $(cat '"$root"'/httpd.pid)'
            extra=(--embedded-mode) ;;
        maximum-requests) extra=(--maximum-requests 200) ;;
        restart-interval) extra=(--restart-interval 2) ;;
        touch) change="touch $work/app.py" ;;
        kill) # SIGKILL to one daemon process of the two (its title starts with "(")
            change="kill -9 \$(ps -eo pid=,args= | awk -v p=':$port' 'index(\$2, \"(\") == 1 && index(\$2, p) && !index(\$2, \"supervisor\") {print \$1; exit}')" ;;
    esac
    (cd "$work" && exec setsid "$exe" start-server app.py --host 127.0.0.1 --port "$port" \
        --server-root "$root" --processes 2 --threads 4 --server-mpm worker \
        "${user_args[@]}" "${extra[@]}" >"$root.log" 2>&1) &
    pid=$!
    for _ in $(seq 200); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    local counts
    counts=$("$python" bench/changes.py --url "http://127.0.0.1:$port/" --connections 4 \
        --duration 10 --json "${load[@]}" ${change:+--every 2 --change "$change"} | tail -1 || true)
    kill -TERM "$(cat "$root/httpd.pid" 2>/dev/null)" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    "$python" - "$server" "$scenario" "$counts" <<'PY'
import json, sys
server, scenario, text = sys.argv[1:4]
try:
    c = json.loads(text)
except ValueError:
    print('| %s | %s | (no counts) |' % (scenario, server))
    sys.exit()
print('| %s | %s | %d | %d | %d | %s | %d | %.3f |' % (
    scenario, server, c['changes'], c['requests'], c['ok'],
    ', '.join('%d %s' % (n, k) for k, n in c['failures'].items()) or '0',
    c['retried'], c['max_latency']))
PY
}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] ||
    scenarios=(graceful graceful-post graceful-embedded maximum-requests restart-interval touch kill)
out="bench/results/changes-$(date +%F).md"
{
    echo "# Load while the server changes — $(date +%F)"
    echo
    echo "- $(apache2 -v | head -1 | sed 's/Server version: //'), $("$python" --version)"
    echo "- rwsgi-express $("$rwsgi" --version | cut -d' ' -f2), mod_wsgi-express $("$modwsgi" --version 2>/dev/null || echo 6.1.1)"
    echo "- 2 processes x 4 threads, worker MPM; bench/changes.py: 4 kept-alive connections, 10 s, a change every 2 s"
    echo "- failures: non-2xx, reset, cut, closed, timeout, connect errors, slow (over 1 s); retried: a kept-alive connection closed before the response (sent again, as HTTP clients do)"
    echo
    echo "| change | server | changes | requests | ok | failures | retried | max latency s |"
    echo "|---|---|---:|---:|---:|---|---:|---:|"
    for scenario in "${scenarios[@]}"; do
        for server in rwsgi mod_wsgi; do
            run "$server" "$scenario"
        done
    done
} | tee "$out"
