/* Grants: the line format, what a grant covers, the file, and what a
   grant adds to a master's policy (dms-grants.h). */

#include "test-dms.h"
#include "dms-grants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "0123456789abcdef"
/* 2027-01-01T00:00:00Z, 2027-01-02T00:00:00Z */
#define T0 1798761600
#define T1 (T0 + 86400)

START_TEST(test_grant_line)
{
	char line[] = ID "|admin|*@example.com|2027-01-01T00:00:00Z|"
		"2027-01-02T00:00:00Z|active|-|ticket 42 | restore";
	struct dms_grant g;
	const char *error;
	char *out;

	ck_assert_int_eq(dms_grant_parse(line, &g, &error), 0);
	ck_assert_str_eq(g.id, ID);
	ck_assert_str_eq(g.master, "admin");
	ck_assert_str_eq(g.target, "*@example.com");
	ck_assert_int_eq(g.created, T0);
	ck_assert_int_eq(g.until, T1);
	ck_assert_int_eq(g.state, DMS_GRANT_ACTIVE);
	ck_assert_ptr_null(g.approver);
	/* the reason is the rest of the line, '|' and all */
	ck_assert_str_eq(g.reason, "ticket 42 | restore");
	out = dms_grant_format(&g);
	ck_assert_str_eq(out, ID "|admin|*@example.com|2027-01-01T00:00:00Z|"
			 "2027-01-02T00:00:00Z|active|-|ticket 42 | restore\n");
	free(out);

	static const char *const bad[] = {
		"",
		ID "|admin|x|2027-01-01T00:00:00Z|2027-01-02T00:00:00Z|active|-",
		"0123|admin|x|2027-01-01|2027-01-02|active|-|r",
		ID "X|admin|x|2027-01-01|2027-01-02|active|-|r",
		ID "|ad min|x|2027-01-01|2027-01-02|active|-|r",
		ID "|admin||2027-01-01|2027-01-02|active|-|r",
		ID "|admin|x|tomorrow|2027-01-02|active|-|r",
		ID "|admin|x|2027-01-01|2027-01-02|on|-|r",
		ID "|admin|x|2027-01-01|2027-01-02|active|-|",
		ID "|admin|x|2027-01-01|2027-01-02|active|a b|r",
		ID "|admin|x|2027-01-01|2027-01-02|active|-|r\tx",
		"0123456789ABCDEF|admin|x|2027-01-01|2027-01-02|active|-|r",
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *copy = strdup(bad[i]);

		ck_assert_msg(dms_grant_parse(copy, &g, &error) < 0, "%s",
			      bad[i]);
		free(copy);
	}
	out = dms_grants_path("/etc/dovecot/m.cf");
	ck_assert_str_eq(out, "/etc/dovecot/m.cf.grants");
	free(out);
}
END_TEST

START_TEST(test_grant_covers)
{
	static const char text[] =
		"# comment\n"
		ID "|admin|boss@example.org|2027-01-01T00:00:00Z|"
		"2027-01-02T00:00:00Z|active|-|r\n"
		"not a grant\n"
		"1111111111111111|admin|*@hr.example.com|2027-01-01|2027-01-02|"
		"pending|-|r\n"
		"2222222222222222|admin|ceo@example.org|2027-01-01|2027-01-02|"
		"revoked|-|r\n"
		"3333333333333333|other|*|2027-01-01|2027-01-02|active|boss|r";
	struct dms_grants *grants = dms_grants_from_buffer(text,
							   strlen(text));
	const struct dms_grant *g;
	size_t count;

	ck_assert_ptr_nonnull(grants);
	ck_assert_uint_eq(dms_grants_skipped(grants), 1);
	dms_grants_all(grants, &count);
	ck_assert_uint_eq(count, 4);
	g = dms_grants_find(grants, "admin", "boss@example.org", T0);
	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(g->id, ID);
	/* case as the patterns: ASCII ignored */
	ck_assert_ptr_nonnull(dms_grants_find(grants, "admin",
					      "BOSS@example.org", T0 + 10));
	/* the window: from CREATED, until UNTIL (excluded) */
	ck_assert_ptr_null(dms_grants_find(grants, "admin",
					   "boss@example.org", T0 - 1));
	ck_assert_ptr_null(dms_grants_find(grants, "admin",
					   "boss@example.org", T1));
	/* another master's, a pending and a revoked grant cover nothing */
	ck_assert_ptr_null(dms_grants_find(grants, "other2",
					   "boss@example.org", T0));
	ck_assert_ptr_null(dms_grants_find(grants, "admin",
					   "x@hr.example.com", T0));
	ck_assert_ptr_null(dms_grants_find(grants, "admin",
					   "ceo@example.org", T0));
	ck_assert_ptr_null(dms_grants_find(grants, "admin", NULL, T0));
	g = dms_grants_find(grants, "other", "anyone@anywhere", T0);
	ck_assert_str_eq(g->approver, "boss");
	dms_grants_free(&grants);
}
END_TEST

static int check(const char *options, const struct dms_grants *grants,
		 const char *target, enum dms_policy_rule *rule_r,
		 const struct dms_grant **grant_r)
{
	char *copy = strdup(options), site_text[] = "dms_deny=ceo@example.org";
	char ebuf[128];
	struct dms_policy policy;
	struct dms_policy_site site;
	struct dms_policy_login login = {
		.target = target, .service = "imap", .now = T0,
	};
	const char *error, *detail;
	bool allowed;
	int ret;

	ck_assert_int_eq(dms_policy_parse(copy, true, &policy, ebuf,
					  sizeof(ebuf), &error), 0);
	ck_assert_int_eq(dms_policy_site_parse(site_text, &site, ebuf,
					       sizeof(ebuf), &error), 0);
	allowed = dms_policy_check(&policy, &site, &login, rule_r, &detail);
	ret = dms_grant_check(&policy, allowed, grants, "admin", target, T0,
			      rule_r, grant_r);
	free(copy);
	return ret;
}

START_TEST(test_grant_check)
{
	static const char text[] =
		ID "|admin|boss@example.org|2027-01-01|2027-01-02|active|-|r\n"
		"1111111111111111|admin|ceo@example.org|2027-01-01|2027-01-02|"
		"active|-|r\n";
	struct dms_grants *grants = dms_grants_from_buffer(text,
							   strlen(text));
	enum dms_policy_rule rule;
	const struct dms_grant *grant;

	/* standing access: no grant needed, none named */
	ck_assert_int_eq(check("", grants, "a@example.com", &rule, &grant), 1);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_ALLOW);
	ck_assert_ptr_null(grant);
	/* beyond dms_allow: the grant opens it */
	ck_assert_int_eq(check("dms_allow=*@example.com", grants,
			       "boss@example.org", &rule, &grant), 1);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_GRANT);
	ck_assert_str_eq(grant->id, ID);
	ck_assert_int_eq(check("dms_allow=*@example.com", grants,
			       "x@example.org", &rule, &grant), 0);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_ALLOW);
	/* the site's protected mailbox and dms_deny win over grants */
	ck_assert_int_eq(check("", grants, "ceo@example.org", &rule, &grant),
			 0);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_PROTECTED);
	ck_assert_int_eq(check("dms_deny=boss@*", grants, "boss@example.org",
			       &rule, &grant), 0);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_DENY);
	/* as do the earlier rules */
	ck_assert_int_eq(check("dms_disabled=yes", grants, "boss@example.org",
			       &rule, &grant), 0);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_DISABLED);
	/* dms_require_grant: nothing without a grant, and within dms_allow */
	ck_assert_int_eq(check("dms_require_grant=yes", grants,
			       "a@example.com", &rule, &grant), 0);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_GRANT);
	ck_assert_int_eq(check("dms_require_grant=yes", grants,
			       "boss@example.org", &rule, &grant), 1);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_GRANT);
	ck_assert_int_eq(check("dms_require_grant=yes dms_allow=*@example.com",
			       grants, "boss@example.org", &rule, &grant), 0);
	ck_assert_int_eq(rule, DMS_POLICY_RULE_ALLOW);
	/* a grants file that cannot be read: a temporary failure where a
	   grant is needed, and nothing changes where it is not */
	ck_assert_int_eq(check("dms_require_grant=yes", NULL,
			       "boss@example.org", &rule, &grant), -1);
	ck_assert_int_eq(check("dms_allow=*@example.com", NULL,
			       "boss@example.org", &rule, &grant), -1);
	ck_assert_int_eq(check("", NULL, "boss@example.org", &rule, &grant),
			 1);
	dms_grants_free(&grants);
}
END_TEST

/* a grants file of one LINE, as setup leaves it (0640) */
static void write_grants(const char *path, const char *line)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(line, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);
}

START_TEST(test_grants_file)
{
	struct dms_path_trust trust = { geteuid(), getegid() };
	char dir[256], path[300];
	struct dms_grants *grants;
	const char *error;

	test_tmpdir_make(dir, sizeof(dir), "/tmp/dms-grants.XXXXXX");
	snprintf(path, sizeof(path), "%s/masters.cf.grants", dir);
	grants = dms_grants_new(path, &trust);
	/* no file: no grants, usable */
	ck_assert_int_eq(dms_grants_refresh(grants, &error), 1);
	ck_assert_int_eq(dms_grants_refresh(grants, &error), 0);
	ck_assert(dms_grants_usable(grants));
	write_grants(path, ID "|admin|boss@example.org|2027-01-01|2027-01-02|"
		     "active|-|r\n");
	ck_assert_int_eq(dms_grants_refresh(grants, &error), 1);
	ck_assert_ptr_nonnull(dms_grants_find(grants, "admin",
					      "boss@example.org", T0));
	/* unchanged: not read again */
	ck_assert_int_eq(dms_grants_refresh(grants, &error), 0);
	/* writable by others: not trusted, no grants, not usable */
	chmod(path, 0666);
	ck_assert_int_eq(dms_grants_refresh(grants, &error), -1);
	ck_assert(strstr(error, "untrusted") != NULL);
	ck_assert(!dms_grants_usable(grants));
	ck_assert_ptr_null(dms_grants_find(grants, "admin",
					   "boss@example.org", T0));
	chmod(path, 0640);
	ck_assert_int_eq(dms_grants_refresh(grants, &error), 1);
	ck_assert(dms_grants_usable(grants));
	/* revoked in a new file (as setup writes it): seen at once */
	unlink(path);
	write_grants(path, ID "|admin|boss@example.org|2027-01-01|2027-01-02|"
		     "revoked|-|r\n");
	ck_assert_int_eq(dms_grants_refresh(grants, &error), 1);
	ck_assert_ptr_null(dms_grants_find(grants, "admin",
					   "boss@example.org", T0));
	dms_grants_free(&grants);
	ck_assert_int_eq(test_tmpdir_remove(dir), 0);
}
END_TEST

Suite *grants_suite(void)
{
	Suite *s = suite_create("grants");
	TCase *tc = tcase_create("grants");

	tcase_add_test(tc, test_grant_line);
	tcase_add_test(tc, test_grant_covers);
	tcase_add_test(tc, test_grant_check);
	tcase_add_test(tc, test_grants_file);
	suite_add_tcase(s, tc);
	return s;
}
