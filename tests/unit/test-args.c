#include "test-dms.h"
#include "dms-args.h"

#include <string.h>

static const struct {
	const char *args;
	int ret;
	char separator;
	enum dms_scheme scheme;
	const char *format;
	int blocking;
	const char *path;
	const char *error_part;
} cases[] = {
	{ "/etc/dovecot/dovecot-masters.cf", 0, '*', DMS_SCHEME_SHA512_CRYPT,
	  "%u", 0, "/etc/dovecot/dovecot-masters.cf", NULL },
	/* docker-mailserver's passwd-file args, as they are */
	{ "scheme=SHA512-CRYPT username_format=%u /etc/dovecot/masterdb", 0,
	  '*', DMS_SCHEME_SHA512_CRYPT, "%u", 0, "/etc/dovecot/masterdb", NULL },
	{ "separator=# scheme=blf-crypt username_format=%Lu blocking=yes /m",
	  0, '#', DMS_SCHEME_BLF_CRYPT, "%Lu", 1, "/m", NULL },
	{ "  blocking=no\t/with space/file  ", 0, '*', DMS_SCHEME_SHA512_CRYPT,
	  "%u", 0, "/with space/file", NULL },
	{ "blocking /m", 0, '*', DMS_SCHEME_SHA512_CRYPT, "%u", 1, "/m", NULL },
	{ "scheme=CRYPT /m", 0, '*', DMS_SCHEME_CRYPT, "%u", 0, "/m", NULL },
	/* errors */
	{ "", -1, 0, 0, NULL, 0, NULL, "Missing" },
	{ "scheme=SHA512-CRYPT", -1, 0, 0, NULL, 0, NULL, "Missing" },
	{ "relative/path", -1, 0, 0, NULL, 0, NULL, "Unknown parameter: relative/path" },
	{ "foo=bar /m", -1, 0, 0, NULL, 0, NULL, "Unknown parameter: foo" },
	{ "scheme=PLAIN /m", -1, 0, 0, NULL, 0, NULL, "Unknown scheme=PLAIN" },
	{ "scheme= /m", -1, 0, 0, NULL, 0, NULL, "Unknown scheme=" },
	{ "separator=ab /m", -1, 0, 0, NULL, 0, NULL, "Invalid separator=ab" },
	{ "separator= /m", -1, 0, 0, NULL, 0, NULL, "Invalid separator" },
	{ "separator=@ /m", -1, 0, 0, NULL, 0, NULL, "Invalid separator=@" },
	{ "separator=a /m", -1, 0, 0, NULL, 0, NULL, "Invalid separator=a" },
	{ "separator=: /m", -1, 0, 0, NULL, 0, NULL, "Invalid separator=:" },
	{ "separator=\x01 /m", -1, 0, 0, NULL, 0, NULL, "Invalid separator" },
	{ "blocking=maybe /m", -1, 0, 0, NULL, 0, NULL, "Invalid blocking=maybe" },
	{ "username_format= /m", -1, 0, 0, NULL, 0, NULL, "Empty username_format" },
};

START_TEST(test_parse)
{
	struct dms_args a;
	const char *error = NULL;
	int ret = dms_args_parse(cases[_i].args, &a, &error);

	ck_assert_msg(ret == cases[_i].ret, "case %d: %s", _i,
		      ret < 0 ? error : "ok");
	if (ret < 0) {
		ck_assert_msg(strstr(error, cases[_i].error_part) != NULL,
			      "case %d: %s", _i, error);
		return;
	}
	ck_assert_int_eq(a.separator, cases[_i].separator);
	ck_assert_int_eq(a.scheme, cases[_i].scheme);
	ck_assert_str_eq(a.username_format, cases[_i].format);
	ck_assert_int_eq(a.blocking, cases[_i].blocking);
	ck_assert_str_eq(a.path, cases[_i].path);
	dms_args_free(&a);
	ck_assert_ptr_null(a.path);
}
END_TEST

START_TEST(test_policy_args)
{
	struct dms_args a;
	const char *error;

	ck_assert_int_eq(dms_args_parse("/m", &a, &error), 0);
	ck_assert_str_eq(a.default_services, "imap,pop3");
	ck_assert_ptr_null(a.audit_file);
	dms_args_free(&a);
	ck_assert_int_eq(dms_args_parse("default_services=* audit_file=/var/log/"
					"dms.jsonl /m", &a, &error), 0);
	ck_assert_str_eq(a.default_services, "*");
	ck_assert_str_eq(a.audit_file, "/var/log/dms.jsonl");
	ck_assert_str_eq(a.path, "/m");
	dms_args_free(&a);
	ck_assert_int_eq(dms_args_parse("default_services=imap,submission /m",
					&a, &error), 0);
	dms_args_free(&a);
	ck_assert_int_eq(dms_args_parse("default_services=IMAP /m", &a,
					&error), -1);
	ck_assert(strstr(error, "Invalid default_services=IMAP") != NULL);
	ck_assert_int_eq(dms_args_parse("default_services= /m", &a, &error),
			 -1);
	ck_assert_int_eq(dms_args_parse("audit_file=audit.jsonl /m", &a,
					&error), -1);
	ck_assert_str_eq(error, "Invalid audit_file=audit.jsonl: needs an "
			 "absolute path");

	/* the site's protected list and ports, as one canonical text */
	ck_assert_int_eq(dms_args_parse("/m", &a, &error), 0);
	ck_assert_str_eq(a.site, "dms_services=imap,pop3");
	dms_args_free(&a);
	ck_assert_int_eq(dms_args_parse("protected=ceo@example.com,*@hr.x "
					"ports=10143,127.0.0.1:993 "
					"default_services=imap /m", &a,
					&error), 0);
	ck_assert_str_eq(a.site, "dms_services=imap dms_deny=ceo@example.com,"
			 "*@hr.x dms_ports=10143,127.0.0.1:993");
	dms_args_free(&a);
	ck_assert_int_eq(dms_args_parse("ports=imap /m", &a, &error), -1);
	ck_assert(strstr(error, "Invalid ports=imap: not a port") != NULL);
	ck_assert_int_eq(dms_args_parse("protected=a,,b /m", &a, &error), -1);
	ck_assert(strstr(error, "Invalid protected=a,,b: ") != NULL);
	/* given empty: none, as if not given */
	ck_assert_int_eq(dms_args_parse("protected= ports= /m", &a, &error), 0);
	ck_assert_str_eq(a.site, "dms_services=imap,pop3");
	dms_args_free(&a);
}
END_TEST

START_TEST(test_long_token)
{
	char args[4096];
	struct dms_args a;
	const char *error;

	memset(args, 'x', sizeof(args) - 1);
	args[sizeof(args) - 1] = '\0';
	ck_assert_int_eq(dms_args_parse(args, &a, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "too long"));
}
END_TEST

START_TEST(test_separators)
{
	ck_assert(dms_separator_valid('*'));
	ck_assert(dms_separator_valid('#'));
	ck_assert(dms_separator_valid('+'));
	ck_assert(!dms_separator_valid(' '));
	ck_assert(!dms_separator_valid('\0'));
	ck_assert(!dms_separator_valid('\x7f'));
	ck_assert(!dms_separator_valid('\xc3'));
	ck_assert(!dms_separator_valid('|'));
	ck_assert(!dms_separator_valid('%'));
	ck_assert(!dms_separator_valid('Z'));
	ck_assert(!dms_separator_valid('0'));
}
END_TEST

Suite *args_suite(void)
{
	Suite *s = suite_create("args");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_policy_args);
	tcase_add_test(tc, test_long_token);
	tcase_add_test(tc, test_separators);
	suite_add_tcase(s, tc);
	return s;
}
