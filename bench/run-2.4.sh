#!/bin/sh
# bench/run.sh against Dovecot 2.4, in the Debian 13 root
# (tests/dovecot24/in-root.sh): the same scenarios side by side, against
# Dovecot 2.4's own passwd-file master passdb; writes
# docs/benchmarks-2.4.md (bench/run.sh runs it after the 2.3 run and puts
# both in docs/benchmarks.md). Needs root.
#   sh bench/run-2.4.sh [--smoke]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
root=${DMS_DEBIAN13_ROOT:-/var/tmp/dms-debian13-root}
sh "$top/tests/dovecot24/in-root.sh" sh -c '
	set -eu
	sh /build/tests/dovecot24/build-inner.sh
	cd /build
	DMS_TOP=/build python3 bench/bench.py "$@"
	DMS_TOP=/build python3 bench/sessions.py "$@"
	DMS_TOP=/build python3 bench/access.py "$@"
' sh "$@"
case " $* " in
*" --smoke "*) ;;
*) cp "$root/build/docs/benchmarks-2.4.md" "$top/docs/benchmarks-2.4.md"
   cp "$root/build/docs/benchmarks-sessions-2.4.md" \
	"$top/docs/benchmarks-sessions-2.4.md"
   cp "$root/build/docs/benchmarks-access-2.4.md" \
	"$top/docs/benchmarks-access-2.4.md"
   echo "copied to docs/benchmarks-2.4.md, docs/benchmarks-sessions-2.4.md" ;;
esac
