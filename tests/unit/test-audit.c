#include "test-dms.h"
#include "dms-audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct dms_audit_record plain = {
	.time_usec = 1798761600123456LL,
	.stage = "session",
	.master = "admin",
	.target = "user@example.com",
	.user = "alias@example.com",
	.service = "imap",
	.remote_ip = "127.0.0.1",
	.result = "ok",
	.rule = "allow",
	.pattern = "*@example.com",
	.session = "ZKjpSW9hjqp/AAAB",
	.read_only = true,
};

START_TEST(test_audit_text)
{
	struct dms_audit_record r = plain;
	char *text = dms_audit_text(&r);

	ck_assert_str_eq(text, "stage=session master=admin "
			 "target=user@example.com user=alias@example.com "
			 "service=imap rip=127.0.0.1 result=ok rule=allow "
			 "pattern=*@example.com session=ZKjpSW9hjqp/AAAB "
			 "read_only=yes");
	free(text);
	r.stage = NULL;
	r.user = NULL;
	r.session = NULL;

	/* a hostile name can neither add a field nor break the line */
	r.master = "evil result=ok";
	r.target = "a\"b\\c\nd";
	r.remote_ip = NULL;
	r.pattern = NULL;
	r.service = "";
	r.read_only = false;
	text = dms_audit_text(&r);
	ck_assert_str_eq(text, "master=\"evil result=ok\" "
			 "target=\"a\\\"b\\\\c\\x0ad\" service=\"\" result=ok "
			 "rule=allow read_only=no");
	free(text);
	r.master = "\xc3\xbc\x01";
	r.target = NULL;
	text = dms_audit_text(&r);
	ck_assert_str_eq(text, "master=\"\\xc3\\xbc\\x01\" service=\"\" "
			 "result=ok rule=allow read_only=no");
	free(text);
}
END_TEST

START_TEST(test_audit_json)
{
	struct dms_audit_record r = plain;
	char *json = dms_audit_json(&r);

	ck_assert_str_eq(json, "{\"time\":\"2027-01-01T00:00:00.123456Z\","
			 "\"stage\":\"session\","
			 "\"master\":\"admin\",\"target\":\"user@example.com\","
			 "\"user\":\"alias@example.com\","
			 "\"service\":\"imap\",\"remote_ip\":\"127.0.0.1\","
			 "\"result\":\"ok\",\"rule\":\"allow\","
			 "\"pattern\":\"*@example.com\","
			 "\"session\":\"ZKjpSW9hjqp/AAAB\",\"grant\":null,"
			 "\"reason\":null,\"read_only\":true}\n");
	free(json);
	/* a grant's reason is the operator's text: escaped as any value */
	r.rule = "grant";
	r.grant = "0123456789abcdef";
	r.reason = "ticket #42: \"restore\" mail";
	json = dms_audit_json(&r);
	ck_assert(strstr(json, "\"rule\":\"grant\",\"pattern\":\"*@example.com\","
			 "\"session\":\"ZKjpSW9hjqp/AAAB\","
			 "\"grant\":\"0123456789abcdef\",\"reason\":\"ticket #42: "
			 "\\\"restore\\\" mail\",") != NULL);
	free(json);
	json = dms_audit_text(&r);
	ck_assert(strstr(json, "grant=0123456789abcdef reason=\"ticket #42: "
			 "\\\"restore\\\" mail\" read_only=yes") != NULL);
	free(json);
	r = plain;
	r.stage = NULL;
	r.user = NULL;
	r.session = NULL;

	/* escapes; valid UTF-8 kept, invalid bytes and controls as \u00XX */
	r.time_usec = 5;
	r.master = "a\"b\\c\n\x7f";
	r.target = "\xc3\xbc-\xff-\xc3-\xed\xa0\x80-\xf0\x9f\x98\x80";
	r.remote_ip = NULL;
	r.pattern = NULL;
	r.read_only = false;
	json = dms_audit_json(&r);
	ck_assert_str_eq(json, "{\"time\":\"1970-01-01T00:00:00.000005Z\","
			 "\"stage\":null,\"master\":\"a\\\"b\\\\c\\u000a\\u007f\","
			 "\"target\":\"\xc3\xbc-\\u00ff-\\u00c3-"
			 "\\u00ed\\u00a0\\u0080-\xf0\x9f\x98\x80\","
			 "\"user\":null,"
			 "\"service\":\"imap\",\"remote_ip\":null,"
			 "\"result\":\"ok\",\"rule\":\"allow\","
			 "\"pattern\":null,\"session\":null,"
			 "\"grant\":null,\"reason\":null,"
			 "\"read_only\":false}\n");
	free(json);
}
END_TEST

START_TEST(test_audit_append)
{
	char dir[] = "/tmp/dms-audit-XXXXXX", path[256], link[256], buf[256];
	struct dms_path_trust trust = { geteuid(), getegid() };
	const char *error;
	struct stat st;
	FILE *f;
	size_t n;

	mode_t old_umask = umask(022);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	snprintf(link, sizeof(link), "%s/link.jsonl", dir);
	ck_assert_int_eq(dms_audit_append(path, &trust, "{\"a\":1}\n",
					  &error), 0);
	ck_assert_int_eq(dms_audit_append(path, &trust, "{\"a\":2}\n",
					  &error), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	umask(old_umask);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_str_eq(buf, "{\"a\":1}\n{\"a\":2}\n");

	/* never through a symlink (someone else's file) */
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(dms_audit_append(link, &trust, "x\n", &error), -1);
	ck_assert(strstr(error, "link.jsonl") != NULL);
	/* no directory */
	ck_assert_int_eq(dms_audit_append("/nonexistent/dir/a.jsonl", &trust,
					  "x\n", &error), -1);
	ck_assert(strstr(error, "No such file") != NULL);
	/* a directory others can write: they could swap the file */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(dms_audit_append(path, &trust, "x\n", &error), -1);
	ck_assert(strstr(error, "writable by others") != NULL);
	ck_assert(strstr(error, dir) != NULL);
	/* sticky, as /tmp: they cannot */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(dms_audit_append(path, &trust, "y\n", &error), 0);
	unlink(link);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_test(tc, test_audit_text);
	tcase_add_test(tc, test_audit_json);
	tcase_add_test(tc, test_audit_append);
	suite_add_tcase(s, tc);
	return s;
}
