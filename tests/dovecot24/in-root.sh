#!/bin/sh
# Run a command in the Debian 13 root (scripts/debian13-root.sh) on a copy
# of this tree at /build, in a private mount and network namespace: the
# root's Dovecot 2.4 is started there, on a loopback of its own, and
# nothing touches this system.
#
#   tests/dovecot24/in-root.sh COMMAND [ARGS...]
#       (DMS_DEBIAN13_ROOT: where the root is kept; made when missing.
#        DMS_DEBIAN_SUITE: forky for Debian testing's newest 2.4.x, in
#        a root of its own)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=${DMS_DEBIAN_SUITE:-trixie}
if [ "$suite" = trixie ]; then
	root=${DMS_DEBIAN13_ROOT:-/var/tmp/dms-debian13-root}
else
	root=/var/tmp/dms-debian-$suite-root
fi
[ "$(id -u)" = 0 ] || { echo "in-root: needs root (chroot, unshare)" >&2; exit 1; }
# a root that cannot be made fails the run: never a silent skip
sh "$top/scripts/debian13-root.sh" "$root" "$suite" ||
	{ echo "in-root: could not make the Debian $suite root $root" >&2; exit 1; }
rm -rf "$root/build"
mkdir -p "$root/build"
(cd "$top" && git ls-files -co --exclude-standard | tar -cf - -T -) |
	tar -xf - -C "$root/build"
exec unshare --mount --net --propagation private -- sh -c '
	set -eu
	root=$1
	shift
	ip link set lo up
	# a mount point of its own: unshare --propagation (scripts/demo.sh)
	# needs / to be one inside the chroot
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/tmp"
	mount -t tmpfs tmpfs "$root/run"
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 "$@"
' sh "$root" "$@"
