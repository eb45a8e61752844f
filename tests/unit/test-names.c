#include "test-dms.h"
#include "setup-names.h"

#include <string.h>

static const struct {
	const char *name;
	bool need_at;
	bool ok;
	const char *out;
	bool lowered;
} cases[] = {
	{ "admin", false, true, "admin", false },
	{ "Admin", false, true, "admin", true },
	{ "backup-robot_1.x", false, true, "backup-robot_1.x", false },
	{ "admin@corp", false, true, "admin@corp", false },
	{ "user@example.com", true, true, "user@example.com", false },
	{ "User@Example.COM", true, true, "user@example.com", true },
	{ "\xc3\xa4min", false, true, "\xc3\xa4min", false },
	{ "", false, false, NULL, false },
	{ "a*b", false, false, NULL, false },
	{ "a:b", false, false, NULL, false },
	{ "a|b", false, false, NULL, false },
	{ "a b", false, false, NULL, false },
	{ "a\tb", false, false, NULL, false },
	{ "a\nb", false, false, NULL, false },
	{ "a\x7f", false, false, NULL, false },
	{ "#admin", false, false, NULL, false },
	{ "admin", true, false, NULL, false },
	{ "@example.com", true, false, NULL, false },
	{ "user@", true, false, NULL, false },
	{ "a@b@c", true, false, NULL, false },
	{ "user@example.com*admin", true, false, NULL, false },
};

START_TEST(test_normalize)
{
	char out[SETUP_NAME_MAX + 1];
	const char *error = NULL;
	bool lowered;
	bool ok = setup_name_normalize(cases[_i].name, '*', cases[_i].need_at,
				       out, sizeof(out), &lowered, &error);

	ck_assert_msg(ok == cases[_i].ok, "case %d '%s': %s", _i,
		      cases[_i].name, ok ? "accepted" : error);
	if (ok) {
		ck_assert_str_eq(out, cases[_i].out);
		ck_assert_int_eq(lowered, cases[_i].lowered);
	} else {
		ck_assert_ptr_nonnull(error);
	}
}
END_TEST

START_TEST(test_length)
{
	char name[300], out[SETUP_NAME_MAX + 1];
	const char *error;
	bool lowered;

	memset(name, 'a', 255);
	name[255] = '\0';
	ck_assert(setup_name_normalize(name, '*', false, out, sizeof(out),
				       &lowered, &error));
	memset(name, 'a', 256);
	name[256] = '\0';
	ck_assert(!setup_name_normalize(name, '*', false, out, sizeof(out),
					&lowered, &error));
	/* a small buffer is refused, never overrun */
	ck_assert(!setup_name_normalize("abcdef", '*', false, out, 4,
					&lowered, &error));
}
END_TEST

Suite *names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("normalize");

	tcase_add_loop_test(tc, test_normalize, 0,
			    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_length);
	suite_add_tcase(s, tc);
	return s;
}
