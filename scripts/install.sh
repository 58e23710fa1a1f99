#!/usr/bin/env bash
# Installs mod_rwsgi.so the Apache way on Debian/Ubuntu: the module into Apache's modules
# directory, wsgi.load/wsgi.conf into mods-available, then `a2enmod wsgi`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
libexec="$(apxs -q LIBEXECDIR)"
sysconf="$(apxs -q SYSCONFDIR)"
if dpkg-query -W -f='${Status}' libapache2-mod-wsgi-py3 2>/dev/null | grep -q "install ok installed"; then
    echo "rwsgi: libapache2-mod-wsgi-py3 is installed and owns the same wsgi.load; remove it first (apt-get remove libapache2-mod-wsgi-py3)" >&2
    exit 1
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root install -m 644 target/mod_rwsgi.so "$libexec/mod_rwsgi.so"
as_root install -m 644 apache/mods-available/wsgi.load "$sysconf/mods-available/wsgi.load"
as_root install -m 644 apache/mods-available/wsgi.conf "$sysconf/mods-available/wsgi.conf"
as_root a2enmod -q wsgi
as_root apache2ctl configtest
echo "rwsgi: installed; reload Apache with: systemctl reload apache2"
