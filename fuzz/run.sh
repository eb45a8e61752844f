#!/bin/sh
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,
# undefined) and run each for SECONDS (default 10: the CI smoke run).
#   sh fuzz/run.sh [SECONDS]
# New inputs are kept in a scratch corpus; crashes are written to
# fuzz/crash-* and make the run fail.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
out=$(mktemp -d /tmp/dms-fuzz.XXXXXX)
trap 'rm -rf "$out"' EXIT
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I$top/src"
# libdms: every src/dms-*.c (as Makefile.am's src_libdms_la_SOURCES)
libsrc="$(echo "$top"/src/dms-*.c) $top/src/setup-names.c"
status=0
for t in login store args names policy ldap session; do
	clang $cflags -o "$out/fuzz-$t" "$top/fuzz/fuzz-$t.c" $libsrc -lcrypt -lldap -llber -loath
	mkdir -p "$out/corpus-$t"
	cp "$top/fuzz/corpus/$t/"* "$out/corpus-$t/" 2>/dev/null || true
	if "$out/fuzz-$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
		-artifact_prefix="$top/fuzz/crash-$t-" \
		"$out/corpus-$t" >"$out/$t.log" 2>&1; then
		printf 'fuzz %-6s %s\n' "$t" "$(grep -E '^#[0-9]+.*DONE' "$out/$t.log" | tail -1)"
	else
		echo "fuzz $t: FAILED"; tail -40 "$out/$t.log"; status=1
	fi
done
exit $status
