#!/bin/sh
# Run every test: build, Check unit tests (make check), fuzzing and
# sanitizers, the Dovecot 2.4 smoke and integration tests in a Debian 13
# root, the smoke test on Debian testing's newest 2.4, make distcheck,
# the Debian packages (tests/packages/run.sh), then the integration
# tests against Dovecot 2.3 in a private namespace.
# On a fresh Debian 12 machine it first installs what it needs (as root).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
# no compiler warnings allowed (-Wall -Wextra); a fresh clone builds every
# source here (gcc 12), and tests/dovecot24/build-inner.sh checks the same
# in the Debian roots (gcc 14, and testing's)
log=$(mktemp)
if ! { sh scripts/build.sh && make -s bench/dms-bench; } >"$log" 2>&1; then
	cat "$log"
	exit 1
fi
if grep -q "warning:" "$log"; then
	grep -B2 -A6 "warning:" "$log"
	echo "compiler warnings" >&2
	exit 1
fi
rm -f "$log"

echo "== unit tests (Check)"
if ! make -s check >/dev/null 2>&1; then
	cat tests/unit/test-dms.log 2>/dev/null || true
	echo "unit tests failed" >&2
	exit 1
fi
grep -E "^[0-9]+%: Checks" tests/unit/test-dms.log

echo "== fuzzing smoke run (libFuzzer, 10 s a target)"
sh fuzz/run.sh 10

echo "== sanitizers (ASan+UBSan): unit tests and setup CLI tests"
sh tests/sanitizers.sh

echo "== Dovecot 2.4: build, smoke test and integration tests in a Debian 13 root"
sh tests/dovecot24/run.sh -q -rfE tests/integration

echo "== Dovecot 2.4, the newest in Debian testing (forky): build and smoke test"
# 2.4.3 changed the passdb API and the defaults of older configurations
DMS_DEBIAN_SUITE=forky sh tests/dovecot24/smoke.sh

echo "== release: make distcheck"
# builds the tarball, then builds, tests, installs and uninstalls it in
# a directory of its own
if ! make -s distcheck >/tmp/dms-distcheck.log 2>&1; then
	tail -n 40 /tmp/dms-distcheck.log
	echo "make distcheck failed" >&2
	exit 1
fi
grep -A1 "archives ready for distribution" /tmp/dms-distcheck.log | tail -n 1
rm -f auth-master-dms-*.tar.gz /tmp/dms-distcheck.log

echo "== Debian packages: build and lintian for Debian 12 and 13, clean roots, the docker-mailserver recipe"
sh tests/packages/run.sh

echo "== integration tests (real Dovecot, private namespace)"
exec sh tests/integration/run.sh "$@"
