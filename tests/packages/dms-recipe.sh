#!/bin/sh
# contrib/docker-mailserver/user-patches.sh against a root laid out like
# docker-mailserver's container (containers cannot run here): a clean
# Debian root of the image's Debian (SUITE bookworm: DMS 15, Dovecot 2.3;
# trixie: DMS's Debian 13 image, Dovecot 2.4) with Debian's Dovecot, and
# DMS's own files in their places: conf.d/10-auth.conf,
# auth-passwdfile.inc and auth-master.inc (passwd-file masters on
# /etc/dovecot/masterdb), /etc/dovecot/userdb, the mail user docker
# (5000), and /tmp/docker-mailserver/ with dovecot-masters.cf as DMS's
# "setup dovecot-master add" writes it. The packages given (one or both)
# are put there as the recipe says. The recipe runs twice, as at every
# start-up; then one master passdb (dms_master) must be left, master
# logins over IMAP work, a master's dms_allow holds, and a master removed
# from dovecot-masters.cf is refused though masterdb still has it.
#
#   tests/packages/dms-recipe.sh SUITE DEB [DEB]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=${1:?usage: dms-recipe.sh SUITE DEB [DEB]}
shift
[ $# -gt 0 ] || { echo "usage: dms-recipe.sh SUITE DEB [DEB]" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "dms-recipe: needs root (chroot, unshare)" >&2; exit 1; }
name=dms-recipe
. "$top/tests/packages/lib.sh"
new_root "$suite"

say "the image's Dovecot (dovecot-core, -imapd, -pop3d)"
apt_install dovecot-core dovecot-imapd dovecot-pop3d
v24=no
in_root dovecot --version | grep -q '^2\.3\.' || v24=yes

say "DMS's layout"
# as in any container
ln -s /proc/self/mounts "$root/etc/mtab"
in_root groupadd -g 5000 docker
in_root useradd -u 5000 -g docker -d /var/mail -M docker
conf=$root/etc/dovecot
cfg=$root/tmp/docker-mailserver
mkdir -p "$cfg"
hash() { in_root doveadm pw -s SHA512-CRYPT -p "$1"; }
# "setup email add" (postfix-accounts.cf) turned into /etc/dovecot/userdb
# by DMS: NAME:HASH:5000:5000::HOME::
echo "user@example.com:$(hash user-secret):5000:5000::/var/mail/example.com/user::" \
	>"$conf/userdb"
# "setup dovecot-master add": NAME|HASH; one with a policy
{
	echo "admin|$(hash admin-secret)"
	echo "scoped|$(hash scoped-secret)|dms_allow=*@example.org"
} >"$cfg/dovecot-masters.cf"
# DMS's _create_masters(): masterdb, NAME:HASH
sed 's/^\([^|]*\)|\([^|]*\).*/\1:\2/' "$cfg/dovecot-masters.cf" >"$conf/masterdb"
# as DMS leaves them
chmod 640 "$conf/userdb" "$conf/masterdb"
in_root chgrp dovecot /etc/dovecot/userdb /etc/dovecot/masterdb
cat >"$conf/conf.d/10-auth.conf" <<'EOF'
auth_mechanisms = plain login
!include auth-passwdfile.inc
!include auth-master.inc
EOF
if [ "$v24" = no ]; then
	cat >"$conf/conf.d/auth-passwdfile.inc" <<'EOF'
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=SHA512-CRYPT username_format=%u /etc/dovecot/userdb
}

userdb {
  driver = passwd-file
  args = username_format=%u /etc/dovecot/userdb
  default_fields = uid=docker gid=docker home=/var/mail/%d/%n
}
EOF
	cat >"$conf/conf.d/auth-master.inc" <<'EOF'
auth_master_user_separator = *
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%u /etc/dovecot/masterdb
  master = yes
  result_success = continue
  #auth_bind = yes
}
EOF
	cat >"$conf/conf.d/10-mail.conf" <<'EOF'
mail_location = maildir:/var/mail/%d/%n
mail_privileged_group = docker
namespace inbox {
  inbox = yes
}
EOF
else
	cat >"$conf/conf.d/auth-passwdfile.inc" <<'EOF'
passdb passdb-default {
  driver                  = passwd-file
  passwd_file_path        = /etc/dovecot/userdb
  auth_username_format    = %{user}
  mechanisms_filter       = plain login
  default_password_scheme = SHA512-CRYPT
}

userdb userdb-default {
  driver                  = passwd-file
  passwd_file_path        = /etc/dovecot/userdb
  auth_username_format    = %{user}
  fields {
    uid:default = docker
    gid:default = docker
    home:default = /var/mail/%{user | domain}/%{user | username}
  }
}
EOF
	cat >"$conf/conf.d/auth-master.inc" <<'EOF'
auth_master_user_separator = *

passdb passdb-master {
  master                  = yes
  driver                  = passwd-file
  passwd_file_path        = /etc/dovecot/masterdb
  auth_username_format    = %{user}
  default_password_scheme = SHA512-CRYPT
  result_success          = continue

  # Required for LDAP
  #auth_bind = yes
}
EOF
	cat >"$conf/conf.d/10-mail.conf" <<'EOF'
mail_driver = maildir
mail_path = /var/mail/%{user | domain}/%{user | username}
mail_privileged_group = docker
namespace inbox {
  inbox = yes
}
EOF
	# DMS copies docker-data/dms/config/dovecot.cf here; the operator's
	# own settings must survive the recipe
	echo "mail_max_userip_connections = 50" >"$conf/local.conf"
fi
echo "log_path = /var/log/dovecot.log" >"$conf/conf.d/99-test-log.conf"
mkdir -p "$root/var/mail"
in_root chown docker:docker /var/mail
# DMS's own Dovecot, before the recipe: its passwd-file master passdb
in_root doveconf -n >"$root/before.conf"
grep -q "masterdb" "$root/before.conf" || fail "the layout has no masterdb passdb"

say "the recipe, as user-patches.sh (twice: every start-up)"
for deb in "$@"; do
	cp "$deb" "$cfg/"
done
cp "$top/contrib/docker-mailserver/user-patches.sh" "$cfg/"
for start in 1 2; do
	in_root bash /tmp/docker-mailserver/user-patches.sh >"$root/recipe.log" 2>&1 ||
		{ cat "$root/recipe.log"; fail "user-patches.sh, start $start"; }
	grep '^auth-master-dms:' "$root/recipe.log"
done
in_root dpkg-query -W -f '${Package} ${Version} ${Depends}\n' dovecot-auth-master-dms
in_root doveconf -n >"$root/after.conf" 2>"$root/after.err" ||
	{ cat "$root/after.err"; fail "doveconf"; }
[ ! -s "$root/after.err" ] || { cat "$root/after.err"; fail "doveconf warnings"; }
masters=$(awk '/^passdb/ { inb = 1; d = ""; m = 0 }
	inb && /^  driver = / { d = $3 }
	inb && /^  master = yes/ { m = 1 }
	inb && /^}/ { if (m) print d; inb = 0 }' "$root/after.conf")
[ "$masters" = dms_master ] || fail "master passdbs after the recipe: $masters"
say "one master passdb: $masters"
if [ "$v24" = no ]; then
	grep -q masterdb "$root/after.conf" && fail "masterdb is still configured"
else
	# 2.4 keeps DMS's passwd_file_path in the merged block, ignored by
	# the dms_master driver (README.md); the logins below show it unread
	grep -q '^mail_max_userip_connections = 50$' "$root/after.conf" ||
		fail "the recipe lost local.conf's own settings"
	[ "$(grep -c '^# BEGIN auth-master-dms' "$conf/local.conf")" = 1 ] ||
		fail "local.conf: the block is not there exactly once"
fi

say "Dovecot with the recipe applied"
in_net "
	$deliver_script
	python3 \"\$top/tests/dovecot24/imap-check.py\" \\
		'user@example.com*admin' admin-secret OK \\
		user@example.com user-secret OK \\
		'user@example.com*admin' wrong NO \\
		'user@example.com*scoped' scoped-secret NO
	# DMS's 'setup dovecot-master del admin': the line goes, masterdb
	# keeps it until DMS regenerates it
	sed -i '/^admin|/d' \"\$2\"
	python3 \"\$top/tests/dovecot24/imap-check.py\" \\
		'user@example.com*admin' admin-secret NO
" user@example.com "$cfg/dovecot-masters.cf" >"$root/imap.log" 2>&1 ||
	{ cat "$root/imap.log" "$root/var/log/dovecot.log" 2>/dev/null; fail "IMAP"; }
cat "$root/imap.log"
# refused by its dms_allow, not for its password
grep -q 'scoped: NO .*AUTHORIZATIONFAILED' "$root/imap.log" ||
	fail "scoped was not refused by its policy"
grep -q "^admin:" "$conf/masterdb" || fail "masterdb lost admin: the test proves nothing"
say "passed"
