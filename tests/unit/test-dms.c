/* Check runner for the pure dms-* code. */

#include "test-dms.h"

#include <stdlib.h>

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
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
