#!/bin/sh
# Dovecot 2.4 smoke test: build this tree in a Debian 13 root
# (scripts/debian13-root.sh), install the module and its settings module
# there, start Dovecot 2.4 with a master passdb and the dms_master
# userdb, and check master logins over IMAP and doveadm, the policy, and
# the start-up errors for a 2.3-style format and a bad separator
# (tests/dovecot24/in-root.sh: nothing touches the system).
set -eu
exec sh "$(dirname "$0")/in-root.sh" sh -c \
	'sh /build/tests/dovecot24/build-inner.sh && sh /build/tests/dovecot24/smoke-inner.sh'
