/* The pure parts of the LDAP master store: its settings file, the
   escaping of names in filters and DNs, and entries made into lines that
   the store's own parser reads. */

#include "test-dms.h"
#include "dms-ldap-config.h"
#include "dms-ldap-entry.h"
#include "dms-ldap-schema.h"
#include "dms-store.h"

#include <stdlib.h>
#include <string.h>

#define HASH "{SHA512-CRYPT}$6$salt$hash"

static int parse(const char *text, struct dms_ldap_config *config,
		 char *error, size_t size)
{
	return dms_ldap_config_parse(text, strlen(text), config, error, size);
}

START_TEST(test_config_defaults)
{
	struct dms_ldap_config c;
	char error[256];

	ck_assert_int_eq(parse("# masters\nuris = ldap://a ldaps://b:636\n"
			       "base = ou=masters,dc=example,dc=com\r\n",
			       &c, error, sizeof(error)), 0);
	ck_assert_str_eq(c.uris, "ldap://a ldaps://b:636");
	ck_assert_str_eq(c.base, "ou=masters,dc=example,dc=com");
	ck_assert_str_eq(c.filter, DMS_LDAP_DEFAULT_FILTER);
	ck_assert_ptr_null(c.bind_dn);
	ck_assert(c.tls_verify);
	ck_assert(!c.starttls);
	ck_assert_uint_eq(c.cache_ttl_secs, 5);
	ck_assert_uint_eq(c.timeout_secs, 3);
	ck_assert_int_eq(c.scope, DMS_LDAP_SCOPE_SUBTREE);
	ck_assert_str_eq(c.attrs[DMS_LDAP_ATTR_NAME], "uid");
	ck_assert_str_eq(c.attrs[DMS_LDAP_ATTR_PASSWORD], "userPassword");
	ck_assert_str_eq(c.attrs[DMS_LDAP_ATTR_DISABLED], "dmsDisabled");
	dms_ldap_config_free(&c);

	ck_assert_int_eq(parse("uris=ldapi://%2Frun%2Fslapd\nbase=o=x\n"
			       "cache_ttl = 0\ntimeout=30\nscope = onelevel\n"
			       "starttls = yes\ntls_ca_file = /etc/ssl/ca.pem\n"
			       "bind_dn = cn=dovecot,o=x\n"
			       "bind_password_file = /etc/dovecot/ldap.secret\n"
			       "attr_name = cn\nattr_allow = mailAllow\n"
			       "filter = (&(cn=%u)(!(x=%%)))\n",
			       &c, error, sizeof(error)), 0);
	ck_assert_uint_eq(c.cache_ttl_secs, 0);
	ck_assert_uint_eq(c.timeout_secs, 30);
	ck_assert_int_eq(c.scope, DMS_LDAP_SCOPE_ONELEVEL);
	ck_assert(c.starttls);
	ck_assert_str_eq(c.attrs[DMS_LDAP_ATTR_NAME], "cn");
	ck_assert_str_eq(c.attrs[DMS_LDAP_ATTR_ALLOW], "mailAllow");
	dms_ldap_config_free(&c);
}
END_TEST

static const struct {
	const char *text, *error_part;
} bad_configs[] = {
	{ "base = o=x\n", "uris is not set" },
	{ "uris = ldap://a\n", "base is not set" },
	{ "uris = http://a\nbase = o=x\n", "only ldap://" },
	{ "uris = ldap://a\nuris = ldap://b\nbase = o=x\n", "line 2: uris: set twice" },
	{ "uris = ldap://a\nbase = o=x\nurl = x\n", "line 3: url: unknown setting" },
	{ "uris = ldap://a\nbase = o=x\nfilter = (uid=*)\n", "no %u" },
	{ "uris = ldap://a\nbase = o=x\nfilter = (uid=%n)\n", "only %u" },
	{ "uris = ldap://a\nbase = o=x\nfilter = uid=%u\n", "parentheses" },
	{ "uris = ldap://a\nbase = o=x\nstarttls = maybe\n", "yes or no" },
	{ "uris = ldap://a\nbase = o=x\ntls_verify = 0\n", "yes or no" },
	{ "uris = ldap://a\nbase = o=x\ncache_ttl = -1\n", "0 to 86400" },
	{ "uris = ldap://a\nbase = o=x\ncache_ttl = 86401\n", "0 to 86400" },
	{ "uris = ldap://a\nbase = o=x\ntimeout = 0\n", "1 to 300" },
	{ "uris = ldap://a\nbase = o=x\ntimeout = 5s\n", "1 to 300" },
	{ "uris = ldap://a\nbase = o=x\nscope = all\n", "subtree" },
	{ "uris = ldap://a\nbase = o=x\nbind_dn = cn=x\n", "go together" },
	{ "uris = ldap://a\nbase = o=x\nbind_password_file = pw\n", "absolute" },
	{ "uris = ldap://a\nbase = o=x\nattr_name = u id\n", "attribute name" },
	{ "uris = ldap://a\nbase = o=x\nattr_colour = x\n", "unknown setting" },
	{ "uris = ldap://a\nbase =\n", "empty value" },
	{ "uris = ldap://a\nbase = o=x\njunk\n", "line 3: expected key = value" },
};

START_TEST(test_config_errors)
{
	struct dms_ldap_config c;
	char error[256];

	ck_assert_int_eq(parse(bad_configs[_i].text, &c, error,
			       sizeof(error)), -1);
	ck_assert_msg(strstr(error, bad_configs[_i].error_part) != NULL,
		      "%s: %s", bad_configs[_i].text, error);
	ck_assert_ptr_null(c.uris);
}
END_TEST

START_TEST(test_config_nul)
{
	struct dms_ldap_config c;
	char error[256];

	ck_assert_int_eq(dms_ldap_config_parse("uris = ldap://a\0x\nbase = o\n",
					       25, &c, error, sizeof(error)), -1);
	ck_assert(strstr(error, "NUL") != NULL);
}
END_TEST

START_TEST(test_filter_escape)
{
	const char *error;
	char *s;

	/* RFC 4515's own examples and the rest of what a login may hold */
	s = dms_ldap_filter_escape("a*b(c)d\\e", 9);
	ck_assert_str_eq(s, "a\\2ab\\28c\\29d\\5ce");
	free(s);
	s = dms_ldap_filter_escape("x\0y", 3);
	ck_assert_str_eq(s, "x\\00y");
	free(s);
	s = dms_ldap_filter_escape("\xc3\xa9\t", 3);
	ck_assert_str_eq(s, "\\c3\\a9\\09");
	free(s);

	s = dms_ldap_filter_expand("(&(objectClass=x)(uid=%u)(cn=%u)(p=100%%))",
				   "*)(uid=*", false, &error);
	ck_assert_str_eq(s, "(&(objectClass=x)(uid=\\2a\\29\\28uid=\\2a)"
			 "(cn=\\2a\\29\\28uid=\\2a)(p=100%))");
	free(s);
	s = dms_ldap_filter_expand("(uid=%u)", "*", true, &error);
	ck_assert_str_eq(s, "(uid=*)");
	free(s);
	ck_assert_ptr_null(dms_ldap_filter_expand("(uid=%d)", "a", false,
						  &error));
}
END_TEST

START_TEST(test_dn_escape)
{
	char *s;

	s = dms_ldap_dn_escape("a,b+c\"d\\e<f>g;h=i");
	ck_assert_str_eq(s, "a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\=i");
	free(s);
	s = dms_ldap_dn_escape("#lead and trail ");
	ck_assert_str_eq(s, "\\#lead and trail\\ ");
	free(s);
	s = dms_ldap_dn_escape("nl\nx");
	ck_assert_str_eq(s, "nl\\0ax");
	free(s);
}
END_TEST

#define V(s) { s, sizeof(s) - 1 }

static void entry_set(struct dms_ldap_entry *e, enum dms_ldap_attr attr,
		      const struct dms_ldap_value *values, unsigned int count)
{
	e->attrs[attr].values = values;
	e->attrs[attr].count = count;
}

/* the shipped schema's names, for the messages */
static const char *const attr_names[DMS_LDAP_ATTR_COUNT] = {
	"uid", "userPassword", "dmsAllow", "dmsServices", "dmsReadOnly",
	"dmsExpires", "dmsDisabled", "dmsDeny", "dmsPorts", "dmsTotp",
	"dmsRequireGrant", "dmsGrantApproval", "dmsRecord", "dmsNotifyOwner",
	"dmsTotpSecret", "dmsTotpStep", "dmsGrant",
};

/* Every policy attribute at its "no limit" value, as setup writes them. */
static void entry_complete(struct dms_ldap_entry *e)
{
	static const struct dms_ldap_value any[] = { V(DMS_LDAP_ANY_TARGET) };
	static const struct dms_ldap_value def[] = {
		V(DMS_LDAP_DEFAULT_SERVICES) };
	static const struct dms_ldap_value no[] = { V("FALSE") };
	static const struct dms_ldap_value never[] = { V(DMS_LDAP_NEVER) };
	static const struct dms_ldap_value none[] = { V(DMS_LDAP_NO_DENY) };
	static const struct dms_ldap_value def_ports[] = {
		V(DMS_LDAP_ANY_PORT) };

	entry_set(e, DMS_LDAP_ATTR_ALLOW, any, 1);
	entry_set(e, DMS_LDAP_ATTR_SERVICES, def, 1);
	entry_set(e, DMS_LDAP_ATTR_READ_ONLY, no, 1);
	entry_set(e, DMS_LDAP_ATTR_EXPIRES, never, 1);
	entry_set(e, DMS_LDAP_ATTR_DISABLED, no, 1);
	entry_set(e, DMS_LDAP_ATTR_DENY, none, 1);
	entry_set(e, DMS_LDAP_ATTR_PORTS, def_ports, 1);
	entry_set(e, DMS_LDAP_ATTR_TOTP, no, 1);
	entry_set(e, DMS_LDAP_ATTR_REQUIRE_GRANT, no, 1);
	entry_set(e, DMS_LDAP_ATTR_GRANT_APPROVAL, no, 1);
}

START_TEST(test_entry_line)
{
	static const struct dms_ldap_value names[] = { V("Admin"), V("admin") };
	static const struct dms_ldap_value pw[] = { V(HASH) };
	static const struct dms_ldap_value allow[] = { V("*@example.com"),
						       V("boss@example.org") };
	static const struct dms_ldap_value ro[] = { V("TRUE") };
	static const struct dms_ldap_value imap[] = { V("imap") };
	static const struct dms_ldap_value exp[] = { V("20271231235959Z") };
	struct dms_ldap_entry e = { .dn = "uid=admin,o=x" };
	const struct dms_store_entry *entry;
	struct dms_store *store;
	char *line, error[512];

	entry_set(&e, DMS_LDAP_ATTR_NAME, names, 2);
	entry_set(&e, DMS_LDAP_ATTR_PASSWORD, pw, 1);
	entry_complete(&e);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), 1);
	/* the "no limit" values are no options, as in the file */
	ck_assert_str_eq(line, "admin|" HASH "|dms_read_only=no "
			 "dms_disabled=no dms_totp=no dms_require_grant=no dms_grant_approval=no");
	free(line);
	/* LDAP matched case-insensitively: not this master */
	ck_assert_int_eq(dms_ldap_entry_line("ADMIN", &e, attr_names, &line,
					     error, sizeof(error)), 0);
	/* a name the line cannot carry */
	ck_assert_int_eq(dms_ldap_entry_line("ad:min", &e, attr_names, &line,
					     error, sizeof(error)), 0);

	entry_set(&e, DMS_LDAP_ATTR_ALLOW, allow, 2);
	entry_set(&e, DMS_LDAP_ATTR_SERVICES, imap, 1);
	entry_set(&e, DMS_LDAP_ATTR_READ_ONLY, ro, 1);
	entry_set(&e, DMS_LDAP_ATTR_EXPIRES, exp, 1);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), 1);
	ck_assert_str_eq(line, "admin|" HASH "|dms_allow=*@example.com,"
			 "boss@example.org dms_services=imap dms_read_only=yes "
			 "dms_expires=2027-12-31T23:59:59Z dms_disabled=no "
			 "dms_totp=no dms_require_grant=no dms_grant_approval=no");
	/* and the store's parser reads it as the file's line */
	store = dms_store_new_from_buffer(line, strlen(line),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &entry), 1);
	ck_assert(entry->policy->read_only);
	ck_assert(!entry->policy->disabled);
	ck_assert_uint_eq(entry->policy->allow.count, 2);
	ck_assert(entry->policy->has_expires);
	dms_store_free(&store);
	free(line);

	/* deny and ports, when set */
	static const struct dms_ldap_value deny[] = { V("ceo@example.com"),
						      V("*@hr.example.com") };
	static const struct dms_ldap_value ports[] = { V("10143"),
						       V("[::1]:993") };
	entry_complete(&e);
	entry_set(&e, DMS_LDAP_ATTR_DENY, deny, 2);
	entry_set(&e, DMS_LDAP_ATTR_PORTS, ports, 2);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), 1);
	ck_assert_str_eq(line, "admin|" HASH "|dms_read_only=no "
			 "dms_disabled=no dms_deny=ceo@example.com,"
			 "*@hr.example.com dms_ports=10143,[::1]:993 "
			 "dms_totp=no dms_require_grant=no dms_grant_approval=no");
	store = dms_store_new_from_buffer(line, strlen(line),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &entry), 1);
	ck_assert_uint_eq(entry->policy->deny.count, 2);
	ck_assert_uint_eq(entry->policy->ports.count, 2);
	dms_store_free(&store);
	free(line);

	/* the optional choices, when present */
	static const struct dms_ldap_value messages[] = { V("messages") };
	static const struct dms_ldap_value yes[] = { V("TRUE") };
	entry_complete(&e);
	entry_set(&e, DMS_LDAP_ATTR_RECORD, messages, 1);
	entry_set(&e, DMS_LDAP_ATTR_NOTIFY_OWNER, yes, 1);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), 1);
	ck_assert_str_eq(line, "admin|" HASH "|dms_read_only=no "
			 "dms_disabled=no dms_totp=no dms_require_grant=no dms_grant_approval=no dms_record=messages "
			 "dms_notify_owner=yes");
	store = dms_store_new_from_buffer(line, strlen(line),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &entry), 1);
	ck_assert_int_eq(entry->policy->record, DMS_POLICY_RECORD_MESSAGES);
	ck_assert_int_eq(entry->policy->notify_owner, DMS_POLICY_NOTIFY_YES);
	dms_store_free(&store);
	free(line);
	/* a level the policy does not know: the store's parser refuses the
	   line (the module: no such master, logged) */
	static const struct dms_ldap_value all[] = { V("all") };
	entry_set(&e, DMS_LDAP_ATTR_RECORD, all, 1);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), 1);
	store = dms_store_new_from_buffer(line, strlen(line),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &entry), 0);
	dms_store_free(&store);
	free(line);
}
END_TEST

static const struct {
	enum dms_ldap_attr attr;
	struct dms_ldap_value values[2];
	unsigned int count;
	const char *error_part;
} bad_entries[] = {
	{ DMS_LDAP_ATTR_PASSWORD, { V(HASH), V(HASH) }, 2, "several passwords" },
	{ DMS_LDAP_ATTR_PASSWORD, { V("{PLAIN}a b") }, 1, "blank" },
	{ DMS_LDAP_ATTR_PASSWORD, { V("{PLAIN}a|b") }, 1, "'|'" },
	{ DMS_LDAP_ATTR_PASSWORD, { { "{PLAIN}a\0b", 10 } }, 1, "control" },
	{ DMS_LDAP_ATTR_ALLOW, { V("x dms_allow=*") }, 1, "dmsAllow: a policy value" },
	{ DMS_LDAP_ATTR_ALLOW, { V("a,b") }, 1, "','" },
	{ DMS_LDAP_ATTR_ALLOW, { V("") }, 1, "empty" },
	{ DMS_LDAP_ATTR_SERVICES, { V("imap\npop3") }, 1, "control" },
	{ DMS_LDAP_ATTR_SERVICES, { V("default"), V("smtp") }, 2,
	  "dmsServices: the \"no limit\" value among others" },
	{ DMS_LDAP_ATTR_DENY, { V("none"), V("a@b") }, 2,
	  "dmsDeny: the \"no limit\" value among others" },
	{ DMS_LDAP_ATTR_PORTS, { V("default"), V("993") }, 2,
	  "dmsPorts: the \"no limit\" value among others" },
	{ DMS_LDAP_ATTR_PORTS, { V("993,143") }, 1, "','" },
	{ DMS_LDAP_ATTR_READ_ONLY, { V("yes") }, 1, "TRUE or FALSE" },
	{ DMS_LDAP_ATTR_READ_ONLY, { V("TRUE"), V("FALSE") }, 2, "several" },
	{ DMS_LDAP_ATTR_DISABLED, { V("true") }, 1, "TRUE or FALSE" },
	{ DMS_LDAP_ATTR_EXPIRES, { V("20271231") }, 1, "GeneralizedTime" },
	{ DMS_LDAP_ATTR_EXPIRES, { V("202712312359+0100") }, 1, "GeneralizedTime" },
	/* absent, or hidden from the reader: never "no limit" */
	{ DMS_LDAP_ATTR_ALLOW, { V("") }, 0, "no dmsAllow attribute (attr_allow)" },
	{ DMS_LDAP_ATTR_SERVICES, { V("") }, 0, "no dmsServices attribute" },
	{ DMS_LDAP_ATTR_READ_ONLY, { V("") }, 0, "no dmsReadOnly attribute" },
	{ DMS_LDAP_ATTR_EXPIRES, { V("") }, 0, "no dmsExpires attribute" },
	{ DMS_LDAP_ATTR_DISABLED, { V("") }, 0, "no dmsDisabled attribute" },
	{ DMS_LDAP_ATTR_DENY, { V("") }, 0, "no dmsDeny attribute (attr_deny)" },
	{ DMS_LDAP_ATTR_PORTS, { V("") }, 0, "no dmsPorts attribute" },
	/* the optional ones: absent is fine, a bad value is not */
	{ DMS_LDAP_ATTR_NOTIFY_OWNER, { V("yes") }, 1, "TRUE or FALSE" },
	{ DMS_LDAP_ATTR_RECORD, { V("summary"), V("messages") }, 2, "several" },
};

START_TEST(test_entry_refused)
{
	static const struct dms_ldap_value names[] = { V("admin") };
	static const struct dms_ldap_value pw[] = { V(HASH) };
	struct dms_ldap_entry e = { .dn = "uid=admin,o=x" };
	char *line = NULL, error[512] = "";

	entry_set(&e, DMS_LDAP_ATTR_NAME, names, 1);
	entry_set(&e, DMS_LDAP_ATTR_PASSWORD, pw, 1);
	entry_complete(&e);
	entry_set(&e, bad_entries[_i].attr, bad_entries[_i].values,
		  bad_entries[_i].count);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), -1);
	ck_assert_msg(strstr(error, bad_entries[_i].error_part) != NULL,
		      "case %d: %s", _i, error);
	ck_assert_ptr_null(line);
}
END_TEST

START_TEST(test_entry_no_password)
{
	static const struct dms_ldap_value names[] = { V("admin") };
	struct dms_ldap_entry e = { .dn = "uid=admin,o=x" };
	char *line, error[512];

	entry_set(&e, DMS_LDAP_ATTR_NAME, names, 1);
	entry_complete(&e);
	ck_assert_int_eq(dms_ldap_entry_line("admin", &e, attr_names, &line,
					     error, sizeof(error)), -1);
	ck_assert_str_eq(error, "no password");
}
END_TEST

/* Attribute type descriptions as slapd publishes them (cn=Subschema). */
static const struct {
	const char *def;
	const char *name;
	bool found;
} schema_cases[] = {
	{ "( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) DESC "
	  "'RFC4519: user identifier' EQUALITY caseIgnoreMatch )", "uid", true },
	{ "( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) )", "USERID",
	  true },
	{ "( 2.5.4.35 NAME 'userPassword' DESC 'RFC4519/2307: password of "
	  "user' EQUALITY octetStringMatch )", "userPassword", true },
	{ "( 2.25.1.2 NAME 'dmsReadOnly' SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 "
	  "SINGLE-VALUE )", "dmsReadOnly", true },
	{ "( 2.25.1.2 NAME 'dmsReadOnly' )", "dmsReadOnIy", false },
	{ "( 2.25.1.2 NAME 'dmsReadOnly' )", "dmsReadOnl", false },
	{ "( 2.25.1.2 NAME 'dmsReadOnly' )", "dmsReadOnlyX", false },
	/* NAME inside a DESC is no name */
	{ "( 1.2 NAME 'a' DESC 'NAME evil' )", "evil", false },
	{ "( 1.2 DESC 'x NAME y' NAME 'a' )", "y", false },
	{ "( 1.2 DESC 'x NAME y' NAME 'a' )", "a", true },
	{ "( 1.2 SYNTAX 1.3 )", "a", false },
	{ "( 1.2 NAME", "a", false },
	{ "( 1.2 NAME 'a", "a", false },
	{ "( 1.2 NAME ( 'a' 'b'", "b", true },
	{ "", "a", false },
};

START_TEST(test_schema_names)
{
	ck_assert_msg(dms_ldap_schema_names(schema_cases[_i].def,
					    strlen(schema_cases[_i].def),
					    schema_cases[_i].name) ==
		      schema_cases[_i].found, "case %d", _i);
}
END_TEST

START_TEST(test_time)
{
	char buf[24];

	ck_assert_int_eq(dms_ldap_time_to_store("20260102030405Z", 15, buf), 0);
	ck_assert_str_eq(buf, "2026-01-02T03:04:05Z");
	ck_assert_int_eq(dms_ldap_time_to_store("2026010203040Z", 14, buf), -1);
	ck_assert_int_eq(dms_ldap_time_to_store("2026010203040aZ", 15, buf), -1);
}
END_TEST

Suite *ldap_suite(void)
{
	Suite *s = suite_create("ldap");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_config_defaults);
	tcase_add_loop_test(tc, test_config_errors, 0,
			    sizeof(bad_configs) / sizeof(bad_configs[0]));
	tcase_add_test(tc, test_config_nul);
	tcase_add_test(tc, test_filter_escape);
	tcase_add_test(tc, test_dn_escape);
	suite_add_tcase(s, tc);
	tc = tcase_create("entry");
	tcase_add_test(tc, test_entry_line);
	tcase_add_loop_test(tc, test_entry_refused, 0,
			    sizeof(bad_entries) / sizeof(bad_entries[0]));
	tcase_add_test(tc, test_entry_no_password);
	tcase_add_test(tc, test_time);
	tcase_add_loop_test(tc, test_schema_names, 0,
			    sizeof(schema_cases) / sizeof(schema_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
