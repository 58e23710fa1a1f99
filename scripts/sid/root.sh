# Sourced by scripts/sid/test.sh: a Debian sid root file system with the newest Pythons
# (3.14, 3.15) and Apache, made once per machine. Their packages need a newer glibc than
# Debian 12's, so they run there, not on this machine. The mirror's sid Release file is
# past its Valid-Until date, so apt inside is told not to check it.
#
# sid_root prints the root's path (made when missing or when this recipe changed); callers
# at the same time wait for one to make it (scripts/test.sh starts it early).

RWSGI_SID_PACKAGES="python3 python3.14 python3.15 python3.14-venv python3.15-venv python3.14-dev python3.15-dev libpython3.14-dev libpython3.15-dev apache2 apache2-dev libclang-dev gcc libc6-dev ca-certificates curl"
RWSGI_SID_APT="-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false"
# Changing how the root is made: count this up, so machines make it again.
RWSGI_SID_RECIPE=1

sid_root() {
    (
        flock 9
        sid_root_locked
    ) 9>/var/lock/rwsgi-sid-root.lock
}

sid_root_locked() {
    local recipe root made
    recipe=$(echo "$RWSGI_SID_RECIPE $RWSGI_SID_PACKAGES $RWSGI_SID_APT" | sha256sum | cut -c1-12)
    root="/var/cache/rwsgi/sid-$recipe"
    if [ -f "$root/.rwsgi-made" ]; then
        echo "$root"
        return
    fi
    ensure_these_packages debootstrap >&2
    mkdir -p /var/cache/rwsgi
    made=$(mktemp -d /var/cache/rwsgi/.sid-making.XXXXXX)
    local mirror
    mirror=$( (grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
        /etc/apt/sources.list.d/ 2>/dev/null || true) | head -1 | tr -d ' ')
    echo "sid: making a Debian sid root file system in $root (once per machine, about 3 minutes)" >&2
    if ! debootstrap --variant=minbase sid "$made" "${mirror:-http://deb.debian.org/debian}" \
        >"$made.log" 2>&1; then
        tail -20 "$made.log" >&2
        rm -rf "$made" "$made.log"
        return 1
    fi
    # mktemp made it 0700: it is `/` for Apache's user inside.
    chmod 755 "$made"
    cp /etc/resolv.conf "$made/etc/resolv.conf"
    # shellcheck disable=SC2086
    if ! chroot "$made" sh -c "apt-get $RWSGI_SID_APT update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get $RWSGI_SID_APT install -y -qq $RWSGI_SID_PACKAGES &&
        apt-get clean" >"$made.log" 2>&1; then
        tail -20 "$made.log" >&2
        rm -rf "$made" "$made.log"
        return 1
    fi
    rm -f "$made.log"
    touch "$made/.rwsgi-made"
    # Roots of earlier recipes are not used again.
    find /var/cache/rwsgi -maxdepth 1 -name 'sid-*' -exec rm -rf {} +
    mv "$made" "$root"
    echo "$root"
}

# in_sid ROOT COMMAND...: runs COMMAND in ROOT as root, in a mount namespace of its own
# (the mounts end with it) where the root has /proc, /dev, this checkout, the Rust
# toolchain and the directories in RWSGI_SID_BIND (space-separated) at their own paths,
# and trusts the certificate authorities this machine trusts (an egress proxy's, where
# there is one).
in_sid() {
    local root=$1
    shift
    local cargo_home=${CARGO_HOME:-$HOME/.cargo} rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
    local cargo_dir
    cargo_dir=$(dirname "$(command -v cargo)")
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    RWSGI_SID_BIND=${RWSGI_SID_BIND:-} unshare -m bash -c '
        set -e
        root=$1 repo=$2 cargo_home=$3 rustup_home=$4 cargo_dir=$5
        shift 5
        mount --make-rprivate /
        mount -t proc proc "$root/proc"
        mount --bind /dev "$root/dev"
        for d in "$repo" "$cargo_home" "$rustup_home" "$cargo_dir" $RWSGI_SID_BIND; do
            [ -d "$d" ] || continue
            mkdir -p "$root$d"
            mountpoint -q "$root$d" || mount --bind "$d" "$root$d"
        done
        exec chroot "$root" env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
            PATH="$cargo_dir:/usr/sbin:/usr/bin:/sbin:/bin" \
            CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" \
            PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
            SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
            PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
    ' in_sid "$root" "$PWD" "$cargo_home" "$rustup_home" "$cargo_dir" "$@"
}

# sid_wheels ROOT: `pip wheel .` for Python 3.14 and 3.15 inside ROOT, into
# target/sid/dist-X.Y, with the log of each build beside it (build.log) and its exit status
# (status). One cargo directory of its own serves both (build scripts and proc-macros
# built there link sid's C library: the host cannot run them). A build of the same
# checkout state is not made twice: scripts/test.sh starts it in the background after the
# root, and the sid part finds it done (or waits for it).
sid_wheels() {
    (
        flock 9
        sid_wheels_locked "$1"
    ) 9>/var/lock/rwsgi-sid-wheels.lock
}

sid_wheels_locked() {
    local root=$1 state v dist
    state=$( (git rev-parse HEAD; git status --porcelain=v1 -uno; git diff) 2>/dev/null | sha256sum | cut -c1-16)
    for v in 3.14 3.15; do
        dist="target/sid/dist-$v"
        [ "$(cat "$dist/state" 2>/dev/null)" = "$state" ] && continue
        rm -rf "$dist"
        mkdir -p "$dist"
        set +e
        in_sid "$root" bash -c '
            set -e
            cd "$1"
            rm -rf /tmp/build-$3
            python$3 -m venv /tmp/build-$3
            CARGO_TARGET_DIR="$1/target/sid/cargo" /tmp/build-$3/bin/pip wheel . --no-deps -q -w "$2"
        ' sid "$PWD" "$dist" "$v" >"$dist/build.log" 2>&1
        echo $? >"$dist/status"
        set -e
        echo "$state" >"$dist/state"
    done
}
