#!/bin/sh
# Inside the Debian 13 root (tests/dovecot24/smoke.sh), after
# build-inner.sh.
set -eu
d=/tmp/dt
check=/build/tests/dovecot24/imap-check.py
mkdir -p $d/mail/example.com/user/new $d/mail/example.com/user/cur \
	$d/mail/example.com/user/tmp
printf 'Subject: Hello 2.4\r\n\r\nbody\r\n' > $d/mail/example.com/user/new/1.M1P1.x
chown -R 65534:65534 $d/mail
echo "admin|$(doveadm pw -s SHA512-CRYPT -p top-secret)" > $d/masters.cf
echo "scoped|$(doveadm pw -s SHA512-CRYPT -p top-secret)|dms_allow=*@example.org" >> $d/masters.cf
echo "user@example.com:$(doveadm pw -s SHA512-CRYPT -p secret)::::::" > $d/users
chown root:dovecot $d/masters.cf $d/users
chmod 0640 $d/masters.cf $d/users
cat > $d/dovecot.conf <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
ssl = no
auth_allow_cleartext = yes
auth_verbose = yes
auth_failure_delay = 0
mail_driver = maildir
mail_path = $d/mail/%{user | domain}/%{user | username}
auth_master_user_separator = *
passdb dms_master {
  driver = dms_master
  master = yes
  result_success = continue
  dms_master_path = $d/masters.cf
}
passdb users {
  driver = passwd-file
  passwd_file_path = $d/users
  result_success = continue-ok
}
passdb dms_master_check {
  driver = dms_master_check
}
userdb users {
  driver = passwd-file
  passwd_file_path = $d/users
  fields {
    uid = 65534
    gid = 65534
    home = $d/mail/%{user | domain}/%{user | username}
  }
  result_success = continue-ok
}
userdb dms_master {
  driver = dms_master
}
service dms-session {
  executable = dms-session
  process_limit = 1
  unix_listener dms-session {
    mode = 0666
  }
}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
fail() { echo "smoke: FAILED: $*"; tail -20 $d/dovecot.log; doveadm -c $d/dovecot.conf stop 2>/dev/null || :; exit 1; }
doveconf -c $d/dovecot.conf -n >/dev/null || fail "doveconf refused the settings"
dovecot -c $d/dovecot.conf
# scoped has dms_allow=*@example.org
python3 $check \
	"user@example.com*admin" top-secret OK \
	"user@example.com*admin" wrong NO \
	"user@example.com*nobody" top-secret NO \
	"user@example.com*scoped" top-secret NO \
	"user@example.com" secret OK || fail "IMAP logins"
grep -q "Master user logging in as user@example.com" $d/dovecot.log || fail "no master login in the log"
grep -q "stage=session master=admin target=user@example.com" $d/dovecot.log || fail "no session audit"
grep -q "refused by rule allow" $d/dovecot.log || fail "no policy refusal"
doveadm -c $d/dovecot.conf stop

# the self-splitting way, and auth-workers (use_worker = yes)
quick() {
	: > $d/dovecot.log
	dovecot -c $1
	python3 $check \
		"user@example.com*admin" top-secret OK \
		"user@example.com*admin" wrong NO \
		"user@example.com" secret OK || fail "IMAP logins ($2)"
	echo "smoke: $2: master login OK, wrong password refused"
	doveadm -c $1 stop
}
sed -e '/^auth_master_user_separator/d' -e '/^  master = yes/d' \
	-e 's/^auth_verbose = yes/&\nauth_username_chars = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@*/' \
	$d/dovecot.conf > $d/selfsplit.conf
quick $d/selfsplit.conf "self-splitting way"
grep -q "Master user logging in as user@example.com" $d/dovecot.log ||
	fail "self-splitting: no master login in the log"
sed "s|  dms_master_path = $d/masters.cf|&\n  use_worker = yes|" $d/dovecot.conf > $d/worker.conf
quick $d/worker.conf "use_worker = yes"
grep -q "auth-worker" $d/dovecot.log || fail "use_worker: no auth-worker in the log"

# start-up errors: one clear line each
for bad in "dms_master_username_format = %Lu|dms_master_username_format %Lu: 2.3's %-variables are not expanded" \
	   "dms_master_separator = ab|dms_master_separator ab: one"; do
	setting=${bad%%|*}
	want=${bad#*|}
	sed "s|  dms_master_path = $d/masters.cf|&\n  $setting|" $d/dovecot.conf > $d/bad.conf
	# the settings module's check: Dovecot does not start
	if dovecot -c $d/bad.conf 2>$d/start.err; then
		doveadm -c $d/bad.conf stop
		fail "Dovecot started with $setting"
	fi
	grep -q "$want" $d/start.err || { cat $d/start.err; fail "no start-up error for $setting"; }
	echo "smoke: $setting refused: $(head -n 1 $d/start.err)"
done
echo "smoke: Dovecot $(dovecot --version): all checks passed"
