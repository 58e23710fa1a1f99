# Mercurial's hgweb: contrib/hgweb.wsgi from the Mercurial 7.2.4 sdist (not in the wheel),
# pointed at an hgweb config file ('hg help hgweb') publishing every repository under
# repos/, with two repositories made with fixed users and dates (so their hashes, logs and
# archives are the same in every run).
set -euo pipefail
hg="$VENV_HGWEB/bin/hg"
export HGPLAIN=1 HGRCPATH=/dev/null HGENCODING=utf-8
mkdir -p cgi-bin repos
sed "s|^config = b\"/path/to/repo/or/config\"|config = b\"$SITE/hgweb.config\"|" \
    "$SDISTS/mercurial-7.2.4/contrib/hgweb.wsgi" > cgi-bin/hgweb.wsgi
grep -q "^config = b\"$SITE/hgweb.config\"" cgi-bin/hgweb.wsgi
cat > hgweb.config <<CONF
[paths]
/ = $SITE/repos/*

[web]
style = paper
allow-archive = gz zip bz2
allow-push = *
push_ssl = false
contact = Conformance <hg@example.com>
description = rwsgi conformance repositories
CONF

commit() {  # commit <n> <message>: the n-th hour of 2024-01-01, as Alice
    "$hg" commit -q -u "Alice <alice@example.com>" -d "2024-01-01 0$1:00:00 +0000" -m "$2"
}
"$hg" init repos/demo
cd repos/demo
printf 'demo\n====\n\nA repository served by hgweb.\n' > README.txt
printf 'def one():\n    return 1\n' > mod1.py
"$hg" add -q README.txt mod1.py
commit 1 "Initial import"
printf 'def two():\n    return 2\n' > mod2.py
printf '\nSee mod1.py and mod2.py.\n' >> README.txt
"$hg" add -q mod2.py
commit 2 "Add mod2"
"$hg" tag -q -u "Alice <alice@example.com>" -d "2024-01-01 03:00:00 +0000" v1.0
"$hg" bookmark -q stable
python3 -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 64)" > logo.bin
sed -i 's/return 1/return 1  # one/' mod1.py
"$hg" add -q logo.bin
commit 4 "Add a binary file, comment mod1"
printf '[web]\nname = demo\ndescription = The demo repository\n' > .hg/hgrc
cd ../..
"$hg" init repos/empty
printf '[web]\ndescription = Nothing here yet\n' > repos/empty/.hg/hgrc
cp "$CONFORMANCE/probe.wsgi" probe.wsgi
# The daemon (Apache's user) writes pushed changesets and its caches into the repositories.
chown -R www-data: repos
