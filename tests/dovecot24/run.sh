#!/bin/sh
# Every test against Dovecot 2.4, in a Debian 13 root made from Debian's
# archive (tests/dovecot24/in-root.sh; nothing touches this system):
# build and install there, the smoke test, then the integration tests
# (pytest) with the same harness as on 2.3, which writes 2.4 settings when
# it finds Dovecot 2.4.
#
#   tests/dovecot24/run.sh [pytest args...]
set -eu
[ $# -gt 0 ] || set -- tests/integration
exec sh "$(dirname "$0")/in-root.sh" sh -c '
	set -eu
	sh /build/tests/dovecot24/build-inner.sh
	echo "== Dovecot $(dovecot --version): smoke test"
	sh /build/tests/dovecot24/smoke-inner.sh
	echo "== Dovecot $(dovecot --version): integration tests"
	cd /build
	DMS_TOP=/build exec python3 -m pytest -p no:cacheprovider "$@"
' sh "$@"
