#!/bin/sh
# Inside the Debian 13 root (tests/dovecot24/in-root.sh): build /build
# against the root's Dovecot 2.4 and install its modules there (the root
# is the tests' own).
set -eu
# doveconf reads the mount table
[ -e /etc/mtab ] || ln -s /proc/self/mounts /etc/mtab
cd /build
autoreconf -fi >/dev/null 2>&1
api=$(./configure 2>/dev/null | sed -n "s/^configure: built for //p")
case $api in
"Dovecot's 2.4 auth API"*) echo "build: Dovecot $(dovecot --version), $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion): $api" ;;
*) echo "build: configure did not find the 2.4 API: $api"; exit 1 ;;
esac
# every source, with the warnings shown: none are allowed (-Wall -Wextra)
make -s >/tmp/build.log 2>&1 || { cat /tmp/build.log; exit 1; }
make -s bench/dms-bench >>/tmp/build.log 2>&1 || { cat /tmp/build.log; exit 1; }
if grep -q "warning:" /tmp/build.log; then
	grep -B2 -A6 "warning:" /tmp/build.log
	echo "build: compiler warnings"
	exit 1
fi
make -s install >/dev/null
