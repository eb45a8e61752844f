#!/bin/sh
# Run a command in a private mount and network namespace in which Dovecot
# loads the freshly built modules: the system's modules plus ours (the auth
# module and the mail plugin) are bind-mounted over Dovecot's module
# directory for this namespace only,
# and loopback is private (standard ports free, nothing shared with the
# host). Nothing is installed into the system. Needs root.
#
#   scripts/in-namespace.sh COMMAND [ARGS...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
so="$top/src/.libs/auth_master_dms.so"
for f in "$so" "$top/src/.libs/lib30_dms_read_only_plugin.so"; do
	[ -f "$f" ] || { echo "in-namespace: $f not built (run make)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "in-namespace: needs root (unshare, mount)" >&2; exit 1; }

export DMS_TOP="$top"
exec unshare --mount --net --propagation private -- sh -c '
	set -eu
	ip link set lo up
	mods=$(mktemp -d /tmp/dms-modules.XXXXXX)
	trap "rm -rf \"$mods\"" EXIT
	cp -a /usr/lib/dovecot/modules/. "$mods/"
	cp "$DMS_TOP/src/.libs/auth_master_dms.so" "$mods/auth/"
	cp "$DMS_TOP/src/.libs/lib30_dms_read_only_plugin.so" "$mods/"
	chmod 755 "$mods"
	mount --bind "$mods" /usr/lib/dovecot/modules
	cd "$DMS_TOP"
	"$@"
' sh "$@"
