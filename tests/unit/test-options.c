#include "test-dms.h"
#include "setup-options.h"

#include <stdlib.h>
#include <string.h>

static int parse(char **argv, struct setup_options *o, int *argc_r,
		 const char **error_r)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return setup_options_parse(argc, argv, o, argc_r, error_r);
}

START_TEST(test_options_parse)
{
	char *argv[] = { "admin", "-secret", "--allow", "*@a.com",
		"--allow=b@c.org", "--services", "imap", "--read-only",
		"--password-stdin", "--expires=2027-01-01", "--disable", "--",
		"--allow", NULL };
	struct setup_options o;
	const char *error;
	int argc;

	ck_assert_int_eq(parse(argv, &o, &argc, &error), 0);
	/* a password may start with '-'; after "--" everything is one */
	ck_assert_int_eq(argc, 3);
	ck_assert_str_eq(argv[0], "admin");
	ck_assert_str_eq(argv[1], "-secret");
	ck_assert_str_eq(argv[2], "--allow");
	ck_assert(o.password_stdin);
	ck_assert(o.any);
	ck_assert_str_eq(o.allow, "*@a.com,b@c.org");
	ck_assert_int_eq(o.allow_flag, SETUP_FLAG_SET);
	ck_assert_str_eq(o.services, "imap");
	ck_assert_str_eq(o.expires, "2027-01-01");
	ck_assert_int_eq(o.read_only, SETUP_FLAG_SET);
	ck_assert_int_eq(o.disabled, SETUP_FLAG_SET);
	setup_options_free(&o);

	char *argv2[] = { "admin", "--no-allow", "--no-services",
		"--no-read-only", "--no-expires", "--enable", NULL };
	ck_assert_int_eq(parse(argv2, &o, &argc, &error), 0);
	ck_assert_int_eq(argc, 1);
	ck_assert(!o.password_stdin);
	ck_assert_int_eq(o.allow_flag, SETUP_FLAG_CLEAR);
	ck_assert_int_eq(o.services_flag, SETUP_FLAG_CLEAR);
	ck_assert_int_eq(o.expires_flag, SETUP_FLAG_CLEAR);
	ck_assert_int_eq(o.read_only, SETUP_FLAG_CLEAR);
	ck_assert_int_eq(o.disabled, SETUP_FLAG_CLEAR);
	setup_options_free(&o);

	char *argv3[] = { "admin", NULL };
	ck_assert_int_eq(parse(argv3, &o, &argc, &error), 0);
	ck_assert(!o.any);
	setup_options_free(&o);

	char *bad1[] = { "admin", "--allow", NULL };
	ck_assert_int_eq(parse(bad1, &o, &argc, &error), -1);
	ck_assert_str_eq(error, "--allow needs a value");
	setup_options_free(&o);
	char *bad2[] = { "admin", "--read-only=yes", NULL };
	ck_assert_int_eq(parse(bad2, &o, &argc, &error), -1);
	ck_assert_str_eq(error, "--read-only takes no value");
	setup_options_free(&o);
	char *bad3[] = { "admin", "--readonly", NULL };
	ck_assert_int_eq(parse(bad3, &o, &argc, &error), -1);
	ck_assert_str_eq(error, "unknown option --readonly");
	setup_options_free(&o);
}
END_TEST

static char *apply(char **argv, const char *old, const char **error_r)
{
	struct setup_options o;
	int argc;
	char *result;

	ck_assert_int_eq(parse(argv, &o, &argc, error_r), 0);
	result = setup_options_apply(&o, old, old == NULL ? 0 : strlen(old),
				     error_r);
	setup_options_free(&o);
	return result;
}

START_TEST(test_globals_take)
{
	char *argv[] = { "add", "--scheme", "yescrypt", "admin",
		"--masters-file=/m.cf", "pw", "--allow", "x", "--",
		"--users-file", "/u", NULL };
	char *bad[] = { "list", "--users-file", NULL };
	struct setup_globals g = { NULL, NULL, NULL, NULL, NULL };
	const char *error;
	int argc;

	ck_assert_int_eq(setup_globals_take(11, argv, &g, &argc, &error), 0);
	ck_assert_str_eq(g.scheme, "yescrypt");
	ck_assert_str_eq(g.masters_file, "/m.cf");
	/* after "--" it is an argument */
	ck_assert_ptr_null(g.users_file);
	ck_assert_int_eq(argc, 8);
	ck_assert_str_eq(argv[0], "add");
	ck_assert_str_eq(argv[1], "admin");
	ck_assert_str_eq(argv[2], "pw");
	ck_assert_str_eq(argv[3], "--allow");
	ck_assert_str_eq(argv[5], "--");
	ck_assert_str_eq(argv[6], "--users-file");

	ck_assert_int_eq(setup_globals_take(2, bad, &g, &argc, &error), -1);
	ck_assert_str_eq(error, "--users-file needs a value");
}
END_TEST

START_TEST(test_options_apply)
{
	const char *error;
	char *r;

	char *add[] = { "--allow", "*@example.com", "--services", "IMAP",
		"--read-only", "--expires", "2027-01-01", NULL };
	r = apply(add, NULL, &error);
	ck_assert_str_eq(r, "dms_allow=*@example.com dms_services=imap "
			 "dms_read_only=yes dms_expires=2027-01-01T00:00:00Z");
	free(r);

	/* only what is given changes; other extra fields stay first */
	char *upd[] = { "--allow", "support-*@example.org", "--no-read-only",
		"--disable", NULL };
	r = apply(upd, "allow_nets=10.0.0.0/8 dms_read_only=yes "
		  "dms_services=imap dms_allow=*@x  userdb_quota=1G", &error);
	ck_assert_str_eq(r, "allow_nets=10.0.0.0/8 userdb_quota=1G "
			 "dms_allow=support-*@example.org dms_services=imap "
			 "dms_disabled=yes");
	free(r);

	char *clear[] = { "--no-allow", "--no-services", "--no-expires",
		"--enable", NULL };
	r = apply(clear, "dms_allow=a dms_services=imap "
		  "dms_expires=2027-01-01 dms_disabled=yes", &error);
	ck_assert_str_eq(r, "");
	free(r);

	/* bad values are refused with the option's name */
	char *bad1[] = { "--expires", "2027-02-30", NULL };
	ck_assert_ptr_null(apply(bad1, NULL, &error));
	ck_assert_str_eq(error, "--expires 2027-02-30: not a UTC time "
			 "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
	char *bad2[] = { "--services", "im ap", NULL };
	ck_assert_ptr_null(apply(bad2, NULL, &error));
	ck_assert(strstr(error, "white space") != NULL);
	char *bad3[] = { "--allow", "a,,b", NULL };
	ck_assert_ptr_null(apply(bad3, NULL, &error));
	ck_assert_str_eq(error, "dms_allow: empty pattern");
	char *bad4[] = { "--services", "smtp;rm", NULL };
	ck_assert_ptr_null(apply(bad4, NULL, &error));
	/* a broken option already there is not written back silently */
	char *other[] = { "--read-only", NULL };
	ck_assert_ptr_null(apply(other, "dms_alow=x", &error));
	ck_assert(strstr(error, "dms_alow") != NULL);
	/* ... but setting it replaces it */
	char *fix[] = { "--disable", NULL };
	r = apply(fix, "dms_disabled=maybe", &error);
	ck_assert_str_eq(r, "dms_disabled=yes");
	free(r);
}
END_TEST

/* A password argument that reads like a stored policy option. */
static const struct {
	const char *arg;
	bool option;
} policy_arg_cases[] = {
	{ "dms_read_only=yes", true },
	{ "dms_allow=*@example.com", true },
	{ "DMS_Disabled=yes", true },
	{ "dms_x=", true },
	{ "dms_=yes", false },
	{ "dms_read_only", false },
	{ "dms-read-only=yes", false },
	{ "xdms_read_only=yes", false },
	{ "dms_read only=yes", false },
	{ "top-secret", false },
	{ "", false },
};

/* The per-master choices of the session record and the owner's notice. */
START_TEST(test_options_session)
{
	const char *error;
	char *r;

	char *set[] = { "--record", "messages", "--notify-owner", NULL };
	r = apply(set, "dms_read_only=yes", &error);
	ck_assert_str_eq(r, "dms_read_only=yes dms_record=messages "
			 "dms_notify_owner=yes");
	free(r);
	char *change[] = { "--record=summary", "--no-notify-owner", NULL };
	r = apply(change, "dms_record=messages dms_notify_owner=yes", &error);
	ck_assert_str_eq(r, "dms_record=summary dms_notify_owner=no");
	free(r);
	char *clear[] = { "--no-record", "--default-notify-owner", NULL };
	r = apply(clear, "dms_record=messages dms_notify_owner=no "
		  "dms_disabled=yes", &error);
	ck_assert_str_eq(r, "dms_disabled=yes");
	free(r);
	char *bad[] = { "--record", "everything", NULL };
	ck_assert_ptr_null(apply(bad, NULL, &error));
	ck_assert_str_eq(error, "dms_record: not summary or messages");
}
END_TEST

START_TEST(test_arg_is_policy_option)
{
	ck_assert_int_eq(setup_arg_is_policy_option(policy_arg_cases[_i].arg),
			 policy_arg_cases[_i].option);
}
END_TEST

Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, test_options_parse);
	tcase_add_test(tc, test_options_apply);
	tcase_add_test(tc, test_options_session);
	tcase_add_test(tc, test_globals_take);
	tcase_add_loop_test(tc, test_arg_is_policy_option, 0,
			    sizeof(policy_arg_cases) /
			    sizeof(policy_arg_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
