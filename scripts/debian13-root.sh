#!/bin/sh
# Make a Debian 13 (trixie) root with Dovecot 2.4 and the build tools, from
# Debian's archive, for building and trying the module against Dovecot 2.4
# on this Debian 12 machine. Nothing is installed into the system:
# mmdebstrap is taken from Debian 12's archive with apt-get download.
#
#   scripts/debian13-root.sh ROOT     (does nothing when ROOT is complete)
set -eu
root=${1:?usage: debian13-root.sh ROOT}
[ -e "$root/.dms-complete" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "debian13-root: needs root" >&2; exit 1; }
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/dms-mmdebstrap.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q mmdebstrap >/dev/null 2>&1) ||
	{ apt-get update -q >/dev/null && (cd "$work" && apt-get download -q mmdebstrap); }
dpkg-deb -x "$work"/mmdebstrap_*.deb "$work/x"
rm -rf "$root"
"$work/x/usr/bin/mmdebstrap" --quiet --mode=root --variant=apt \
	--include=dovecot-core,dovecot-dev,dovecot-imapd,dovecot-pop3d,gcc,libc6-dev,make,autoconf,automake,libtool,pkg-config,libcrypt-dev,check,python3 \
	trixie "$root" "deb $mirror trixie main"
touch "$root/.dms-complete"
