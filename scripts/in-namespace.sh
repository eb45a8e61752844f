#!/bin/sh
# Run a command in a private mount and network namespace in which Dovecot
# loads the freshly built modules and runs the freshly built dms-session
# service: a copy of Dovecot's directory with ours added (the auth module,
# the mail plugins, the service) is bind-mounted over /usr/lib/dovecot for
# this namespace only,
# and loopback is private (standard ports free, nothing shared with the
# host). Nothing is installed into the system. Needs root.
#
#   scripts/in-namespace.sh COMMAND [ARGS...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
so="$top/src/.libs/auth_master_dms.so"
for f in "$so" "$top/src/.libs/lib30_dms_read_only_plugin.so" \
	"$top/src/.libs/lib20_dms_session_plugin.so" "$top/src/dms-session"; do
	[ -f "$f" ] || { echo "in-namespace: $f not built (run make)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "in-namespace: needs root (unshare, mount)" >&2; exit 1; }

export DMS_TOP="$top"
exec unshare --mount --net --propagation private -- sh -c '
	set -eu
	ip link set lo up
	lib=$(mktemp -d /tmp/dms-dovecot-lib.XXXXXX)
	trap "rm -rf \"$lib\"" EXIT
	cp -a /usr/lib/dovecot/. "$lib/"
	cp "$DMS_TOP/src/.libs/auth_master_dms.so" "$lib/modules/auth/"
	cp "$DMS_TOP/src/.libs/lib30_dms_read_only_plugin.so" \
		"$DMS_TOP/src/.libs/lib20_dms_session_plugin.so" "$lib/modules/"
	cp "$DMS_TOP/src/dms-session" "$lib/"
	chmod 755 "$lib"
	mount --bind "$lib" /usr/lib/dovecot
	cd "$DMS_TOP"
	"$@"
' sh "$@"
