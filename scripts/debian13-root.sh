#!/bin/sh
# Make a Debian 13 (trixie) root with Dovecot 2.4 and the build tools, from
# Debian's archive, for building and trying the module against Dovecot 2.4
# on this Debian 12 machine. Nothing is installed into the system:
# mmdebstrap is taken from Debian 12's archive (scripts/mmdebstrap.sh).
#
#   scripts/debian13-root.sh ROOT [SUITE]
#       (does nothing when ROOT is complete)
#
# The packages scripts/deps.sh installs (but clang: fuzzing stays on the
# host; and chromium: the webmail's one browser check runs on the host),
# so that the whole test suite and scripts/demo.sh run in the root. A root made with another package list
# is made again. SUITE (default trixie) may name Debian's testing suite,
# forky, for the newest Dovecot 2.4.x: then only what the build and the
# smoke test need (testing moves; the fewer packages, the fewer
# transitions that can break it).
set -eu
root=${1:?usage: debian13-root.sh ROOT [SUITE]}
suite=${2:-trixie}
if [ "$suite" = trixie ]; then
	packages=dovecot-core,dovecot-dev,dovecot-imapd,dovecot-pop3d,\
dovecot-ldap,gcc,libc6-dev,make,autoconf,automake,libtool,pkg-config,\
libcrypt-dev,libldap-dev,zlib1g-dev,liboath-dev,libqrencode-dev,check,python3,python3-pytest,sasl2-bin,procps,slapd,\
ldap-utils,openssl,valgrind,build-essential,curl,iproute2,mount,debhelper,lintian,\
dovecot-managesieved,dovecot-sieve,dovecot-submissiond,isync,\
roundcube-core,roundcube-sqlite3,roundcube-plugins,php-cli,postfix
else
	packages=dovecot-core,dovecot-dev,dovecot-imapd,dovecot-pop3d,gcc,\
libc6-dev,make,autoconf,automake,libtool,pkg-config,libcrypt-dev,libldap-dev,zlib1g-dev,\
liboath-dev,libqrencode-dev,python3
fi
[ "$(cat "$root/.dms-complete" 2>/dev/null)" = "$packages" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "debian13-root: needs root" >&2; exit 1; }
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/* *$/\1/p' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
rm -rf "$root"
# testing's Release expires within days; a mirror that is a snapshot
# (signatures are still checked) serves it expired
sh "$(dirname "$0")/mmdebstrap.sh" --quiet --mode=root --variant=apt \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--include="$packages" \
	--customize-hook='printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"' \
	"$suite" "$root" "deb $mirror $suite main"
echo "$packages" > "$root/.dms-complete"
