#!/usr/bin/env bash
# Quick start: builds rwsgi and serves examples/hello/wsgi.py on http://localhost:8000 with a
# throwaway Apache configuration, in the foreground (Ctrl-C stops it).
# Environment: PORT (8000), APP (the WSGI script), MPM (event).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
port="${PORT:-8000}"
mpm="${MPM:-event}"
app="$(realpath "${APP:-examples/hello/wsgi.py}")"
root="$(mktemp -d /tmp/rwsgi-example-XXXXXX)"
chmod 755 "$root"
# Apache's children run as an unprivileged user who must be able to read the module and the
# app: stage them in a world-readable place (the checkout may be in a private home).
cp target/mod_rwsgi.so "$root/"
mkdir "$root/app"
cp "$app" "$root/app/wsgi.py"
chmod -R a+rX "$root"
user=""
if [ "$(id -u)" = 0 ]; then user=$'User www-data\nGroup www-data'; fi
modules=/usr/lib/apache2/modules
cat > "$root/httpd.conf" <<CONF
ServerRoot $root
DefaultRuntimeDir $root
PidFile $root/httpd.pid
Listen $port
ServerName localhost
$user
LoadModule mpm_${mpm}_module $modules/mod_mpm_${mpm}.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule mime_module $modules/mod_mime.so
LoadModule wsgi_module $root/mod_rwsgi.so
TypesConfig /etc/mime.types
ErrorLog /dev/stderr
LogLevel info
LogFormat "%h \"%r\" %>s %b %Dus" short
CustomLog /dev/stdout short
WSGIScriptAlias / $root/app/wsgi.py
<Directory $root/app>
    Require all granted
</Directory>
CONF
echo "rwsgi: serving $app on http://localhost:$port/ (config: $root/httpd.conf; Ctrl-C to stop)"
# Own process group: Apache signals its whole group when it stops.
exec setsid --wait apache2 -f "$root/httpd.conf" -DFOREGROUND
