# Shared by the scripts in this folder: install the system packages rwsgi needs (Debian/Ubuntu)
# when they are missing.

RWSGI_PACKAGES="apache2 apache2-dev libclang-dev python3-dev python3-venv python3-flask python3-django curl openssl"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
    ensure_these_packages $RWSGI_PACKAGES
}

# Installs the named Debian packages that are missing (and checks for cargo).
ensure_these_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "rwsgi: installing system packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! command -v cargo >/dev/null; then
        echo "rwsgi: cargo not found; install Rust (https://rustup.rs) and run again" >&2
        exit 1
    fi
}

# prepare_in_background: starts making, at low priority, what later parts of a test run
# need and what takes minutes: the free-threaded Python (python part, once per machine,
# scripts/python/free-threaded.sh), the sid root file system (once per machine) and the
# 3.14 and 3.15 wheels built in it (sid part, scripts/sid/root.sh). The parts wait for them (a lock) when they get there. Their
# packages are installed first, here: apt takes one caller at a time.
prepare_in_background() {
    [ "$(id -u)" = 0 ] || return 0
    local log=/var/tmp/rwsgi-prepare.log
    if [ "${RWSGI_SKIP_PYTHONS:-0}" != 1 ]; then
        . scripts/python/pythons.sh
        ensure_these_packages $RWSGI_FT_PACKAGES
        (nice -n 10 bash -c '. scripts/lib.sh; . scripts/python/pythons.sh; build_free_threaded' \
            >>"$log" 2>&1 </dev/null &)
    fi
    if [ "${RWSGI_SKIP_SID:-0}" != 1 ]; then
        . scripts/sid/root.sh
        ensure_these_packages debootstrap
        (nice -n 10 bash -c '. scripts/lib.sh; . scripts/sid/root.sh; sid_wheels "$(sid_root)"' \
            >>"$log" 2>&1 </dev/null &)
    fi
}
