# Sourced by the Windows scripts: the mingw-w64 cross toolchain and a Rust standard library
# for x86_64-pc-windows-gnu. Sets RWSGI_WINDOWS_TARGET, and RWSGI_CARGO plus
# RWSGI_CARGO_FLAGS for the Windows cargo commands: rustup's cargo with the target added,
# or, where rustup cannot add it (or RWSGI_WINDOWS_RUST=debian), Debian's Rust
# (rustc-web), which builds the standard library for the target from rust-web-src.

RWSGI_WINDOWS_TARGET=x86_64-pc-windows-gnu
RWSGI_CARGO=cargo
RWSGI_CARGO_FLAGS=""
export PYO3_CROSS_PYTHON_VERSION="${PYO3_CROSS_PYTHON_VERSION:-3.11}"

ensure_windows_toolchain() {
    local missing=()
    for p in gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 zip; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "rwsgi: installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if [ "${RWSGI_WINDOWS_RUST:-}" != debian ] && command -v rustup >/dev/null; then
        if rustup target list --installed | grep -qx "$RWSGI_WINDOWS_TARGET" ||
            rustup target add "$RWSGI_WINDOWS_TARGET"; then
            return
        fi
        echo "rwsgi: rustup could not add $RWSGI_WINDOWS_TARGET; using Debian's Rust instead" >&2
    fi
    # Debian's Rust ships no Windows standard library, but its source: cargo builds it for
    # the target (-Zbuild-std, allowed on a stable compiler by RUSTC_BOOTSTRAP, as Debian's
    # own packaging does). It goes to /usr/bin, after rustup's shims on PATH: name it.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        rustc-web cargo-web rust-web-src >/dev/null
    RWSGI_CARGO=/usr/bin/cargo
    export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
    RWSGI_CARGO_FLAGS="-Zbuild-std=std,panic_abort"
}
