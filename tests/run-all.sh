#!/bin/sh
# Run every test: build, Check unit tests (make check), then two chains
# side by side, each in namespaces of its own:
#   - the Debian roots: Dovecot 2.4's build, smoke and integration tests
#     in a Debian 13 root, the smoke test on Debian testing's newest 2.4,
#     the Debian packages (tests/packages/run.sh);
#   - this machine: the integration tests against Dovecot 2.3 in a
#     private namespace, fuzzing, sanitizers, make distcheck.
# Most of the integration tests wait on Dovecot, slapd and clients, so
# the two chains share two cores well. One wall-time line a phase and the
# total are printed at the end, then each chain's output, then the test
# runners' summary lines (2.3's last).
# On a fresh Debian 12 machine it first installs what it needs (as root).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
all_start=$(date +%s)
work=$(mktemp -d /tmp/dms-run-all.XXXXXX)
trap 'rm -rf "$work"' EXIT
# what the tests leave to look at (the webmail's screenshot): kept after
# the run, this run's only
export DMS_TEST_OUTPUT=/tmp/dms-test-output
rm -rf "$DMS_TEST_OUTPUT"

# phase CHAIN NAME COMMAND...: run COMMAND, its output to CHAIN's log, and
# one line with its wall time to the times file (and to the terminal)
phase() {
	chain=$1 name=$2
	shift 2
	start=$(date +%s)
	echo "=== phase: $name" >>"$work/$chain.log"
	echo "[$chain] $name: started"
	if "$@" >>"$work/$chain.log" 2>&1; then rc=0; else rc=$?; fi
	secs=$(($(date +%s) - start))
	if [ "$rc" = 0 ]; then
		line="$name: ${secs} s"
	else
		line="$name: ${secs} s, FAILED (exit $rc)"
	fi
	echo "$line" >>"$work/times"
	echo "[$chain] $line"
	return "$rc"
}

build() {
	sh scripts/deps.sh
	# no compiler warnings allowed (-Wall -Wextra); a fresh clone builds
	# every source here (gcc 12), and tests/dovecot24/build-inner.sh checks
	# the same in the Debian roots (gcc 14, and testing's)
	sh scripts/build.sh >"$work/build.out" 2>&1 &&
		make -s bench/dms-bench >>"$work/build.out" 2>&1 ||
		{ cat "$work/build.out"; return 1; }
	if grep -q "warning:" "$work/build.out"; then
		grep -B2 -A6 "warning:" "$work/build.out"
		echo "compiler warnings"
		return 1
	fi
}

unit() {
	if ! make -s check >/dev/null 2>&1; then
		cat tests/unit/test-dms.log 2>/dev/null || true
		echo "unit tests failed"
		return 1
	fi
	grep -E "^[0-9]+%: Checks" tests/unit/test-dms.log
}

distcheck() {
	# builds the tarball, then builds, tests, installs and uninstalls it
	# in a directory of its own
	if ! make -s distcheck >"$work/distcheck.out" 2>&1; then
		tail -n 40 "$work/distcheck.out"
		echo "make distcheck failed"
		return 1
	fi
	grep -A1 "archives ready for distribution" "$work/distcheck.out" |
		tail -n 1
	rm -f auth-master-dms-*.tar.gz
}

roots() {
	phase roots "Dovecot 2.4: build, smoke test and integration tests in a Debian 13 root" \
		sh tests/dovecot24/run.sh -q -rfE tests/integration &&
	# 2.4.3 changed the passdb API and the defaults of older configurations
	phase roots "Dovecot 2.4, the newest in Debian testing (forky): build and smoke test" \
		env DMS_DEBIAN_SUITE=forky sh tests/dovecot24/smoke.sh &&
	phase roots "Debian packages: build and lintian for Debian 12 and 13, clean roots, the docker-mailserver recipe" \
		sh tests/packages/run.sh
}

host() {
	phase host "Dovecot 2.3: integration tests (real Dovecot, private namespace)" \
		sh tests/integration/run.sh "$@" &&
	phase host "fuzzing smoke run (libFuzzer, 10 s a target)" \
		sh fuzz/run.sh 10 &&
	phase host "sanitizers (ASan+UBSan): unit tests and setup CLI tests" \
		sh tests/sanitizers.sh &&
	phase host "release: make distcheck" distcheck
}

status=0
phase main "deps and build (no compiler warnings)" build || status=1
if [ "$status" = 0 ]; then
	phase main "unit tests (Check)" unit || status=1
fi
if [ "$status" = 0 ]; then
	roots &
	roots_pid=$!
	host "$@" &
	host_pid=$!
	wait "$roots_pid" || status=1
	wait "$host_pid" || status=1
fi

for chain in main roots host; do
	[ -f "$work/$chain.log" ] || continue
	echo
	echo "######## $chain"
	cat "$work/$chain.log"
done
echo
echo "######## wall time"
cat "$work/times"
echo "total: $(($(date +%s) - all_start)) s"
# the integration suites' summary lines, 2.3's last
summary() {
	[ -f "$work/$1.log" ] || return 0
	awk -v h="=== phase: $2" '
		index($0, h) == 1 { inside = 1; next }
		/^=== phase: / { inside = 0 }
		inside && /^(=+ )?[0-9]+ (passed|failed)/ { line = $0 }
		END { if (line != "") print line }
	' "$work/$1.log"
}
summary roots "Dovecot 2.4: build"
summary host "Dovecot 2.3: integration tests"
for f in "$DMS_TEST_OUTPUT"/*.png; do
	if [ -f "$f" ]; then
		echo "screenshot (webmail banner, headless Chromium): $f"
	fi
done
if [ "$status" != 0 ]; then
	echo "FAILED"
	exit 1
fi
