#!/bin/sh
# Run the project: a private Dovecot with the dms_master module on loopback
# IMAP and POP3 ports, the example accounts made with the installed setup
# CLI, the master-accounts page's example run verbatim, and an IMAP login
# as user@example.com*admin that reads the target's INBOX. Then Dovecot
# keeps running for a mail client until Ctrl-C (--check: exit at once).
#
# Nothing is installed into the system: the build is installed into a
# staging directory, and a private mount namespace lays it, a scratch
# /etc/dovecot and /run/saslauthd over the real ones for this run only.
#
#   scripts/demo.sh [--check] [--imap-port N] [--pop3-port N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
check=${DMS_DEMO_CHECK:-no}
imap_port=${DMS_DEMO_IMAP_PORT:-10143}
pop3_port=${DMS_DEMO_POP3_PORT:-10110}
while [ $# -gt 0 ]; do
	case "$1" in
	--check) check=yes ;;
	--imap-port) imap_port=$2; shift ;;
	--pop3-port) pop3_port=$2; shift ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "demo: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "demo: needs root (namespaces, Dovecot)" >&2; exit 1; }

if [ -z "${DMS_DEMO_INNER:-}" ]; then
	sh "$top/scripts/deps.sh" --run
	sh "$top/scripts/build.sh"
	work=$(mktemp -d /tmp/dms-demo.XXXXXX)
	trap 'rm -rf "$work"' EXIT INT TERM
	make -s -C "$top" install DESTDIR="$work/stage" >"$work/install.log" 2>&1 ||
		{ cat "$work/install.log"; exit 1; }
	DMS_DEMO_INNER=1 DMS_DEMO_WORK=$work DMS_DEMO_CHECK=$check \
		DMS_DEMO_IMAP_PORT=$imap_port DMS_DEMO_POP3_PORT=$pop3_port \
		unshare --mount --propagation private -- sh "$0" && rc=0 || rc=$?
	exit $rc
fi

# --- inside the private mount namespace ---------------------------------
work=$DMS_DEMO_WORK
stage=$work/stage
mkdir -p "$work/modules" "$work/etc" "$work/sasl" "$work/run" "$work/state" \
	"$work/mail/example.com/user/Maildir/new" \
	"$work/mail/example.com/user/Maildir/cur" \
	"$work/mail/example.com/user/Maildir/tmp"
chmod 755 "$work"
# Dovecot's directory with what make install put into it: the auth module,
# the mail plugins, the dms-session service and, for 2.4, the settings
# module that declares the module's settings
cp -a /usr/lib/dovecot/. "$work/modules/"
cp -a "$stage/usr/lib/dovecot/." "$work/modules/"
mount --bind "$work/modules" /usr/lib/dovecot
mount --bind "$work/etc" /etc/dovecot
mount --bind "$work/sasl" /run/saslauthd 2>/dev/null || {
	mkdir -p /run/saslauthd && mount --bind "$work/sasl" /run/saslauthd; }
mkdir -p /etc/dovecot/conf.d
# make install put the snippets of the Dovecot it was built against (2.3's
# or 2.4's set), under the same names
cp "$stage"/etc/dovecot/conf.d/auth-dms-*.conf.ext \
	"$stage"/etc/dovecot/conf.d/dms-master-* /etc/dovecot/conf.d/
printf 'From: postmaster@example.com\r\nTo: user@example.com\r\nSubject: Welcome to user@example.com\r\n\r\nHello.\r\n' \
	> "$work/mail/example.com/user/Maildir/new/1.M1P1.demo"
chown -R 65534:65534 "$work/mail"

# the parts where Dovecot 2.3's and 2.4's settings differ
case $(dovecot --version) in
2.3*)
	version_conf="disable_plaintext_auth = no"
	mail_conf="mail_home = $work/mail/%d/%n
mail_location = maildir:~/Maildir"
	listen_key=address ;;
*)
	version_conf="dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
auth_allow_cleartext = yes"
	mail_conf="mail_home = $work/mail/%{user | domain}/%{user | username}
mail_driver = maildir
mail_path = ~/Maildir"
	listen_key=listen ;;
esac

cat > /etc/dovecot/dovecot.conf <<CONF
$version_conf
protocols = imap pop3
listen = 127.0.0.1
base_dir = $work/run
state_dir = $work/state
log_path = $work/dovecot.log
ssl = no
auth_verbose = yes
first_valid_uid = 1
mail_uid = 65534
mail_gid = 65534
$mail_conf
service imap-login {
  inet_listener imap {
    $listen_key = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    $listen_key = 127.0.0.1
    port = $pop3_port
  }
  inet_listener pop3s {
    port = 0
  }
}
# the shipped snippets, as an operator includes them from conf.d/10-auth.conf
!include conf.d/auth-dms-master.conf.ext
!include conf.d/auth-dms-users.conf.ext
!include conf.d/auth-dms-userdb.conf.ext
# read-only masters (ACL plugin) and master-login statistics
!include conf.d/dms-master-read-only.conf.ext
!include conf.d/dms-master-stats.conf.ext
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF

PATH="$stage/usr/bin:$PATH"
export PATH
dovecot_pid=""
sasl_pid=""
cleanup() {
	[ -n "$sasl_pid" ] && kill "$sasl_pid" 2>/dev/null
	[ -n "$dovecot_pid" ] && kill "$dovecot_pid" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setsid dovecot -F >/dev/null 2>&1 &
dovecot_pid=$!
setsid saslauthd -a rimap -O "127.0.0.1/$imap_port" -m /run/saslauthd -n 1 -d \
	>"$work/saslauthd.log" 2>&1 &
sasl_pid=$!
i=0
until [ -n "$(ss -Hltn "sport = :$imap_port" 2>/dev/null)" ] && [ -S /run/saslauthd/mux ]; do
	i=$((i + 1))
	if [ $i -ge 100 ]; then
		echo "demo: Dovecot or saslauthd did not start within 10 s"
		cat "$work/dovecot.log" "$work/saslauthd.log"
		exit 1
	fi
	sleep 0.1
done

echo "== The master-accounts page's example, verbatim:"
set +e
(
	set -x
	setup email add user@example.com secret
	setup dovecot-master add admin top-secret
	testsaslauthd -u 'user@example.com*admin' -p 'top-secret'
) 2>&1 | sed 's/^/   /'
sasl=$(testsaslauthd -u 'user@example.com*admin' -p 'top-secret')
subject=$(curl -s --max-time 10 --user 'user@example.com*admin:top-secret' \
	"imap://127.0.0.1:$imap_port/INBOX;MAILINDEX=1;SECTION=HEADER.FIELDS%20(SUBJECT)" | tr -d '\r' | grep -v '^$')
echo "== A read-only master for example.com, IMAP only, until 2099:"
(
	set -x
	setup dovecot-master add auditor audit-pass --allow '*@example.com' \
		--services imap --read-only --expires 2099-01-01
	setup dovecot-master list
) 2>&1 | sed 's/^/   /'
ro_subject=$(curl -s --max-time 10 --user 'user@example.com*auditor:audit-pass' \
	"imap://127.0.0.1:$imap_port/INBOX;MAILINDEX=1;SECTION=HEADER.FIELDS%20(SUBJECT)" | tr -d '\r' | grep -v '^$')
printf 'Subject: not allowed\r\n\r\nx\r\n' > "$work/append.eml"
curl -s --max-time 10 --user 'user@example.com*auditor:audit-pass' \
	-T "$work/append.eml" "imap://127.0.0.1:$imap_port/INBOX" >/dev/null 2>&1
ro_append=$?
ro_pop3=$(curl -s --max-time 10 --user 'user@example.com*auditor:audit-pass' \
	"pop3://127.0.0.1:$pop3_port/" 2>&1; echo "rc=$?")
set -e
echo "== Results:"
ok=yes
if [ "$sasl" = '0: OK "Success."' ]; then
	echo "   testsaslauthd as user@example.com*admin: OK"
else
	echo "   testsaslauthd as user@example.com*admin: FAILED ($sasl)"; ok=no
fi
if [ "$subject" = "Subject: Welcome to user@example.com" ]; then
	echo "   IMAP login as user@example.com*admin read the target's INBOX: \"$subject\""
else
	echo "   IMAP login as user@example.com*admin: FAILED (got '$subject')"; ok=no
fi
if grep -q "Master user logging in as user@example.com" "$work/dovecot.log"; then
	echo "   Dovecot's log: \"Master user logging in as user@example.com\""
else
	echo "   Dovecot's log has no master login line"; ok=no
fi
if [ "$ro_subject" = "Subject: Welcome to user@example.com" ] && [ "$ro_append" != 0 ]; then
	echo "   read-only master user@example.com*auditor read the INBOX, APPEND refused"
else
	echo "   read-only master: FAILED (read '$ro_subject', APPEND exit $ro_append)"; ok=no
fi
case "$ro_pop3" in
*"rc=0") echo "   read-only master over POP3: FAILED (not refused)"; ok=no ;;
*) echo "   read-only master over POP3: refused (IMAP only)" ;;
esac
if grep -q "dms_master audit: stage=auth master=auditor target=user@example.com service=pop3 rip=127.0.0.1 result=refused rule=services" "$work/dovecot.log"; then
	echo "   audit: \"$(grep -o 'dms_master audit: stage=auth master=auditor .*service=pop3.*' "$work/dovecot.log" | head -1)\""
else
	echo "   audit line for the refused POP3 login missing"; ok=no
fi
echo "   doveadm stats dump (master logins by result and rule):"
doveadm -f tab stats dump 2>&1 | awk -F'\t' '
	NR == 1 { for (i = 1; i <= NF; i++) if ($i == "count") c = i; next }
	$1 ~ /^dms_master/ { printf "     %-40s %s\n", $1, $c }'
if [ "$ok" != yes ]; then
	echo "== Dovecot's log:"; cat "$work/dovecot.log"
	exit 1
fi
if [ "$check" = yes ]; then
	echo "== All checks passed."
	exit 0
fi
echo "== Dovecot is running on 127.0.0.1: IMAP port $imap_port, POP3 port $pop3_port."
echo "   Log in with a mail client as user@example.com*admin / top-secret,"
echo "   read-only as user@example.com*auditor / audit-pass (IMAP only),"
echo "   or as user@example.com / secret. Log: $work/dovecot.log"
echo "   Press Ctrl-C to stop."
wait "$dovecot_pid"
