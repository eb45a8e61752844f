#!/bin/sh
# Run the integration tests against a real Dovecot, in a private mount and
# network namespace: the freshly built module is bind-mounted over
# Dovecot's auth module directory for this namespace only, and the tests
# get a loopback of their own (standard ports free, nothing shared with
# the host). Nothing is installed into the system. Needs root.
#
#   tests/integration/run.sh [pytest args...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
so="$top/src/.libs/auth_master_dms.so"
[ -f "$so" ] || { echo "run.sh: $so not built (run make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (unshare, mount)" >&2; exit 1; }

export DMS_TOP="$top"
exec unshare --mount --net --propagation private -- sh -c '
	set -eu
	ip link set lo up
	mods=$(mktemp -d /tmp/dms-modules.XXXXXX)
	trap "rm -rf \"$mods\"" EXIT
	cp -a /usr/lib/dovecot/modules/auth/. "$mods/"
	cp "$DMS_TOP/src/.libs/auth_master_dms.so" "$mods/"
	chmod 755 "$mods"
	mount --bind "$mods" /usr/lib/dovecot/modules/auth
	cd "$DMS_TOP"
	[ $# -gt 0 ] || set -- tests/integration
	/usr/bin/python3 -m pytest -p no:cacheprovider "$@"
' sh "$@"
