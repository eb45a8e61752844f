#!/bin/sh
# Run Debian 12's mmdebstrap without installing it: the package is taken
# from the archive with apt-get download and unpacked to a temporary
# directory. Arguments are mmdebstrap's. Needs root (--mode=root).
#
#   scripts/mmdebstrap.sh [MMDEBSTRAP ARGS...]
set -eu
work=$(mktemp -d /tmp/dms-mmdebstrap.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q mmdebstrap >/dev/null 2>&1) ||
	{ apt-get update -q >/dev/null && (cd "$work" && apt-get download -q mmdebstrap); }
dpkg-deb -x "$work"/mmdebstrap_*.deb "$work/x"
"$work/x/usr/bin/mmdebstrap" "$@"
