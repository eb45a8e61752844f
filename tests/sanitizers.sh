#!/bin/sh
# Build the unit tests and the setup CLI with AddressSanitizer and
# UndefinedBehaviorSanitizer (leak checking included), run the Check unit
# tests, then the CLI's integration tests against the sanitized binary.
# Any sanitizer report fails the run.
#   sh tests/sanitizers.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d /tmp/dms-san.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc=${CC:-clang}
cflags="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -I$top/src -I$top"
# libdms: every src/dms-*.c (as Makefile.am's src_libdms_la_SOURCES)
lib=$(echo "$top"/src/dms-*.c)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# shellcheck disable=SC2086
$cc $cflags -o "$out/test-dms" "$top"/tests/unit/test-*.c \
	"$top/src/setup-names.c" "$top/src/setup-options.c" $lib \
	$(pkg-config --cflags --libs check) -lcrypt -lldap -llber -loath
# shellcheck disable=SC2086
$cc $cflags -o "$out/setup" "$top"/src/setup.c "$top/src/setup-names.c" \
	"$top/src/setup-options.c" "$top/src/setup-password.c" \
	"$top/src/setup-ldap.c" "$top/src/setup-kick.c" \
	"$top/src/setup-report.c" "$top/src/setup-grants.c" \
	"$top/src/setup-totp.c" $lib -lcrypt -lldap -llber -lz -loath \
	-lqrencode

echo "== unit tests under ASan+UBSan"
# no fork: a sanitizer report in a test makes the whole run fail
CK_FORK=yes "$out/test-dms" > "$out/unit.log" 2>&1 || { cat "$out/unit.log"; exit 1; }
if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$out/unit.log"; then
	cat "$out/unit.log"; exit 1
fi
grep -E "^[0-9]+%: Checks" "$out/unit.log"

echo "== setup CLI tests under ASan+UBSan"
DMS_SETUP="$out/setup" sh "$top/tests/integration/run.sh" -q \
	"$top/tests/integration/test_setup_cli.py" -k "not page_example" \
	"$top/tests/integration/test_policy.py::test_cli_sets_and_clears_policy" \
	"$top/tests/integration/test_ldap_masters.py::test_cli_add_list_update_del" \
	"$top/tests/integration/test_ldap_masters.py::test_cli_concurrent_admins_keep_both_changes" \
	"$top/tests/integration/test_ldap_masters.py::test_cli_option_and_errors" \
	"$top/tests/integration/test_session_report.py" \
	"$top/tests/integration/test_session_end.py::test_kick_ends_idle_master_sessions_only" \
	"$top/tests/integration/test_session_end.py::test_kick_without_dovecot_fails" \
	"$top/tests/integration/test_session_end.py::test_kick_usage" \
	"$top/tests/integration/test_grants.py::test_require_grant_before_during_after" \
	"$top/tests/integration/test_grants.py::test_two_person_approval" \
	"$top/tests/integration/test_grants.py::test_grant_running_out_ends_the_session" \
	"$top/tests/integration/test_grants.py::test_cli_refusals" \
	"$top/tests/integration/test_deny_ports.py::test_cli_sets_and_clears_deny_and_ports" \
	"$top/tests/integration/test_totp.py::test_enrolment_writes_secret_and_option" \
	"$top/tests/integration/test_ldap_masters.py::test_grants_kept_in_ldap" \
	"$top/tests/integration/test_ldap_masters.py::test_totp_kept_in_ldap_spent_once_across_servers" \
	"$top/tests/integration/test_ldap_masters.py::test_deny_and_ports_kept_in_ldap"
