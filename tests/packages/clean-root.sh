#!/bin/sh
# The package on a clean machine: in a Debian root made from Debian's
# archive with nothing but apt installed (SUITE bookworm: Dovecot 2.3;
# trixie: Dovecot 2.4), install DEB with apt-get as an administrator
# would (it pulls Dovecot), enable it as debian/README.Debian says (its
# commands and settings are read from that file), add an e-mail account
# and a master with the packaged CLI, start Dovecot and log in as
# user@example.com*admin over IMAP with a real client (Python's
# imaplib); then remove and purge the package and check that the master
# store, the accounts and the audit log are still there.
#
#   tests/packages/clean-root.sh SUITE DEB
#
# The pristine root is kept as a tarball (/var/tmp/dms-clean-SUITE.tar)
# and unpacked afresh for each run. Installing uses the host's network
# (Debian's archive); Dovecot runs in a private network namespace, so
# nothing listens on the host. The root's policy-rc.d keeps the
# packages' scripts from starting services, as in any chroot. Needs root.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
suite=${1:?usage: clean-root.sh SUITE DEB}
deb=${2:?usage: clean-root.sh SUITE DEB}
case $suite in
bookworm) version=12; dovecot=2.3 ;;
trixie) version=13; dovecot=2.4 ;;
*) echo "clean-root: SUITE is bookworm or trixie" >&2; exit 1 ;;
esac
[ "$(id -u)" = 0 ] || { echo "clean-root: needs root (chroot, unshare)" >&2; exit 1; }
readme=$top/debian/README.Debian
name=clean-root
. "$top/tests/packages/lib.sh"
new_root "$suite"
cp "$deb" "$root/tmp/"
pkg=/tmp/$(basename "$deb")

# The indented lines of README.Debian after the line HEADING, up to the
# next blank line: the commands and settings it tells administrators.
readme_block() {
	awk -v h="$1" '
		$0 == h { found = 1; next }
		found && /^     / { sub(/^     /, ""); print; seen = 1; next }
		found && seen && /^$/ { exit }
		found && !seen && /^$/ { next }
	' "$readme"
}

say "apt-get install ./$(basename "$deb")"
apt_install "$pkg"
# its Recommends bring an IMAP server: the master logins it exists for
in_root dpkg-query -W -f '${Status}\n' dovecot-imapd 2>/dev/null |
	grep -q "ok installed" || fail "Recommends did not bring dovecot-imapd"
# README.Debian's line for the servers, verbatim (apt-get asks nothing of
# a root that says yes, as an administrator would)
servers=$(readme_block "over IMAP or POP3, so install at least one of them, e.g." |
	grep '^apt-get install ')
[ "$servers" = "apt-get install dovecot-imapd dovecot-pop3d" ] ||
	fail "README.Debian's servers line: $servers"
echo 'APT::Get::Assume-Yes "true";' >"$root/etc/apt/apt.conf.d/90yes"
in_root sh -c "$servers" >"$root/install.log" 2>&1 ||
	{ cat "$root/install.log"; fail "$servers"; }
in_root dpkg-query -W -f '${Status}\n' dovecot-pop3d | grep -q "ok installed" ||
	fail "$servers did not install dovecot-pop3d"
in_root dpkg-query -W -f '${Package} ${Version}\n' dovecot-core \
	dovecot-imapd dovecot-auth-master-dms
abi=$(in_root dpkg-query -W -f '${Provides}' dovecot-core |
	grep -o 'dovecot-abi-[^ ,]*')
in_root dpkg-query -W -f '${Depends}\n' dovecot-auth-master-dms |
	grep -q "$abi" || fail "the package does not depend on $abi"
say "depends on $abi, which the installed dovecot-core provides"
for f in /usr/bin/auth-master-dms-setup \
	/usr/lib/dovecot/modules/auth/auth_master_dms.so \
	/usr/share/man/man8/auth-master-dms-setup.8.gz \
	/etc/dovecot/conf.d/auth-dms-master.conf.ext; do
	[ -e "$root$f" ] || fail "$f not installed"
done
[ ! -e "$root/usr/bin/setup" ] || fail "the package installed /usr/bin/setup"
if [ "$dovecot" = 2.4 ]; then
	[ -e "$root/usr/lib/dovecot/modules/settings/libauth_master_dms_settings.so" ] ||
		fail "the settings module is not installed"
fi
# installed, not enabled: Dovecot's own configuration still works
in_root doveconf -n >/dev/null || fail "doveconf with the package installed"
in_root doveconf -n | grep -q dms_master &&
	fail "the package enabled itself"
in_root auth-master-dms-setup --version

say "enabling it as README.Debian says"
adduser_cmd=$(readme_block "   that owns the mail (a uid of at least Dovecot's first_valid_uid, 500):" |
	grep '^adduser ')
[ -n "$adduser_cmd" ] || fail "no adduser command in README.Debian"
in_root sh -c "$adduser_cmd"
mail=$(readme_block "   Debian $version (Dovecot $dovecot):")
[ -n "$mail" ] || fail "no mail settings for Debian $version in README.Debian"
printf '%s\n' "$mail" >>"$root/etc/dovecot/local.conf"
# the test's own: a log file (no syslog in the root)
echo "log_path = /var/log/dovecot.log" >>"$root/etc/dovecot/local.conf"
includes=$(readme_block "   with these three, in this order (the dms_master userdb must be the")
[ "$(printf '%s\n' "$includes" | grep -c '^!include')" = 3 ] ||
	fail "README.Debian's includes: $includes"
auth=$root/etc/dovecot/conf.d/10-auth.conf
grep -q '^!include auth-system.conf.ext$' "$auth" ||
	fail "10-auth.conf has no '!include auth-system.conf.ext' line"
printf '%s\n' "$includes" >"$root/includes"
awk -v f="$root/includes" '
	$0 == "!include auth-system.conf.ext" {
		while ((getline l < f) > 0) print l; next }
	{ print }' "$auth" >"$auth.new"
mv "$auth.new" "$auth"
rm "$root/includes"
# the audit file, as README.Debian says
audit_dir=$(readme_block "Audit file (optional): one JSON line per master login attempt. Its" |
	grep '^install -d ')
[ -n "$audit_dir" ] || fail "no audit directory command in README.Debian"
in_root sh -c "$audit_dir"
snippet=$root/etc/dovecot/conf.d/auth-dms-master.conf.ext
if [ "$dovecot" = 2.4 ]; then
	sed -i 's|^  #dms_master_audit_file = |  dms_master_audit_file = |' "$snippet"
else
	sed -i 's|^  args = /etc/dovecot/dovecot-masters.cf$|  args = audit_file=/var/log/dovecot-dms/audit.json /etc/dovecot/dovecot-masters.cf|' "$snippet"
fi
grep -q 'audit_file.*/var/log/dovecot-dms/audit.json' "$snippet" ||
	fail "README.Debian's audit setting did not apply"
grep -q "/var/log/dovecot-dms/audit.json" "$readme" ||
	fail "README.Debian does not name the audit file"

say "adding an account and a master with auth-master-dms-setup"
in_root auth-master-dms-setup email add user@example.com user-secret
in_root auth-master-dms-setup dovecot-master add admin admin-secret
in_root auth-master-dms-setup dovecot-master list

auth_test=$(readme_block "4. Restart Dovecot and try it:" | grep '^doveadm auth test ')
[ -n "$auth_test" ] || fail "no doveadm auth test in README.Debian"
restart=$(readme_block "4. Restart Dovecot and try it:" | grep '^systemctl ')
[ "$restart" = "systemctl restart dovecot" ] ||
	fail "README.Debian's restart: $restart"
# a root has no systemd: Dovecot is started below (in_net) as the unit's
# ExecStart does
unit=$root/lib/systemd/system/dovecot.service
[ -f "$unit" ] || unit=$root/usr/lib/systemd/system/dovecot.service
grep -q '^ExecStart=/usr/sbin/dovecot -F$' "$unit" ||
	fail "dovecot.service does not start /usr/sbin/dovecot -F"
say "$restart: no systemd in a root; Dovecot started as its unit does"
say "starting Dovecot (private network) and logging in over IMAP"
in_net "
	$deliver_script
	r sh -c \"\$2 admin-secret\"
	python3 \"\$top/tests/dovecot24/imap-check.py\" \\
		'user@example.com*admin' admin-secret OK \\
		'user@example.com*admin' wrong-secret NO \\
		user@example.com user-secret OK \\
		'user@example.com*nobody' admin-secret NO
" user@example.com "$auth_test" || { cat "$root/var/log/dovecot.log" 2>/dev/null; fail "IMAP"; }
version_line=$(grep -o 'passdb dms_master: auth-master-dms [^ ]* (Dovecot ABI [^ ]*), masters' \
	"$root/var/log/dovecot.log" | head -n 1)
[ -n "$version_line" ] || fail "no version line in Dovecot's log"
say "log: $version_line"
grep -q '"master":"admin"' "$root/var/log/dovecot-dms/audit.json" ||
	fail "no audit record"
say "audit: $(wc -l <"$root/var/log/dovecot-dms/audit.json") records"

data="/etc/dovecot/dovecot-masters.cf /etc/dovecot/users /var/log/dovecot-dms/audit.json"
sums() { (cd "$root" && for f in $data; do md5sum ".$f"; done); }
before=$(sums)
say "apt-get remove"
in_root apt-get -q -y remove dovecot-auth-master-dms >/dev/null
[ "$(sums)" = "$before" ] || fail "remove changed the administrator's data"
[ -e "$snippet" ] || fail "remove deleted a snippet (a conffile)"
[ ! -e "$root/usr/bin/auth-master-dms-setup" ] || fail "remove left the CLI"
say "apt-get purge"
in_root apt-get -q -y purge dovecot-auth-master-dms >/dev/null
[ "$(sums)" = "$before" ] || fail "purge changed the administrator's data"
[ ! -e "$snippet" ] || fail "purge left the snippets"
[ ! -e "$root/usr/lib/dovecot/modules/auth/auth_master_dms.so" ] ||
	fail "purge left the module"
in_root dpkg-query -W -f '${Status}\n' dovecot-auth-master-dms 2>/dev/null |
	grep -q "ok installed" && fail "still installed"
say "after purge, still there:"
(cd "$root" && ls -ln $(for f in $data; do echo ".$f"; done))
say "passed"
