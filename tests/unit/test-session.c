/* The session records (dms-session-record.h), reading audit lines back
   (dms-audit-read.h), and the revocation check over a store file
   (dms-session-check.h). */

#include "test-dms.h"
#include "dms-audit.h"
#include "dms-audit-read.h"
#include "dms-notice.h"
#include "dms-policy.h"
#include "dms-session-check.h"
#include "dms-session-record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T 1798761600123456LL

START_TEST(test_session_json)
{
	const char *kv[] = {
		"session", "s1", "master", "admin", "mailbox", "In\"box\n",
		"read", "12", "read_only", "yes", NULL
	};
	const char *error = NULL;
	char *line = dms_session_json(T, "dms_master_session_mailbox", kv,
				      &error);

	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "{\"time\":\"2027-01-01T00:00:00.123456Z\","
			 "\"event\":\"dms_master_session_mailbox\","
			 "\"session\":\"s1\",\"master\":\"admin\","
			 "\"mailbox\":\"In\\\"box\\u000a\",\"read\":12,"
			 "\"read_only\":true}\n");
	free(line);
}
END_TEST

START_TEST(test_session_json_refused)
{
	static const char *const bad[][5] = {
		/* unknown key: the mail process may not add fields */
		{ "time", "1", NULL },
		{ "pid2", "1", NULL },
		/* numbers are digits, no sign, no leading zero, no overflow */
		{ "read", "-1", NULL },
		{ "read", "01", NULL },
		{ "read", "", NULL },
		{ "read", "1234567890123456789", NULL },
		{ "read", "1e3", NULL },
		{ "read_only", "true", NULL },
		/* a key once */
		{ "read", "1", "read", "2", NULL },
		/* a key without a value */
		{ "read", NULL },
	};
	const char *error;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		ck_assert_ptr_null(dms_session_json(
			T, "dms_master_session_mailbox", bad[i], &error));
		ck_assert_ptr_nonnull(error);
	}
	const char *ok[] = { NULL };
	ck_assert_ptr_null(dms_session_json(T, "dms_master_login", ok,
					    &error));
	ck_assert_str_eq(error, "unknown event");

	char long_value[DMS_SESSION_VALUE_MAX + 2];
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	const char *too_long[] = { "mailbox", long_value, NULL };
	ck_assert_ptr_null(dms_session_json(T, "dms_master_session_mailbox",
					    too_long, &error));
	ck_assert_str_eq(error, "value too long");
	long_value[DMS_SESSION_VALUE_MAX] = '\0';
	char *line = dms_session_json(T, "dms_master_session_mailbox",
				      too_long, &error);
	ck_assert_ptr_nonnull(line);
	free(line);
}
END_TEST

/* What the writers write, the reader reads back. */
START_TEST(test_audit_read_roundtrip)
{
	struct dms_audit_record r = {
		.time_usec = T, .stage = "auth", .master = "ad\\min",
		.target = "us\x01er@example.com", .result = "refused",
		.read_only = true,
	};
	struct dms_audit_line line;
	char *json = dms_audit_json(&r);

	ck_assert_int_eq(dms_audit_line_parse(json, strlen(json), &line), 0);
	ck_assert_str_eq(dms_audit_line_get(&line, "stage"), "auth");
	ck_assert_str_eq(dms_audit_line_get(&line, "master"), "ad\\min");
	ck_assert_str_eq(dms_audit_line_get(&line, "target"),
			 "us\x01er@example.com");
	ck_assert_ptr_null(dms_audit_line_get(&line, "user"));
	ck_assert_str_eq(dms_audit_line_get(&line, "read_only"), "true");
	ck_assert_str_eq(dms_audit_line_get(&line, "time"),
			 "2027-01-01T00:00:00.123456Z");
	dms_audit_line_free(&line);
	free(json);

	const char *kv[] = { "mailbox", "Ä/Entwürfe", "read", "3", NULL };
	const char *error;
	json = dms_session_json(T, "dms_master_session_mailbox", kv, &error);
	ck_assert_int_eq(dms_audit_line_parse(json, strlen(json), &line), 0);
	ck_assert_str_eq(dms_audit_line_get(&line, "mailbox"), "Ä/Entwürfe");
	ck_assert_uint_eq(dms_audit_line_number(&line, "read"), 3);
	ck_assert_uint_eq(dms_audit_line_number(&line, "bytes"), 0);
	dms_audit_line_free(&line);
	free(json);
}
END_TEST

START_TEST(test_audit_read_invalid)
{
	static const char *const bad[] = {
		"", "{", "}", "[]", "{\"a\":1", "{\"a\":1}x", "{\"a\":{}}",
		"{\"a\":[1]}", "{\"a\":-1}", "{\"a\":1.5}", "{\"a\":nul}",
		"{\"a\":\"x}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u00\"}",
		"{\"a\":\"\\u0000\"}", "{a:1}", "{\"a\" 1}", "{\"a\":1,}",
		"{\"a\":truex}", "{\"a\":\"tab\there\"}",
	};
	struct dms_audit_line line;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(dms_audit_line_parse(bad[i], strlen(bad[i]),
						   &line) < 0, "%s", bad[i]);
		dms_audit_line_free(&line);
	}
	ck_assert_int_eq(dms_audit_line_parse("{ }\n", 4, &line), 0);
	ck_assert_uint_eq(line.count, 0);
	dms_audit_line_free(&line);
	const char *spaced =
		"{ \"a\" : 1 , \"b\" : null , \"c\":\"\\u00e9\" }";
	ck_assert_int_eq(dms_audit_line_parse(spaced, strlen(spaced), &line),
			 0);
	ck_assert_uint_eq(line.count, 3);
	ck_assert_str_eq(dms_audit_line_get(&line, "a"), "1");
	ck_assert_ptr_null(dms_audit_line_get(&line, "b"));
	ck_assert_str_eq(dms_audit_line_get(&line, "c"), "\xc3\xa9");
	dms_audit_line_free(&line);
}
END_TEST

/* The checker reads the store file as the passdb does, and re-reads it
   when it changes. */
START_TEST(test_session_check_file)
{
	char dir[64], path[128], spec[160];
	struct dms_path_trust trust = { getuid(), getgid() };
	struct dms_session_checker *checker;
	const char *reason;
	FILE *f;

	test_tmpdir_make(dir, sizeof(dir), "/tmp/dms-check.XXXXXX");
	snprintf(path, sizeof(path), "%s/masters", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	f = fopen(path, "w");
	fputs("admin|{PLAIN}x\nro|{PLAIN}x|dms_read_only=yes\n"
	      "scoped|{PLAIN}x|dms_allow=*@example.org\n", f);
	fclose(f);

	struct dms_session_subject s = {
		.master = "admin", .user = "user@example.com",
		.service = "imap", .store = spec,
		.site = "dms_services=imap,pop3",
	};
	checker = dms_session_checker_new(&trust);
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 1);
	s.service = "submission";
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_str_eq(reason, "services");
	s.service = "imap";
	s.master = "scoped";
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_str_eq(reason, "allow");
	s.master = "ro";
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_str_eq(reason, "read_only");
	s.read_only = true;
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 1);
	s.master = "nobody";
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_str_eq(reason, "deleted");

	/* changed: admin is disabled (another size, so the re-read does
	   not depend on the clock) */
	s.master = "admin";
	s.read_only = false;
	f = fopen(path, "w");
	fputs("admin|{PLAIN}x|dms_disabled=yes dms_services=*\n", f);
	fclose(f);
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_str_eq(reason, "disabled");
	/* gone: fail closed */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_ptr_nonnull(strstr(reason, "the store cannot confirm access"));
	/* not a store at all */
	s.store = "";
	ck_assert_int_eq(dms_session_check(checker, &s, 0, 0, &reason), 0);
	ck_assert_ptr_nonnull(strstr(reason, "no store named"));
	dms_session_checker_free(&checker);
	ck_assert_ptr_null(checker);
	ck_assert_int_eq(test_tmpdir_remove(dir), 0);
}
END_TEST

START_TEST(test_notice_expand)
{
	const char *vars[] = {
		"master", "admin", "user", "user@example.com",
		/* a value cannot add a header line */
		"mailboxes", "INBOX\nBcc: x@example.net", "read", "3", NULL
	};
	const char *error = NULL;
	char *text;

	text = dms_notice_expand("Subject: %{master} opened %{user}\n\n"
				 "%{mailboxes}: %{read} read, 100%% sure, "
				 "%{changed}\n", vars, &error);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "Subject: admin opened user@example.com\n\n"
			 "INBOX: 3 read, 100% sure, \n");
	free(text);

	static const char *const bad[][2] = {
		{ "Subject: x\n\n%{nosuch}", "unknown variable %{nosuch}" },
		{ "Subject: x\n\n50% off", "a '%' that is not %{name} or %%" },
		{ "Subject: x\n\n%{master", "a '%' that is not %{name} or %%" },
		{ "Subject: x\nbody", "no empty line after the header" },
		{ "From: x\n\nbody", "no Subject: header" },
		{ "\n\nSubject: late", "no Subject: header" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_ptr_null(dms_notice_expand(bad[i][0], vars, &error));
		ck_assert_str_eq(error, bad[i][1]);
	}
	/* the shipped template's variables are the known ones */
	for (const char *const *v = dms_notice_variables; *v != NULL; v++) {
		char tmpl[128];

		snprintf(tmpl, sizeof(tmpl), "Subject: %%{%s}\n\n", *v);
		text = dms_notice_expand(tmpl, vars, &error);
		ck_assert_ptr_nonnull(text);
		free(text);
	}
}
END_TEST

/* dms_record and dms_notify_owner: parsed strictly, written back. */
START_TEST(test_policy_session_keys)
{
	struct dms_policy p;
	char text[128], ebuf[256], out[256];
	const char *error;

	strcpy(text, "dms_record=messages dms_notify_owner=no");
	ck_assert_int_eq(dms_policy_parse(text, true, &p, ebuf, sizeof(ebuf),
					  &error), 0);
	ck_assert_int_eq(p.record, DMS_POLICY_RECORD_MESSAGES);
	ck_assert_int_eq(p.notify_owner, DMS_POLICY_NOTIFY_NO);
	ck_assert(dms_policy_is_set(&p));
	dms_policy_format(&p, out, sizeof(out));
	ck_assert_str_eq(out, "dms_record=messages dms_notify_owner=no");
	ck_assert_str_eq(dms_policy_record_name(p.record), "messages");
	ck_assert_ptr_null(dms_policy_record_name(DMS_POLICY_RECORD_DEFAULT));

	strcpy(text, "dms_record=all");
	ck_assert_int_lt(dms_policy_parse(text, true, &p, ebuf, sizeof(ebuf),
					  &error), 0);
	strcpy(text, "dms_notify_owner=maybe");
	ck_assert_int_lt(dms_policy_parse(text, true, &p, ebuf, sizeof(ebuf),
					  &error), 0);
	strcpy(text, "dms_record=summary dms_record=summary");
	ck_assert_int_lt(dms_policy_parse(text, true, &p, ebuf, sizeof(ebuf),
					  &error), 0);
}
END_TEST

Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_test(tc, test_session_json);
	tcase_add_test(tc, test_session_json_refused);
	tcase_add_test(tc, test_audit_read_roundtrip);
	tcase_add_test(tc, test_audit_read_invalid);
	tcase_add_test(tc, test_session_check_file);
	tcase_add_test(tc, test_notice_expand);
	tcase_add_test(tc, test_policy_session_keys);
	suite_add_tcase(s, tc);
	return s;
}
