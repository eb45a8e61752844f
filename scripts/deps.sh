#!/bin/sh
# Install the Debian packages (12 or 13) this project builds, tests and
# runs with; --run: only those the build and scripts/demo.sh need.
# Idempotent: does nothing when everything is there. Needs root.
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
dovecot-core dovecot-dev dovecot-imapd dovecot-pop3d
libcrypt-dev libldap-dev zlib1g-dev liboath-dev libqrencode-dev sasl2-bin iproute2 util-linux mount curl"
[ "${1:-}" = --run ] || PACKAGES="$PACKAGES check
python3 python3-pytest procps clang valgrind
slapd ldap-utils dovecot-ldap openssl debhelper lintian dpkg-dev
dovecot-managesieved dovecot-sieve dovecot-submissiond isync
roundcube-core roundcube-sqlite3 roundcube-plugins php-cli postfix
chromium chromium-driver"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# wait for another apt or dpkg (unattended-upgrades, a second run) instead
# of failing at once on its lock
lock="-o DPkg::Lock::Timeout=600"
apt-get $lock update -q
# policy-rc.d: the packages must not start the system's own Dovecot or
# saslauthd; the project starts private instances of its own.
policy=/usr/sbin/policy-rc.d
created_policy=no
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	created_policy=yes
fi
apt-get $lock install -y -q --no-install-recommends $missing
[ "$created_policy" = yes ] && rm -f "$policy"
exit 0
