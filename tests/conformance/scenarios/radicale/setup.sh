# Radicale 3.9.0's instance: a configuration file (DOCUMENTATION.md, "Configuration"), with
# Radicale's own Basic authentication against an htpasswd file (plain passwords, fixed), the
# filesystem storage in collections/ and the internal web interface. radicale.wsgi is the
# project's file (radicale.wsgi at the top of the Radicale 3.9.0 source tree; the wheel
# does not ship it), kept beside this script as released.
set -euo pipefail
cat > config <<CONF
[auth]
type = htpasswd
htpasswd_filename = $SITE/users
htpasswd_encryption = plain

[rights]
type = owner_only

[storage]
filesystem_folder = $SITE/collections

[web]
type = internal

[logging]
level = warning
CONF
printf 'alice:alicepw\nbob:bobpw\n' > users
mkdir -p collections
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes the collections.
chown -R www-data: collections
