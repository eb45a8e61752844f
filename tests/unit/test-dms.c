/* Check runner for the pure dms-* code. */

#include "test-dms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void test_tmpdir_make(char *dir, size_t dir_size, const char *template_)
{
	ck_assert_uint_lt(strlen(template_), dir_size);
	strcpy(dir, template_);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

int test_tmpdir_remove(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

int main(void)
{
	SRunner *sr = srunner_create(login_suite());
	int failed;

	srunner_add_suite(sr, password_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, args_suite());
	srunner_add_suite(sr, store_write_suite());
	srunner_add_suite(sr, names_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, audit_suite());
	srunner_add_suite(sr, options_suite());
	srunner_add_suite(sr, path_suite());
	srunner_add_suite(sr, ldap_suite());
	srunner_add_suite(sr, session_suite());
	srunner_add_suite(sr, grants_suite());
	srunner_add_suite(sr, totp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
