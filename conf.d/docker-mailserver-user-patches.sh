#!/bin/bash
# docker-mailserver v15 and earlier (Dovecot 2.3 image, Debian 12): master
# accounts with the dms_master passdb instead of DMS's passwd-file one.
# Copy this file to docker-data/dms/config/user-patches.sh (or append it
# there); DMS runs it at the end of every start-up. The image must also
# have the module, auth_master_dms.so in /usr/lib/dovecot/modules/auth
# (see README.md, docker-mailserver). For DMS's Dovecot 2.4 image use
# conf.d/2.4/docker-mailserver.cf as dovecot.cf instead.
#
# Dovecot 2.3 cannot replace a passdb block declared earlier: a dms_master
# passdb added in dovecot.cf would be a SECOND master passdb, after DMS's
# passwd-file one on /etc/dovecot/masterdb, which would still let every
# master in, past its dms_ policy. So this rewrites the file that declares
# DMS's: conf.d/auth-master.inc, which DMS includes from 10-auth.conf
# whenever dovecot-masters.cf exists (and re-enables, without rewriting
# it, when that file changes).
set -euo pipefail

confd=/etc/dovecot/conf.d

cat >"$confd/auth-master.inc" <<'EOF'
# Written by user-patches.sh: master accounts with dms_master, on DMS's
# own dovecot-masters.cf (NAME|HASH[|OPTIONS]).
auth_master_user_separator = *
passdb {
  driver = dms_master
  args = /tmp/docker-mailserver/dovecot-masters.cf
  master = yes
  result_success = continue
}
# Last of the passdbs and of the userdbs (10-auth.conf includes this file
# after auth-passwdfile.inc): they check the policy again for the user
# the session actually gets (a passdb or userdb may rename the target),
# the userdb sets read-only sessions' fields and writes the session's
# audit.
passdb {
  driver = dms_master_check
}
userdb {
  driver = dms_master
}
# The session record of master sessions (src/mail-dms-session.c): the
# dms_master userdb loads the dms_session mail plugin into every master
# session (never into the users' own), and the plugin reports what the
# session reads and changes to this service, which writes the records and
# ends sessions whose master is deleted, disabled, expires or no longer
# allowed (checked every 2 s), or kicked ("setup dovecot-master kick").
# A master session that cannot be recorded is refused, so this block is
# required. Records go to Dovecot's log; to write them to a JSON-lines
# file instead (the dms_master passdb's audit_file, say), name it after
# the executable:
#   executable = dms-session /var/log/mail/dms-master-audit.json
service dms-session {
  executable = dms-session
  # one process, which knows every master session
  process_limit = 1
  unix_listener dms-session {
    # the mail processes of master sessions, whichever mail user
    mode = 0666
  }
  unix_listener dms-session-admin {
    # setup dovecot-master kick
    mode = 0600
  }
}
EOF

# DMS's passdb and userdb must go on to them: the passwd-file ones, or in
# its LDAP mode the ldap ones. Idempotent: a block that already has the
# line keeps one.
for inc in "$confd/auth-passwdfile.inc" "$confd/auth-ldap.conf.ext"; do
	[ -f "$inc" ] || continue
	awk '
		pending && $0 != "  result_success = continue-ok" {
			print "  result_success = continue-ok" }
		{ pending = 0; print }
		/^(passdb|userdb) {$/ { pending = 1 }
	' "$inc" >"$inc.new"
	cat "$inc.new" >"$inc"
	rm -f "$inc.new"
done
