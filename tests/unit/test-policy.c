#include "test-dms.h"
#include "dms-pattern.h"
#include "dms-policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *pattern, *name;
	bool match;
} match_cases[] = {
	/* exact names, without regard to ASCII case */
	{ "user@example.com", "user@example.com", true },
	{ "User@Example.COM", "user@example.com", true },
	{ "user@example.com", "user@example.co", false },
	{ "user@example.co", "user@example.com", false },
	/* a domain */
	{ "*@example.com", "a@example.com", true },
	{ "*@example.com", "@example.com", true },
	{ "*@example.com", "a@example.org", false },
	{ "*@example.com", "a@example.com.evil", false },
	/* '*' crosses '.', so this also takes subdomains' users */
	{ "*@*example.com", "a@sub.example.com", true },
	{ "*@example.com", "a@sub.example.com", false },
	{ "support-*@example.org", "support-1@example.org", true },
	{ "support-*@example.org", "support-@example.org", true },
	{ "support-*@example.org", "support@example.org", false },
	{ "support-*@example.org", "xsupport-1@example.org", false },
	/* '?' is exactly one character */
	{ "a?c", "abc", true },
	{ "a?c", "ac", false },
	{ "a?c", "abbc", false },
	{ "*", "", true },
	{ "*", "anything", true },
	{ "**", "x", true },
	{ "*a", "ba", true },
	{ "*a", "ab", false },
	{ "a*", "a", true },
	{ "a*b*c", "axxbyyc", true },
	{ "a*b*c", "axxbyy", false },
	{ "*ab", "aab", true },
	{ "*aab", "aaab", true },
	/* no classes, no escapes: literal */
	{ "[ab]", "a", false },
	{ "[ab]", "[ab]", true },
	{ "\\*", "\\x", true },
	/* bytes beyond ASCII match themselves */
	{ "*\xc3\xbc*", "x\xc3\xbcy", true },
	{ "\xc3\xbc", "\xc3\x9c", false },
	{ "", "", true },
	{ "", "a", false },
};

START_TEST(test_pattern_match)
{
	ck_assert_msg(dms_pattern_match(match_cases[_i].pattern,
					match_cases[_i].name) ==
		      match_cases[_i].match, "'%s' vs '%s'",
		      match_cases[_i].pattern, match_cases[_i].name);
}
END_TEST

/* Backtracking glob matchers take exponential time on these; ours takes
   at most len(pattern) * len(name) steps. A slow matcher fails by
   Check's timeout. */
START_TEST(test_pattern_hostile)
{
	char pattern[DMS_PATTERN_MAX + 1], name[DMS_PATTERN_MAX + 1];
	unsigned int i;

	for (i = 0; i + 4 <= DMS_PATTERN_MAX; i += 2) {
		pattern[i] = '*';
		pattern[i + 1] = 'a';
	}
	pattern[i++] = '*';
	pattern[i++] = 'b';
	pattern[i] = '\0';
	memset(name, 'a', DMS_PATTERN_MAX);
	name[DMS_PATTERN_MAX] = '\0';
	ck_assert_int_eq(strlen(pattern), DMS_PATTERN_MAX - 1);
	for (unsigned int n = 0; n < 1000; n++)
		ck_assert(!dms_pattern_match(pattern, name));
	name[DMS_PATTERN_MAX - 1] = 'b';
	ck_assert(dms_pattern_match(pattern, name));
	/* "?" runs against a shorter name */
	memset(pattern, '?', DMS_PATTERN_MAX);
	pattern[DMS_PATTERN_MAX] = '\0';
	ck_assert(!dms_pattern_match(pattern, "short"));
}
END_TEST

START_TEST(test_pattern_check)
{
	char big[DMS_PATTERN_MAX + 2];

	ck_assert_ptr_null(dms_pattern_check("*@example.com", 13));
	ck_assert_ptr_nonnull(dms_pattern_check("", 0));
	ck_assert_ptr_nonnull(dms_pattern_check("a b", 3));
	ck_assert_ptr_nonnull(dms_pattern_check("a\tb", 3));
	ck_assert_ptr_nonnull(dms_pattern_check("a\nb", 3));
	ck_assert_ptr_nonnull(dms_pattern_check("a\x7f", 2));
	ck_assert_ptr_nonnull(dms_pattern_check("a,b", 3));
	memset(big, 'a', sizeof(big));
	ck_assert_ptr_null(dms_pattern_check(big, DMS_PATTERN_MAX));
	ck_assert_ptr_nonnull(dms_pattern_check(big, DMS_PATTERN_MAX + 1));
}
END_TEST

static int parse(const char *text, struct dms_policy *policy, char **copy_r,
		 const char **error_r)
{
	static char ebuf[256];

	*copy_r = strdup(text);
	return dms_policy_parse(*copy_r, false, policy, ebuf, sizeof(ebuf),
				error_r);
}

START_TEST(test_policy_parse)
{
	char ebuf[256];
	struct dms_policy p;
	const char *error;
	char *copy;

	ck_assert_int_eq(parse("", &p, &copy, &error), 0);
	ck_assert_int_eq(p.allow.count, 0);
	ck_assert_int_eq(p.services.count, 0);
	ck_assert(!p.read_only && !p.disabled && !p.has_expires);
	free(copy);

	ck_assert_int_eq(parse("dms_allow=*@a.com,b@c.org "
			       "dms_services=imap,pop3\tdms_read_only=yes  "
			       "dms_expires=2027-01-01 dms_disabled=no",
			       &p, &copy, &error), 0);
	ck_assert_int_eq(p.allow.count, 2);
	ck_assert_str_eq(p.allow.items, "*@a.com");
	ck_assert_str_eq(p.allow.items + 8, "b@c.org");
	ck_assert_int_eq(p.services.count, 2);
	ck_assert(p.read_only);
	ck_assert(!p.disabled);
	ck_assert(p.has_expires);
	ck_assert_int_eq(p.expires, 1798761600);
	free(copy);

	/* other passdbs' extra fields are not ours */
	ck_assert_int_eq(parse("allow_nets=127.0.0.1 userdb_quota=1G nopassword "
			       "dms_disabled=yes", &p, &copy, &error), 0);
	ck_assert(p.disabled);
	free(copy);
	/* ... but a docker-mailserver line has no other fields */
	copy = strdup("dms_disabled=yes b");
	ck_assert_int_eq(dms_policy_parse(copy, true, &p, ebuf, sizeof(ebuf),
					  &error), -1);
	ck_assert_str_eq(error, "'b': not a dms_ option (a '|' in the "
			 "password?)");
	free(copy);
}
END_TEST

static const struct {
	const char *text, *error;
} bad_cases[] = {
	{ "dms_alow=x", "dms_alow: unknown option" },
	{ "dms_=x", "dms_: unknown option" },
	{ "dms_read_only=maybe", "dms_read_only: not yes or no" },
	{ "dms_read_only", "dms_read_only: needs =VALUE" },
	{ "dms_read_only=YES", "dms_read_only: not yes or no" },
	{ "dms_read_only=yes dms_read_only=no", "dms_read_only: given twice" },
	{ "dms_allow=", "dms_allow: empty pattern" },
	{ "dms_allow=a,,b", "dms_allow: empty pattern" },
	{ "dms_allow=a,", "dms_allow: empty pattern" },
	{ "dms_services=IMAP", "dms_services: service names" },
	{ "dms_services=imap,", "dms_services: empty service name" },
	{ "dms_services=im*p", "dms_services: service names" },
	{ "dms_expires=2027-13-01", "dms_expires: not a UTC time" },
	{ "dms_expires=2027-02-29", "dms_expires: not a UTC time" },
	{ "dms_expires=2027-01-01T24:00:00Z", "dms_expires: not a UTC time" },
	{ "dms_expires=2027-01-01T12:00:00", "dms_expires: not a UTC time" },
	{ "dms_expires=2027-01-01T12:00:00+01:00", "dms_expires: not a UTC" },
	{ "dms_expires=1969-12-31", "dms_expires: not a UTC time" },
	{ "dms_expires=tomorrow", "dms_expires: not a UTC time" },
	{ "dms_expires=", "dms_expires: not a UTC time" },
	{ "dms_disabled=1", "dms_disabled: not yes or no" },
};

START_TEST(test_policy_parse_errors)
{
	struct dms_policy p;
	const char *error;
	char *copy;

	ck_assert_int_eq(parse(bad_cases[_i].text, &p, &copy, &error), -1);
	ck_assert_msg(strncmp(error, bad_cases[_i].error,
			      strlen(bad_cases[_i].error)) == 0,
		      "%s: got '%s'", bad_cases[_i].text, error);
	free(copy);
}
END_TEST

START_TEST(test_policy_list_limits)
{
	char text[DMS_POLICY_LIST_MAX * 3 + 64];
	struct dms_policy p;
	const char *error;
	char *copy;
	size_t len = (size_t)snprintf(text, sizeof(text), "dms_allow=a");

	for (unsigned int i = 1; i < DMS_POLICY_LIST_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, ",a");
	ck_assert_int_eq(parse(text, &p, &copy, &error), 0);
	ck_assert_int_eq(p.allow.count, DMS_POLICY_LIST_MAX);
	free(copy);
	snprintf(text + len, sizeof(text) - len, ",a");
	ck_assert_int_eq(parse(text, &p, &copy, &error), -1);
	ck_assert_str_eq(error, "dms_allow: more than 64 items in a list");
	free(copy);
}
END_TEST

/* A login on 127.0.0.1:143 against the default site. */
static bool check(const struct dms_policy *p, const char *target,
		  const char *service, int64_t now,
		  enum dms_policy_rule *rule_r, const char **detail_r)
{
	struct dms_policy_site site;
	struct dms_policy_login login = {
		.target = target, .service = service,
		.local_ip = "127.0.0.1", .local_port = 143, .now = now,
	};
	char text[] = "", ebuf[128];
	const char *error;

	ck_assert_int_eq(dms_policy_site_parse(text, &site, ebuf, sizeof(ebuf),
					       &error), 0);
	return dms_policy_check(p, &site, &login, rule_r, detail_r);
}

START_TEST(test_policy_check)
{
	struct dms_policy p;
	enum dms_policy_rule rule;
	const char *error, *detail;
	char *copy;

	/* no options: any target, the default services */
	ck_assert_int_eq(parse("", &p, &copy, &error), 0);
	ck_assert(check(&p, "u@x", "imap", 0, &rule,
				   &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_ALLOW);
	ck_assert_ptr_null(detail);
	ck_assert(check(&p, "u@x", "pop3", 0, &rule,
				   &detail));
	ck_assert(!check(&p, "u@x", "smtp", 0, &rule,
				    &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_SERVICES);
	ck_assert(!check(&p, "u@x", "submission", 0,
				    &rule, &detail));
	ck_assert(!check(&p, "u@x", "imapx", 0,
				    &rule, &detail));
	ck_assert(!check(&p, "u@x", "ima", 0,
				    &rule, &detail));
	ck_assert(!check(&p, "u@x", NULL, 0, &rule,
				    &detail));
	free(copy);

	ck_assert_int_eq(parse("dms_allow=*@example.com,boss@example.org "
			       "dms_services=imap,submission "
			       "dms_expires=2027-01-01", &p, &copy, &error), 0);
	ck_assert(check(&p, "boss@example.org",
				   "submission", 1798761599, &rule, &detail));
	ck_assert_str_eq(detail, "boss@example.org");
	ck_assert(check(&p, "a@example.com", "IMAP",
				   0, &rule, &detail));
	ck_assert_str_eq(detail, "*@example.com");
	ck_assert(!check(&p, "a@example.org", "imap",
				    0, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_ALLOW);
	ck_assert(!check(&p, NULL, "imap", 0, &rule,
				    &detail));
	ck_assert(!check(&p, "a@example.com", "pop3",
				    0, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_SERVICES);
	/* expiry: from that second on */
	ck_assert(!check(&p, "a@example.com", "imap",
				    1798761600, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_EXPIRES);
	free(copy);

	/* disabled goes first; '*' takes every service */
	ck_assert_int_eq(parse("dms_services=* dms_disabled=yes "
			       "dms_expires=2020-01-01", &p, &copy, &error), 0);
	ck_assert(!check(&p, "a", "imap", 0, &rule,
				    &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_DISABLED);
	free(copy);
	ck_assert_int_eq(parse("dms_services=*", &p, &copy, &error), 0);
	ck_assert(check(&p, "a", "smtp", 0, &rule,
				   &detail));
	free(copy);
	/* read-only: imap and pop3 only, whatever the services say */
	ck_assert_int_eq(parse("dms_services=* dms_read_only=yes", &p, &copy,
			       &error), 0);
	ck_assert(check(&p, "a", "imap", 0, &rule,
				   &detail));
	ck_assert(check(&p, "a", "POP3", 0, &rule,
				   &detail));
	ck_assert(check(&p, "a", "pop3", 0, &rule,
				   &detail));
	for (unsigned int i = 0; i < 5; i++) {
		static const char *const writers[] = {
			"sieve", "submission", "smtp", "doveadm", "lmtp",
		};

		ck_assert(!check(&p, "a", writers[i], 0,
					    &rule, &detail));
		ck_assert_int_eq(rule, DMS_POLICY_RULE_READ_ONLY);
	}
	free(copy);
	/* a service not listed at all is still refused as such */
	ck_assert_int_eq(parse("dms_services=imap dms_read_only=yes", &p,
			       &copy, &error), 0);
	ck_assert(!check(&p, "a", "sieve", 0, &rule,
				    &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_SERVICES);
	free(copy);
	ck_assert_str_eq(dms_policy_rule_name(DMS_POLICY_RULE_EXPIRES),
			 "expires");
	ck_assert_str_eq(dms_policy_rule_name(DMS_POLICY_RULE_READ_ONLY),
			 "read_only");
}
END_TEST

START_TEST(test_policy_format)
{
	static const char *const canonical[] = {
		"",
		"dms_read_only=yes",
		"dms_allow=*@example.com,support-*@example.org "
		"dms_services=imap dms_read_only=yes "
		"dms_expires=2027-01-01T00:00:00Z dms_disabled=yes",
		"dms_services=* dms_expires=2000-02-29T12:34:56Z",
	};
	struct dms_policy p;
	const char *error;
	char *copy, buf[512], small[8];

	for (unsigned int i = 0; i < 4; i++) {
		ck_assert_int_eq(parse(canonical[i], &p, &copy, &error), 0);
		ck_assert_int_eq(dms_policy_format(&p, buf, sizeof(buf)),
				 strlen(canonical[i]));
		ck_assert_str_eq(buf, canonical[i]);
		free(copy);
	}
	/* "no" values, order and date-only times are normalised */
	ck_assert_int_eq(parse("dms_disabled=no dms_expires=2027-01-01 "
			       "dms_read_only=no dms_allow=a", &p, &copy,
			       &error), 0);
	dms_policy_format(&p, buf, sizeof(buf));
	ck_assert_str_eq(buf, "dms_allow=a dms_expires=2027-01-01T00:00:00Z");
	/* too small: truncated, the full length returned */
	ck_assert_int_eq(dms_policy_format(&p, small, sizeof(small)),
			 strlen(buf));
	ck_assert_str_eq(small, "dms_all");
	free(copy);
}
END_TEST

START_TEST(test_policy_deny_ports)
{
	struct dms_policy p;
	struct dms_policy_site site;
	enum dms_policy_rule rule;
	const char *error, *detail;
	char *copy, ebuf[256];
	char site_text[] = "dms_services=imap dms_deny=ceo@example.com,"
		"*@board.example.com dms_ports=10143,127.0.0.1:993,[::1]:4190";
	struct dms_policy_login login = {
		.target = "a@example.com", .service = "imap",
		.local_ip = "127.0.0.1", .local_port = 10143,
	};

	ck_assert_int_eq(dms_policy_site_parse(site_text, &site, ebuf,
					       sizeof(ebuf), &error), 0);
	ck_assert_uint_eq(site.protected.count, 2);
	ck_assert_uint_eq(site.ports.count, 3);
	ck_assert_uint_eq(site.services.count, 1);

	/* deny wins over allow; the site's protected list over both */
	ck_assert_int_eq(parse("dms_allow=*@example.com "
			       "dms_deny=hr@example.com", &p, &copy, &error), 0);
	ck_assert(dms_policy_check(&p, &site, &login, &rule, &detail));
	login.target = "HR@example.com";
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_DENY);
	ck_assert_str_eq(detail, "hr@example.com");
	login.target = "ceo@example.com";
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_PROTECTED);
	ck_assert_str_eq(detail, "ceo@example.com");
	free(copy);
	/* a master without dms_allow (any target) is denied as well */
	ck_assert_int_eq(parse("dms_deny=hr@example.com", &p, &copy,
			       &error), 0);
	login.target = "x@board.example.com";
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_PROTECTED);
	login.target = "hr@example.com";
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_DENY);

	/* the site's ports: another port, or none known, is refused */
	login.target = "a@example.com";
	ck_assert(dms_policy_check(&p, &site, &login, &rule, &detail));
	login.local_port = 143;
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_PORTS);
	login.local_port = 993;
	ck_assert(dms_policy_check(&p, &site, &login, &rule, &detail));
	login.local_ip = "192.0.2.1";
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	login.local_ip = NULL;
	login.local_port = 0;
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	ck_assert_int_eq(rule, DMS_POLICY_RULE_PORTS);
	free(copy);
	/* the master's own ports replace the site's */
	ck_assert_int_eq(parse("dms_ports=192.0.2.1", &p, &copy, &error), 0);
	login.local_ip = "192.0.2.1";
	login.local_port = 143;
	ck_assert(dms_policy_check(&p, &site, &login, &rule, &detail));
	login.local_port = 10143;
	login.local_ip = "127.0.0.1";
	ck_assert(!dms_policy_check(&p, &site, &login, &rule, &detail));
	free(copy);

	ck_assert(dms_policy_port_match("[::1]:4190", "::1", 4190));
	ck_assert(!dms_policy_port_match("[::1]:4190", "::1", 143));
	ck_assert(dms_policy_port_match("::1", "0:0::1", 1));
	ck_assert(!dms_policy_port_match("::1", "127.0.0.1", 1));
	ck_assert(!dms_policy_port_match("10.0.0.1", "10.0.0.1x", 1));
	ck_assert(dms_policy_port_match("10.0.0.1:25", "10.0.0.1", 25));

	static const char *const bad[] = {
		"dms_ports=0", "dms_ports=65536", "dms_ports=0143",
		"dms_ports=localhost", "dms_ports=1.2.3.4:", "dms_ports=:143",
		"dms_ports=::1:143x", "dms_ports=[::1]143", "dms_ports=[1.2.3.4]:1",
		"dms_ports=", "dms_ports=143,,993", "dms_deny=", "dms_deny=a,,b",
		"dms_ports=[::1", "dms_ports=1.2.3.4:99999",
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &p, &copy, &error) < 0, "%s",
			      bad[i]);
		free(copy);
	}
	/* the site takes its three keys only */
	char site_bad[] = "dms_allow=*@example.com";
	ck_assert_int_eq(dms_policy_site_parse(site_bad, &site, ebuf,
					       sizeof(ebuf), &error), -1);
	char site_empty[] = "";
	ck_assert_int_eq(dms_policy_site_parse(site_empty, &site, ebuf,
					       sizeof(ebuf), &error), 0);
	ck_assert_uint_eq(site.services.count, 2);
	ck_assert_uint_eq(site.protected.count + site.ports.count, 0);
	char fmt[128];
	dms_policy_site_format(&site, fmt, sizeof(fmt));
	ck_assert_str_eq(fmt, "dms_services=imap,pop3");

	/* written back in canonical order */
	ck_assert_int_eq(parse("dms_ports=993 dms_deny=a@b dms_allow=*", &p,
			       &copy, &error), 0);
	dms_policy_format(&p, fmt, sizeof(fmt));
	ck_assert_str_eq(fmt, "dms_allow=* dms_deny=a@b dms_ports=993");
	free(copy);
}
END_TEST

START_TEST(test_time)
{
	char buf[DMS_TIME_BUF];
	int64_t t;

	ck_assert_int_eq(dms_time_parse("1970-01-01", &t), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(dms_time_parse("2000-02-29T12:34:56Z", &t), 0);
	ck_assert_int_eq(t, 951827696);
	dms_time_format(t, buf);
	ck_assert_str_eq(buf, "2000-02-29T12:34:56Z");
	ck_assert_int_eq(dms_time_parse("2028-02-29", &t), 0);
	ck_assert_int_eq(t, 1835395200);
	ck_assert_int_eq(dms_time_parse("9999-12-31T23:59:59Z", &t), 0);
	ck_assert_int_eq(t, 253402300799LL);
	dms_time_format(t, buf);
	ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
	ck_assert_int_eq(dms_time_parse("1900-02-29", &t), -1);
	ck_assert_int_eq(dms_time_parse("2100-02-29", &t), -1);
	ck_assert_int_eq(dms_time_parse("2027-04-31", &t), -1);
	ck_assert_int_eq(dms_time_parse("2027-1-01", &t), -1);
	ck_assert_int_eq(dms_time_parse("２027-01-01", &t), -1);
	ck_assert_int_eq(dms_time_parse("2027-01-01T00:00:60Z", &t), -1);
	/* every day of 400 years round-trips */
	for (int64_t day = 0; day < 146097; day++) {
		int64_t back;

		dms_time_format(day * 86400 + 86399, buf);
		ck_assert_int_eq(dms_time_parse(buf, &back), 0);
		ck_assert_int_eq(back, day * 86400 + 86399);
	}
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_pattern_match, 0,
			    sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_test(tc, test_pattern_hostile);
	tcase_add_test(tc, test_pattern_check);
	tcase_add_test(tc, test_policy_parse);
	tcase_add_loop_test(tc, test_policy_parse_errors, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_policy_list_limits);
	tcase_add_test(tc, test_policy_check);
	tcase_add_test(tc, test_policy_deny_ports);
	tcase_add_test(tc, test_policy_format);
	tcase_add_test(tc, test_time);
	suite_add_tcase(s, tc);
	return s;
}
