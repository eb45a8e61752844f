#!/bin/sh
# Benchmark dms_master against Dovecot's passwd-file master passdb side by
# side, on the host's Dovecot 2.3 (docs/benchmarks-2.3.md) and then on
# Dovecot 2.4 in the Debian 13 root (bench/run-2.4.sh,
# docs/benchmarks-2.4.md), and put both in docs/benchmarks.md. Needs root
# (private namespace).
#   sh bench/run.sh            the full run (about ten minutes)
#   sh bench/run.sh --smoke    a few seconds, 2.3 only: checks the harness
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/deps.sh"
sh "$top/scripts/build.sh"
make -s -C "$top" bench/dms-bench
sh "$top/scripts/in-namespace.sh" /usr/bin/python3 "$top/bench/bench.py" "$@"
# the session record's cost (docs/benchmarks-sessions-2.3.md)
sh "$top/scripts/in-namespace.sh" /usr/bin/python3 "$top/bench/sessions.py" "$@"
# what grants and TOTP add (docs/benchmarks-access-2.3.md)
sh "$top/scripts/in-namespace.sh" /usr/bin/python3 "$top/bench/access.py" "$@"
case " $* " in
*" --smoke "*) exit 0 ;;
esac
sh "$top/bench/run-2.4.sh" "$@"
python3 "$top/bench/compose.py"
