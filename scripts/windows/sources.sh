# Sourced by the Windows scripts: fetches the Debian source packages of Apache httpd, APR and
# APR-util (the Windows headers are in them: apr.hw, apu.hw, os/win32) into $RWSGI_WIN_SRC
# (default target/windows/src), unpacked, once.

RWSGI_WIN_SRC="${RWSGI_WIN_SRC:-$PWD/target/windows/src}"

# Adds a deb-src line for every deb line apt knows, if there is none (apt-get source needs it).
ensure_deb_src() {
    if grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return
    fi
    echo "rwsgi: adding deb-src entries to apt's sources"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        as_root sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
    else
        grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
            as_root tee /etc/apt/sources.list.d/rwsgi-src.list >/dev/null
    fi
    as_root apt-get update -qq
}

# Downloads and unpacks source package $1 into $RWSGI_WIN_SRC/$1 (the unpacked tree's path
# is printed). The newest version apt lists may not be downloadable (a security update whose
# source left the mirror): older ones are tried in turn.
fetch_source() {
    local pkg=$1 dir="$RWSGI_WIN_SRC/$1" version
    if [ -f "$dir/.unpacked" ]; then
        cat "$dir/.unpacked"
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    for version in $(apt-cache showsrc "$pkg" | sed -n 's/^Version: //p' | sort -rV | uniq); do
        if (cd "$dir" && apt-get source -qq --download-only "$pkg=$version" >/dev/null 2>&1); then
            local orig
            orig=$(ls "$dir"/*.orig.tar.* | head -1)
            tar -xf "$orig" -C "$dir"
            local tree
            tree=$(find "$dir" -mindepth 1 -maxdepth 1 -type d | head -1)
            echo "$tree" > "$dir/.unpacked"
            echo "$tree"
            return
        fi
    done
    echo "rwsgi: cannot download the source package $pkg (apt-get source)" >&2
    return 1
}

# Stages the Windows headers of Apache 2.4, APR and APR-util into $1.
stage_windows_headers() {
    local out=$1 httpd apr aprutil
    httpd=$(fetch_source apache2)
    apr=$(fetch_source apr)
    aprutil=$(fetch_source apr-util)
    rm -rf "$out" && mkdir -p "$out"
    cp "$httpd"/include/*.h "$httpd"/os/win32/os.h "$httpd"/os/win32/win32_config_layout.h "$out"/
    cp "$apr"/include/*.h "$aprutil"/include/*.h "$out"/
    cp "$apr"/include/apr.hw "$out"/apr.h
    cp "$aprutil"/include/apu.hw "$out"/apu.h
    cp "$aprutil"/include/apu_want.hw "$out"/apu_want.h
    cp "$aprutil"/include/apr_ldap.hw "$out"/apr_ldap.h
    # ap_config.h includes it under mingw (configure writes it on Unix): nothing to add.
    : > "$out"/ap_config_auto.h
    # The layout header configure would write; Windows builds use this one.
    cp "$httpd"/os/win32/win32_config_layout.h "$out"/ap_config_layout.h
    echo "$httpd" > "$out"/.httpd
}
