#!/usr/bin/env bash
# Builds Apache httpd 2.4 for Windows x64 with mingw-w64, from Debian's source packages
# (apache2, apr, apr-util, expat, pcre2), into target/windows/httpd in Apache for Windows'
# layout: bin/httpd.exe, bin/libhttpd.dll and the APR DLLs, modules/mod_*.so (the modules a
# WSGI site and rwsgi-express use; the winnt MPM is built in), conf/mime.types, and
# lib/libhttpd.dll.a. Used by the Windows tests to serve requests through mod_rwsgi.dll
# under wine. Built once per machine and recipe; a fresh machine builds it (a few minutes).
#
# Our patches, to the build files only, are listed where they are made below.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. scripts/windows/toolchain.sh
. scripts/windows/sources.sh
. scripts/windows/deps.sh
RWSGI_PACKAGES="$RWSGI_PACKAGES cmake"
ensure_packages
ensure_windows_toolchain
ensure_deb_src
ensure_windows_deps

prefix="${RWSGI_WIN_HTTPD:-$PWD/target/windows/httpd}"
# A changed recipe (this script or the dependencies') builds it again.
recipe="$(sha256sum < "$0" | cut -c1-16)-$RWSGI_WIN_DEPS_RECIPE"
if [ "$(cat "$prefix/.built" 2>/dev/null)" = "$recipe" ]; then
    echo "rwsgi: Apache httpd for Windows is built already: $prefix"
    exit 0
fi
modules=(authz_core authz_host authn_core auth_basic authz_user mime alias dir rewrite
    reqtimeout env log_config)

start=$(date +%s)
echo "rwsgi: building Apache httpd for Windows (once per machine)"
src=$(fetch_source apache2)
deps=$RWSGI_WIN_DEPS
build="$prefix-build"
rm -rf "$build" "$prefix" && mkdir -p "$build/obj"
cp -r "$src" "$build/src"
# Patch 1: no version resources (they only label the files).
sed -i 's| build/win32/httpd.rc||g' "$build/src/CMakeLists.txt"
# Patch 2: test_char.h comes from gen_test_char, which the build would compile as a Windows
# program and run; it is built for this machine instead, with Windows' tables (WIN32 picks
# the cmd.exe escapes; CROSS_COMPILE makes it need no APR).
gcc -DCROSS_COMPILE -DWIN32 -o "$build/gen_test_char" "$build/src/server/gen_test_char.c"
sed -i -e '/^ADD_EXECUTABLE(gen_test_char /d' \
    -e "s|DEPENDS gen_test_char|DEPENDS $build/gen_test_char|" \
    -e "s|COMMAND \$<TARGET_FILE:gen_test_char>|COMMAND $build/gen_test_char|" \
    "$build/src/CMakeLists.txt"
# Patch 3: ap_config.h includes ap_config_auto.h under mingw (configure writes it on Unix);
# an MSVC build needs nothing from it, nor does this one.
: > "$build/src/include/ap_config_auto.h"
# Patch 4: the winnt MPM's service.c includes <winuser.h> a second time, on purpose, after
# apr.h's windows.h left it out; the winsock2.h forced in below has brought it in whole
# already, and mingw's header cannot be read twice.
sed -i 's/^#undef _WINUSER_$//' "$build/src/server/mpm/winnt/service.c"
# Patch 5: no base addresses (an MSVC linker option), and the DLLs named as Apache names
# them (libhttpd.dll and mod_alias.so, not liblibhttpd.dll and libmod_alias.so).
sed -i -e 's|LINK_FLAGS /base:@${PROJECT_BINARY_DIR}/BaseAddr.ref,libhttpd.dll|PREFIX "" IMPORT_PREFIX ""|' \
    -e 's|LINK_FLAGS /base:@${PROJECT_BINARY_DIR}/BaseAddr.ref,${mod_name}.so|PREFIX ""|' \
    "$build/src/CMakeLists.txt"
write_mingw_toolchain "$build/mingw.cmake"
# For mingw's headers, as for APR (deps.sh): MSVC's pid_t, the Windows 7 API, and winsock,
# iphlpapi and mswsock first. Apache's Windows code also includes APR's private headers
# (arch/win32/*.h), from APR's source.
cflags="-include $deps/include/msvc_pid_t.h -D_WIN32_WINNT=0x0601 -include winsock2.h -include ws2tcpip.h -include iphlpapi.h -include mswsock.h"
cflags="$cflags -I$(fetch_source apr)/include"
(cd "$build/obj" &&
    logged cmake.log cmake -DCMAKE_TOOLCHAIN_FILE="$build/mingw.cmake" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS="$cflags" -DINSTALL_PDB=OFF \
        -DCMAKE_SHARED_LINKER_FLAGS=-static-libgcc -DCMAKE_EXE_LINKER_FLAGS=-static-libgcc \
        -DAPR_INCLUDE_DIR="$deps/include" \
        -DAPR_LIBRARIES="$deps/lib/libapr-1.dll.a;$deps/lib/libaprutil-1.dll.a" \
        -DPCRE_INCLUDE_DIR="$deps/include" -DPCRE_LIBRARIES="$deps/lib/libpcre2-8.a" \
        -DPCRE_CFLAGS="-DHAVE_PCRE2 -DPCRE2_STATIC" \
        -DCMAKE_INSTALL_PREFIX="$prefix" "$build/src" &&
    logged make.log make -j2 libhttpd httpd "${modules[@]/#/mod_}")
mkdir -p "$prefix"/{bin,modules,conf,lib,logs}
cp "$build/obj/httpd.exe" "$build/obj/libhttpd.dll" "$deps"/bin/*.dll "$prefix/bin/"
cp "$build/obj/libhttpd.dll.a" "$prefix/lib/"
for m in "${modules[@]}"; do
    cp "$build/obj/mod_$m.so" "$prefix/modules/"
done
cp "$build/src/docs/conf/mime.types" "$prefix/conf/"
rm -rf "$build"
echo "$recipe" > "$prefix/.built"
echo "rwsgi: built Apache httpd for Windows in $prefix in $(($(date +%s) - start)) s"
