#!/bin/bash
# docker-mailserver start-up hook: master accounts with auth-master-dms's
# dms_master passdb, reading DMS's own dovecot-masters.cf, so that DMS's
# "setup dovecot-master add|update|del|list" keeps working unchanged and
# each master's dms_ options (README.md, policy) hold.
#
# Copy this file to docker-data/dms/config/user-patches.sh (or append it
# to yours): DMS runs it at the end of every start-up, before Dovecot
# starts. Put the package next to it, in docker-data/dms/config/ (the
# container's /tmp/docker-mailserver/):
#   DMS 15 and earlier (Debian 12, Dovecot 2.3): the Debian 12 package
#   DMS's Debian 13 image (Dovecot 2.4):         the Debian 13 package
# or both: the one built for the container's Dovecot ABI is installed.
# It then applies the file for that Dovecot from
# /usr/share/auth-master-dms/docker-mailserver/: on 2.3 it rewrites
# conf.d/auth-master.inc (2.3 cannot replace a passdb declared before),
# on 2.4 it adds a block to local.conf that merges into DMS's
# passdb-master in place. Either way DMS's passwd-file masterdb is no
# longer read.
#
# Fails (and DMS reports it) when no package matches: Dovecot would
# otherwise start with DMS's own master passdb, without the policy.
set -euo pipefail

# DMS mounts docker-data/dms/config/ here
config=/tmp/docker-mailserver
dovecot_dir=/etc/dovecot
share=/usr/share/auth-master-dms/docker-mailserver
package=dovecot-auth-master-dms

log() { echo "auth-master-dms: $*"; }

abi=$(dpkg-query -W -f='${Provides}' dovecot-core 2>/dev/null |
	grep -o 'dovecot-abi-[^ ,]*' || true)
if [ -z "$abi" ]; then
	log "ERROR: dovecot-core is not installed, or provides no dovecot-abi" >&2
	exit 1
fi

deb=
for candidate in "$config/${package}"_*.deb; do
	[ -f "$candidate" ] || continue
	if dpkg-deb -f "$candidate" Depends | grep -qF "$abi"; then
		deb=$candidate
	fi
done
installed=$(dpkg-query -W -f='${Status} ${Version}' "$package" 2>/dev/null || true)
if [ -n "$deb" ]; then
	version=$(dpkg-deb -f "$deb" Version)
	if [ "$installed" != "install ok installed $version" ]; then
		log "installing $(basename "$deb") (for $abi)"
		# Dovecot is started by DMS's supervisord after this script:
		# the packages' scripts must not start or restart it
		policy=/usr/sbin/policy-rc.d
		created_policy=no
		if [ ! -e "$policy" ]; then
			printf '#!/bin/sh\nexit 101\n' >"$policy"
			chmod 755 "$policy"
			created_policy=yes
		fi
		status=0
		DEBIAN_FRONTEND=noninteractive apt-get -q -y \
			--no-install-recommends install "$deb" || status=$?
		[ "$created_policy" = yes ] && rm -f "$policy"
		if [ "$status" != 0 ]; then
			log "ERROR: installing $(basename "$deb") failed" >&2
			exit 1
		fi
	fi
elif [ "${installed%% *}" != install ]; then
	log "ERROR: no ${package}_*.deb for $abi in $config" >&2
	exit 1
fi

case $(dovecot --version) in
2.3.*)
	bash "$share/docker-mailserver-user-patches.sh"
	log "conf.d/auth-master.inc: dms_master on $config/dovecot-masters.cf"
	;;
*)
	# one block in local.conf (DMS's dovecot.cf), replaced at every start
	local_conf=$dovecot_dir/local.conf
	begin="# BEGIN auth-master-dms (user-patches.sh)"
	end="# END auth-master-dms"
	new=$(mktemp)
	if [ -f "$local_conf" ]; then
		awk -v b="$begin" -v e="$end" '
			$0 == b { skip = 1; next }
			$0 == e { skip = 0; next }
			!skip' "$local_conf" >"$new"
	fi
	{ echo "$begin"; cat "$share/docker-mailserver.cf"; echo "$end"; } >>"$new"
	cat "$new" >"$local_conf"
	rm -f "$new"
	log "local.conf: dms_master on $config/dovecot-masters.cf"
	;;
esac
