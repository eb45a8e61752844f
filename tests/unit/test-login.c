#include "test-dms.h"
#include "dms-login.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *login;
	char sep;
	int ret;
	const char *target, *master;
} cases[] = {
	{ "user@example.com*admin", '*', 1, "user@example.com", "admin" },
	/* the FIRST separator, as Dovecot's auth_request_set_username() */
	{ "a*b*c", '*', 1, "a", "b*c" },
	{ "user@example.com**admin", '*', 1, "user@example.com", "*admin" },
	{ "user@example.com", '*', 0, NULL, NULL },
	{ "admin", '*', 0, NULL, NULL },
	{ "", '*', 0, NULL, NULL },
	{ "*admin", '*', -1, NULL, NULL },
	{ "user@example.com*", '*', -1, NULL, NULL },
	{ "*", '*', -1, NULL, NULL },
	{ "**", '*', -1, NULL, NULL },
	{ "u#m", '#', 1, "u", "m" },
	{ "u*m", '#', 0, NULL, NULL },
	/* NUL as separator never splits */
	{ "u*m", '\0', 0, NULL, NULL },
	{ "\x01\x02*\x7f", '*', 1, "\x01\x02", "\x7f" },
};

START_TEST(test_split)
{
	struct dms_login login = { NULL, 0, NULL };
	const char *error = NULL;
	int ret = dms_login_split(cases[_i].login, cases[_i].sep, &login,
				  &error);

	ck_assert_int_eq(ret, cases[_i].ret);
	if (ret > 0) {
		ck_assert_uint_eq(login.target_len, strlen(cases[_i].target));
		ck_assert(strncmp(login.target, cases[_i].target,
				  login.target_len) == 0);
		ck_assert_str_eq(login.master, cases[_i].master);
		/* the parts point into the login, nothing is copied */
		ck_assert_ptr_eq(login.target, cases[_i].login);
	} else if (ret < 0) {
		ck_assert_ptr_nonnull(error);
	}
}
END_TEST

START_TEST(test_split_long)
{
	/* 1 MiB target, 1 MiB master */
	size_t n = 1024 * 1024;
	char *s = malloc(2 * n + 2);
	struct dms_login login;
	const char *error;

	memset(s, 'u', n);
	s[n] = '*';
	memset(s + n + 1, 'm', n);
	s[2 * n + 1] = '\0';
	ck_assert_int_eq(dms_login_split(s, '*', &login, &error), 1);
	ck_assert_uint_eq(login.target_len, n);
	ck_assert_uint_eq(strlen(login.master), n);
	free(s);
}
END_TEST

Suite *login_suite(void)
{
	Suite *s = suite_create("login");
	TCase *tc = tcase_create("split");

	tcase_add_loop_test(tc, test_split, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_split_long);
	suite_add_tcase(s, tc);
	return s;
}
