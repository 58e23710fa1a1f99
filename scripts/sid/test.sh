#!/usr/bin/env bash
# Python 3.14 and 3.15 with Debian sid's Apache (2.4.69), in a sid root file system
# (scripts/sid/root.sh; made once per machine): for each Python,
#  - `pip wheel .` in a venv makes the cp3XX wheel (the host's Rust toolchain and this
#    checkout are mounted into the root at their own paths; scripts/test.sh starts these
#    builds in the background, `sid_wheels`);
#  - a fresh venv installs it; its daemon runtime (`rwsgi._daemon`) imports;
#  - the wheel's module, with the venv as its Python home, passes the integration tests of
#    embedded mode, daemon mode, request and response bodies, broken applications,
#    application groups and events (tests/{embedded,daemon,bodies,errors,app_groups,
#    events}.rs) against sid's Apache. The test programs are the host's build: they link
#    no libpython, and sid's newer C library runs them.
# Needs root (debootstrap, chroot). Prints "sid: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
    echo "sid: skipped: a sid root file system needs root (run ./scripts/sid/test.sh as root)"
    exit 0
fi
. scripts/lib.sh
. scripts/sid/root.sh
. scripts/checks.sh
ensure_packages
root=$(sid_root)

# The integration tests' programs, built here.
suites=(embedded daemon bodies errors app_groups events)
args=()
for s in "${suites[@]}"; do args+=(--test "$s"); done
cargo build -q --workspace
mapfile -t programs < <(cargo test -q -p rwsgi --no-run --message-format=json "${args[@]}" 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["executable"])')
if [ ${#programs[@]} -ne ${#suites[@]} ]; then
    not_ok "the integration tests build (${#programs[@]} of ${#suites[@]} programs)"
    part_summary sid
    exit 1
fi

cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The wheels (made in the background since the run started, when test.sh runs this).
sid_wheels "$root"
for v in 3.14 3.15; do
    echo "# Python $v (Debian sid)"
    tag="cp${v/./}"
    dist="target/sid/dist-$v"
    if [ "$(cat "$dist/status" 2>/dev/null)" = 0 ]; then
        ok "$v: pip wheel . builds a wheel in sid"
    else
        not_ok "$v: pip wheel . builds a wheel in sid" "$(tail -30 "$dist/build.log" 2>/dev/null)"
        continue
    fi
    wheel=$(ls "$dist"/rwsgi-*.whl)
    check "$v: the wheel is rwsgi $cargo_version for CPython $v ($(basename "$wheel"))" \
        '[[ "$(basename "$wheel")" == "rwsgi-$cargo_version-$tag-$tag-linux_"* ]]'
    if in_sid "$root" bash -c '
        set -e
        rm -rf /tmp/venv-$1
        python$1 -m venv /tmp/venv-$1
        /tmp/venv-$1/bin/pip install -q "$2"
        chmod -R a+rX /tmp/venv-$1
        /tmp/venv-$1/bin/python -c "import rwsgi._daemon as d; print(d.__version__)"
        ls /tmp/venv-$1/lib/python$1/site-packages/rwsgi/mod_rwsgi*.so
    ' sid "$v" "$PWD/$wheel" >"$log" 2>&1; then
        ok "$v: a fresh venv installs the wheel"
    else
        not_ok "$v: a fresh venv installs the wheel" "$(tail -30 "$log")"
        continue
    fi
    check "$v: its daemon runtime is rwsgi $cargo_version" 'grep -qxF "$cargo_version" "$log"'
    module=$(grep "mod_rwsgi" "$log" | tail -1)
    in_sid "$root" bash -c '
        v=$1 module=$2
        shift 2
        apache2 -v | head -1
        for program in "$@"; do
            RWSGI_MODULE="$module" RWSGI_TEST_PYTHON=/tmp/venv-$v/bin/python \
                RWSGI_TEST_PYTHON_HOME=/tmp/venv-$v "$program" -q 2>&1
        done
    ' sid "$v" "$module" "${programs[@]}" >"$log" 2>&1 || true
    grep -m1 "^Server version" "$log" || true
    read -r p f < <(awk '/^test result:/ {p += $4; f += $6} END {print p + 0, f + 0}' "$log")
    echo "$v: integration tests: $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
    runs=$(grep -c "^test result:" "$log" || true)
    if [ "$runs" != ${#programs[@]} ] || [ "$f" != 0 ]; then
        grep -E "^(test .* FAILED|---- )|panicked" "$log" | head -40 || true
        [ "$runs" = ${#programs[@]} ] || not_ok "$v: all ${#programs[@]} integration test programs ran ($runs did)" "$(tail -20 "$log")"
    fi
done
part_summary sid
[ "$failed" -eq 0 ]
