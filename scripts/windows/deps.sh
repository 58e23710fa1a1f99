# Sourced by the Windows scripts (after lib.sh and sources.sh): APR, APR-util, expat and
# PCRE2 for Windows x64, cross-built with mingw-w64 from Debian's source packages into
# $RWSGI_WIN_DEPS (default target/windows/deps: bin/*.dll, lib/*.a, include/), once per
# machine and recipe.
#
# ABI: Apache Lounge builds all of them with MSVC, whose pid_t is an int (apr.hw); mingw's
# is 64 bits. Everything here is compiled with an int pid_t (msvc_pid_t.h, forced first),
# so apr_proc_t and Apache's scoreboard are laid out as on a real Windows Apache.

RWSGI_WIN_DEPS="${RWSGI_WIN_DEPS:-$PWD/target/windows/deps}"
# A changed recipe (this file) builds them again.
RWSGI_WIN_DEPS_RECIPE=$(sha256sum < "${BASH_SOURCE[0]}" | cut -c1-16)

# Runs a build step with its output in $1, shown only when it fails.
logged() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 || { tail -40 "$log"; return 1; }
}

# Writes the CMake toolchain file for mingw-w64 to $1.
write_mingw_toolchain() {
    cat > "$1" <<'CMAKE'
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
CMAKE
}

# Writes the header that gives mingw code MSVC's pid_t to $1.
write_msvc_pid_t() {
    cat > "$1" <<'H'
/* MSVC's pid_t (apr.hw), ahead of mingw's 64-bit one in <sys/types.h>. */
#define _PID_T_
typedef int pid_t;
H
}

# Configures the CMake project in $2 for Windows in build directory $1 with the options
# that follow (with build_windows_deps' cmake command), builds it and installs it into the
# dependencies' tree.
cmake_install() {
    local dir=$1 src=$2
    shift 2
    mkdir "$dir"
    (cd "$dir" &&
        logged cmake.log "${cmake[@]}" -DCMAKE_INSTALL_PREFIX="$RWSGI_WIN_DEPS" "$@" "$src" &&
        logged make.log make -j2 install)
}

build_windows_deps() {
    local deps=$RWSGI_WIN_DEPS build="$RWSGI_WIN_DEPS-build" cflags
    rm -rf "$build" "$deps" && mkdir -p "$build" "$deps"/{bin,lib,include}
    write_mingw_toolchain "$build/mingw.cmake"
    write_msvc_pid_t "$deps/include/msvc_pid_t.h"
    local cmake=(cmake -DCMAKE_TOOLCHAIN_FILE="$build/mingw.cmake" -DCMAKE_BUILD_TYPE=Release)
    # expat, which APR-util needs, and PCRE2 (8-bit), which Apache's regular expressions
    # need, as static libraries.
    local expat pcre2
    expat=$(fetch_source expat)
    pcre2=$(fetch_source pcre2)
    cmake_install "$build/expat" "$expat/expat" -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF \
        -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_DOCS=OFF
    cmake_install "$build/pcre2" "$pcre2" -DBUILD_SHARED_LIBS=OFF -DPCRE2_BUILD_PCRE2_8=ON \
        -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF -DPCRE2_SUPPORT_JIT=OFF
    # APR's CMake build is written for MSVC. Our patches, kept to the build files: no
    # version resource (windres cannot read it), DLLs named as Apache's (libapr-1.dll, not
    # liblibapr-1.dll); and for mingw's headers: the Windows 7 API, winsock, iphlpapi and
    # mswsock included up front (MSVC's windows.h brings them), GCC's atomic builtins.
    local apr aprutil
    apr=$(fetch_source apr)
    aprutil=$(fetch_source apr-util)
    cp -r "$apr" "$build/apr-src"
    cp -r "$aprutil" "$build/apr-util-src"
    sed -i 's/ libapr.rc)/)/' "$build/apr-src/CMakeLists.txt"
    echo 'SET_TARGET_PROPERTIES(libapr-1 PROPERTIES PREFIX "" IMPORT_PREFIX "")' >> "$build/apr-src/CMakeLists.txt"
    sed -i 's/ libaprutil.rc)/)/' "$build/apr-util-src/CMakeLists.txt"
    echo 'SET_TARGET_PROPERTIES(libaprutil-1 PROPERTIES PREFIX "" IMPORT_PREFIX "")' >> "$build/apr-util-src/CMakeLists.txt"
    cflags="-include $deps/include/msvc_pid_t.h -DCOM_NO_WINDOWS_H -D_WIN32_WINNT=0x0601 -include winsock2.h -include ws2tcpip.h"
    mkdir "$build/apr"
    (cd "$build/apr" &&
        logged cmake.log "${cmake[@]}" \
            -DCMAKE_C_FLAGS="$cflags -include iphlpapi.h -include mswsock.h -DHAVE_ATOMIC_BUILTINS=1 -DHAVE_ATOMIC_BUILTINS64=1" \
            -DCMAKE_C_STANDARD_LIBRARIES="-liphlpapi -lws2_32 -lmswsock -lrpcrt4 -ladvapi32 -lkernel32 -luser32 -lshell32" \
            ../apr-src &&
        # A build-time generator of APR's: run it here, not as a Windows program.
        gcc -o gen_test_char ../apr-src/tools/gen_test_char.c &&
        ./gen_test_char > apr_escape_test_char.h &&
        logged make.log make -j2 libapr-1/fast)
    cp "$build/apr-src"/include/*.h "$build/apr/apr.h" "$deps/include/"
    cp "$build/apr/libapr-1.dll.a" "$deps/lib/"
    cp "$build/apr/libapr-1.dll" "$deps/bin/"
    mkdir "$build/apr-util"
    (cd "$build/apr-util" &&
        logged cmake.log "${cmake[@]}" -DCMAKE_C_FLAGS="$cflags" -DAPU_HAVE_ODBC=OFF \
            -DAPR_HAS_LDAP=OFF -DAPR_INCLUDE_DIR="$deps/include" \
            -DAPR_LIBRARIES="$deps/lib/libapr-1.dll.a" -DEXPAT_INCLUDE_DIR="$deps/include" \
            -DEXPAT_LIBRARY="$deps/lib/libexpat.a" ../apr-util-src &&
        logged make.log make -j2 libaprutil-1/fast)
    cp "$build/apr-util-src"/include/*.h "$build/apr-util"/*.h "$deps/include/"
    cp "$build/apr-util/libaprutil-1.dll.a" "$deps/lib/"
    cp "$build/apr-util/libaprutil-1.dll" "$deps/bin/"
    rm -rf "$build"
    echo "$RWSGI_WIN_DEPS_RECIPE" > "$deps/.built"
}

# Builds the dependencies unless this recipe's build is there already.
ensure_windows_deps() {
    if [ "$(cat "$RWSGI_WIN_DEPS/.built" 2>/dev/null)" != "$RWSGI_WIN_DEPS_RECIPE" ]; then
        echo "rwsgi: building APR, APR-util, expat and PCRE2 for Windows (once per machine)"
        build_windows_deps
    fi
}
