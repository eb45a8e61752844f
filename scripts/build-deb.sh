#!/bin/sh
# Build the Debian package (dovecot-auth-master-dms) of this tree for the
# Debian this runs on, against its Dovecot, then check it with lintian.
#
#   scripts/build-deb.sh OUTDIR
#
# The tree is copied first (in a git checkout what git tracks, and new
# files it does not ignore): dpkg-buildpackage builds in place and writes to the parent
# directory. OUTDIR gets the .deb, the .buildinfo and .changes, and
# lintian.txt, lintian's whole output; the script fails on a lintian
# error or warning (overrides: debian/*.lintian-overrides).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/dms-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -co --exclude-standard | tar -cf - -T -) |
		tar -xf - -C "$work/src"
else
	# a copy made that way already (tests/dovecot24/in-root.sh)
	tar -C "$top" -cf - . | tar -xf - -C "$work/src"
fi
(cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log"
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
grep -E "^dpkg-(shlibdeps|gencontrol): warning" "$work/build.log" || true
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out/"
# --fail-on: error and warning tags fail the build; info and pedantic
# are shown (-I) but do not
lintian -I --fail-on error,warning "$work"/*.changes >"$out/lintian.txt" 2>&1 ||
	{ cat "$out/lintian.txt"; echo "build-deb: lintian: errors or warnings" >&2; exit 1; }
echo "build-deb: $(cd "$out" && ls ./*.deb | sed 's|^\./||')"
