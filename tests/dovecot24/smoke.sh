#!/bin/sh
# Dovecot 2.4 smoke test: build this tree in a Debian 13 root
# (scripts/debian13-root.sh), install the module and its settings module
# there, start Dovecot 2.4.1 with a master passdb and the dms_master
# userdb, and check master logins over IMAP and doveadm, the policy, and
# the start-up errors for a 2.3-style format and a missing path. In a
# private mount and network namespace: nothing touches the system.
#
#   tests/dovecot24/smoke.sh      (DMS_DEBIAN13_ROOT: where the root is kept)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
root=${DMS_DEBIAN13_ROOT:-/var/tmp/dms-debian13-root}
sh "$top/scripts/debian13-root.sh" "$root"
rm -rf "$root/build" "$root/tmp/dt"
mkdir -p "$root/build"
(cd "$top" && git ls-files -co --exclude-standard | tar -cf - -T -) |
	tar -xf - -C "$root/build"
exec unshare --mount --net --propagation private -- sh -c '
	set -eu
	ip link set lo up
	mount -t proc proc "$1/proc"
	mount --bind /dev "$1/dev"
	chroot "$1" sh /build/tests/dovecot24/smoke-inner.sh
' sh "$root"
