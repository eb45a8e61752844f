#!/bin/sh
# Inside the Debian 13 root (tests/dovecot24/in-root.sh): build /build
# against the root's Dovecot 2.4 and install its modules there (the root
# is the tests' own).
set -eu
# doveconf reads the mount table
[ -e /etc/mtab ] || ln -s /proc/self/mounts /etc/mtab
cd /build
autoreconf -fi >/dev/null 2>&1
./configure -q
./configure 2>/dev/null | grep -q "built for Dovecot's 2.4 auth API" ||
	{ echo "build: configure did not find the 2.4 API"; exit 1; }
make -s >/dev/null 2>&1 || { make; exit 1; }
make -s install >/dev/null
make -s bench/dms-bench >/dev/null
