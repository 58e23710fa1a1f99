#!/usr/bin/env bash
# Cross-builds rwsgi for Windows (x86_64, mingw-w64) on Debian/Ubuntu, installing what it
# needs: target/x86_64-pc-windows-gnu/release/{mod_rwsgi.dll,rwsgi-express.exe} and the zip
# Windows users download, target/windows/rwsgi-<version>-win64-py311.zip.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/windows/toolchain.sh
ensure_packages
ensure_windows_toolchain
# shellcheck disable=SC2086
"$RWSGI_CARGO" build --release --target "$RWSGI_WINDOWS_TARGET" $RWSGI_CARGO_FLAGS \
    --lib -p rwsgi --bin rwsgi-express -p rwsgi-express
out="${CARGO_TARGET_DIR:-target}/$RWSGI_WINDOWS_TARGET/release"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
py="py${PYO3_CROSS_PYTHON_VERSION/./}"
stage="target/windows/rwsgi-$version-win64-$py"
rm -rf "$stage" && mkdir -p "$stage"
# Debug line tables are for our own backtraces, not for the download.
x86_64-w64-mingw32-strip -o "$stage/mod_rwsgi.dll" "$out/mod_rwsgi.dll"
x86_64-w64-mingw32-strip -o "$stage/rwsgi-express.exe" "$out/rwsgi-express.exe"
sed "s/@VERSION@/$version/g; s/@PYTHON@/$PYO3_CROSS_PYTHON_VERSION/g" \
    scripts/windows/README-windows.txt | sed 's/$/\r/' > "$stage/README.txt"
rm -f "$stage.zip"
(cd target/windows && zip -qr "$(basename "$stage").zip" "$(basename "$stage")")
echo "rwsgi: built $out/mod_rwsgi.dll, $out/rwsgi-express.exe and $stage.zip"
