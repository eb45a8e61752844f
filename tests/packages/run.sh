#!/bin/sh
# The Debian packages: build dovecot-auth-master-dms for Debian 12
# (Dovecot 2.3, on this machine) and for Debian 13 (Dovecot 2.4, in the
# tests' Debian 13 root), each checked by lintian (scripts/build-deb.sh);
# then, for each, in clean roots of its Debian: install and use it as
# README.Debian says (tests/packages/clean-root.sh), and the
# docker-mailserver recipe in a root laid out like DMS's container, given
# both packages to choose from (tests/packages/dms-recipe.sh). Prints
# what each package holds, its dependencies and lintian's output.
#
#   tests/packages/run.sh [bookworm] [trixie]    (default: both)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /var/tmp/dms-packages.XXXXXX)
trap 'rm -rf "$out"' EXIT
[ $# -gt 0 ] || set -- bookworm trixie
for suite in "$@"; do
	case $suite in
	bookworm)
		echo "== package for Debian 12 (Dovecot $(dovecot --version | cut -d' ' -f1)), on this machine"
		sh "$top/scripts/build-deb.sh" "$out/$suite"
		;;
	trixie)
		echo "== package for Debian 13, in the Debian 13 root"
		root=${DMS_DEBIAN13_ROOT:-/var/tmp/dms-debian13-root}
		sh "$top/tests/dovecot24/in-root.sh" \
			sh /build/scripts/build-deb.sh /build/packages
		mkdir -p "$out/$suite"
		cp "$root/build/packages/"* "$out/$suite/"
		;;
	*) echo "run: unknown suite $suite" >&2; exit 1 ;;
	esac
	deb=$(ls "$out/$suite"/dovecot-auth-master-dms_*.deb)
	echo "-- $(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
	dpkg-deb -c "$deb" | awk '$6 !~ /\/$/ { print "   " $1, $6 }'
	echo "-- lintian (errors and warnings fail the build):"
	sed 's/^/   /' "$out/$suite/lintian.txt"
done
# both packages have one file name: each keeps its own directory, and the
# recipe gets them renamed as an operator would keep them side by side
debs=
for suite in "$@"; do
	cp "$out/$suite"/dovecot-auth-master-dms_*.deb \
		"$out/dovecot-auth-master-dms_$suite.deb"
	debs="$debs $out/dovecot-auth-master-dms_$suite.deb"
done
for suite in "$@"; do
	echo "== Debian $suite: a clean root"
	sh "$top/tests/packages/clean-root.sh" "$suite" \
		"$(ls "$out/$suite"/dovecot-auth-master-dms_*.deb)"
	echo "== Debian $suite: the docker-mailserver recipe"
	# shellcheck disable=SC2086
	sh "$top/tests/packages/dms-recipe.sh" "$suite" $debs
done
