#!/bin/sh
# Benchmark dms_master against Dovecot's passwd-file master passdb side by
# side, and write docs/benchmarks.md. Needs root (private namespace).
#   sh bench/run.sh            the full run (a few minutes)
#   sh bench/run.sh --smoke    a few seconds: checks the harness only
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/scripts/deps.sh"
sh "$top/scripts/build.sh"
make -s -C "$top" bench/dms-bench
exec sh "$top/scripts/in-namespace.sh" /usr/bin/python3 "$top/bench/bench.py" "$@"
