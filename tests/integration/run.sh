#!/bin/sh
# Run the integration tests (pytest) against a real Dovecot that loads the
# freshly built module, in a private namespace (scripts/in-namespace.sh).
#
#   tests/integration/run.sh [pytest args...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -gt 0 ] || set -- tests/integration
exec sh "$top/scripts/in-namespace.sh" \
	/usr/bin/python3 -m pytest -p no:cacheprovider "$@"
