#include "test-dms.h"
#include "dms-store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FIXTURE_HASH "{SHA512-CRYPT}$6$IOybywiyl1nuDno0$gRW625qH7ThmbRaByNVpuAGgDOkMd7tc3yuVmwVRuk7IXgiN8KDwcqtMcU0LyvS5RGAskbplavjPpCmFjbKEt1"
#define H6 "{SHA512-CRYPT}$6$oynLeHesjD5YryQo$p0xrRRXKlfQdwFZA9plxKBpVLK/sFqmbCpZCL5C8KL88/DKtBMufQUI3yOyG6hZbLxzVFU0qPpQB/oBqMErrN0"

struct warnings {
	unsigned int count;
	unsigned int last_line;
	char last[512];
};

static void collect(void *context, unsigned int line, const char *message)
{
	struct warnings *w = context;

	w->count++;
	w->last_line = line;
	snprintf(w->last, sizeof(w->last), "%s", message);
}

/* Each case: the file's text, then the names that must be found with the
   password they must have ("" = must not be found), the count of entries
   and of warnings. */
static const struct {
	const char *text;
	size_t len; /* 0 = strlen(text) */
	const char *name1, *password1;
	const char *name2, *password2;
	size_t count;
	unsigned int warnings;
} cases[] = {
	/* docker-mailserver's real fixture line */
	{ "masterusername|" FIXTURE_HASH "\n", 0,
	  "masterusername", FIXTURE_HASH, NULL, NULL, 1, 0 },
	/* passwd-file lines, extra fields ignored */
	{ "admin:" H6 ":::::\nbackup:" H6 "\n", 0,
	  "admin", H6, "backup", H6, 2, 0 },
	{ "admin:" H6 ":1000:1000::/home/admin::userdb_quota=1G\n", 0,
	  "admin", H6, NULL, NULL, 1, 0 },
	/* comments, blank lines, CRLF, no final newline, trailing blanks */
	{ "# masters\r\n\r\n  # indented comment\nadmin|" H6 "\r\n"
	  "\t\nbackup|" H6 "  \t", 0,
	  "admin", H6, "backup", H6, 2, 0 },
	{ "", 0, "admin", "", NULL, NULL, 0, 0 },
	{ "\n\n\n", 0, "admin", "", NULL, NULL, 0, 0 },
	{ "# only a comment", 0, "#", "", NULL, NULL, 0, 0 },
	/* duplicates: the first wins, as in passwd-file */
	{ "admin|first\nadmin|second\n", 0, "admin", "first", NULL, NULL,
	  1, 3 },
	/* malformed lines are skipped, the good ones stay */
	{ "nodelimiter\nadmin|" H6 "\n|nohash\nempty|\n", 0,
	  "admin", H6, "", "", 1, 3 },
	{ "bad name|" H6 "\nok|" H6 "\n", 0,
	  "bad name", "", "ok", H6, 1, 1 },
	{ "ctl\x01name|" H6 "\nok|" H6 "\n", 0,
	  "ctl\x01name", "", "ok", H6, 1, 1 },
	/* NUL bytes: only the line that has one is lost */
	{ "nul\0x|" H6 "\nok|" H6 "\n", sizeof("nul\0x|" H6 "\nok|" H6 "\n") - 1,
	  "nul", "", "ok", H6, 1, 1 },
	/* names are exact: no case folding, no trimming of the name */
	{ "Admin|" H6 "\n", 0, "admin", "", "Admin", H6, 1, 0 },
	/* a*b*c as a store name is legal (it can never be split to) */
	{ "a*b*c|" H6 "\n", 0, "a*b*c", H6, NULL, NULL, 1, 0 },
	/* an unknown scheme is kept (a login says why it fails), warned */
	{ "plain|{PLAIN}secret\n", 0, "plain", "{PLAIN}secret", NULL, NULL,
	  1, 1 },
	/* '|' first: the rest of the line is the value (DMS format) */
	{ "admin|{CRYPT}$y$j9T$a$b:c\n", 0, "admin", "{CRYPT}$y$j9T$a$b:c",
	  NULL, NULL, 1, 0 },
	/* ':' first: passwd-file */
	{ "admin:{CRYPT}x|y:z\n", 0, "admin", "{CRYPT}x|y", NULL, NULL,
	  1, 0 },
	/* options: the third field of a DMS line, passwd-file extra
	   fields; an empty options field is no options */
	{ "admin|" H6 "|dms_read_only=yes dms_allow=*@x\nb|" H6 "|\n", 0,
	  "admin", H6, "b", H6, 2, 0 },
	{ "admin:" H6 "::::::allow_nets=::1 dms_disabled=yes\n", 0,
	  "admin", H6, NULL, NULL, 1, 0 },
	/* a bad option loses its line (never a less restricted master) */
	{ "admin|" H6 "|dms_read_only=yes dms_alow=*@x\nok|" H6 "\n", 0,
	  "admin", "", "ok", H6, 1, 1 },
	{ "admin:" H6 "::::::dms_expires=soon\nok|" H6 "\n", 0,
	  "admin", "", "ok", H6, 1, 1 },
	/* a '|' in a DMS password: refused, not cut short */
	{ "admin|{PLAIN}a|b\n", 0, "admin", "", NULL, NULL, 0, 1 },
	/* options in a short passwd-file line are only the 8th field */
	{ "admin:" H6 ":dms_bogus=1\n", 0, "admin", H6, NULL, NULL, 1, 0 },
};

/* NAME must be found with PASSWORD, or not at all when PASSWORD is "". */
static void check_name(const struct dms_store *store, const char *name,
		       const char *password)
{
	const struct dms_store_entry *e;

	if (name == NULL || name[0] == '\0')
		return;
	if (password[0] == '\0') {
		ck_assert_int_eq(dms_store_lookup(store, name, &e), 0);
		return;
	}
	ck_assert_int_eq(dms_store_lookup(store, name, &e), 1);
	ck_assert_str_eq(e->name, name);
	ck_assert_str_eq(e->password, password);
}

START_TEST(test_parse)
{
	struct warnings w = { 0, 0, "" };
	size_t len = cases[_i].len != 0 ? cases[_i].len :
		strlen(cases[_i].text);
	struct dms_store *store = dms_store_new_from_buffer(cases[_i].text,
		len, DMS_SCHEME_SHA512_CRYPT, collect, &w);

	ck_assert_ptr_nonnull(store);
	ck_assert_uint_eq(dms_store_count(store), cases[_i].count);
	ck_assert_msg(w.count == cases[_i].warnings,
		      "case %d: %u warnings, last: %s", _i, w.count, w.last);
	check_name(store, cases[_i].name1, cases[_i].password1);
	check_name(store, cases[_i].name2, cases[_i].password2);
	dms_store_free(&store);
	ck_assert_ptr_null(store);
}
END_TEST

START_TEST(test_options)
{
	const char *text = "a|" H6 "|dms_read_only=yes dms_expires=2027-01-01\r\n"
		"b:" H6 ":1:2:g:/home:/bin/sh:x=1 dms_allow=*@x,y@z "
		"dms_services=imap\nc|" H6 "\nd|" H6 "|dms_read_only=no\n";
	struct dms_store *store = dms_store_new_from_buffer(text,
		strlen(text), DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	const struct dms_store_entry *e;

	ck_assert_int_eq(dms_store_lookup(store, "a", &e), 1);
	ck_assert(e->policy->read_only);
	ck_assert(e->policy->has_expires);
	ck_assert_int_eq(e->policy->expires, 1798761600);
	ck_assert_str_eq(e->password, H6);
	ck_assert_int_eq(dms_store_lookup(store, "b", &e), 1);
	ck_assert(!e->policy->read_only);
	ck_assert_int_eq(e->policy->allow.count, 2);
	ck_assert_str_eq(e->policy->allow.items, "*@x");
	ck_assert_int_eq(e->policy->services.count, 1);
	ck_assert_str_eq(e->policy->services.items, "imap");
	/* lines without options (or with "no" only) share one empty policy */
	const struct dms_policy *none;
	ck_assert_int_eq(dms_store_lookup(store, "c", &e), 1);
	none = e->policy;
	ck_assert(!dms_policy_is_set(none));
	ck_assert_int_eq(dms_store_lookup(store, "d", &e), 1);
	ck_assert_ptr_eq(e->policy, none);
	dms_store_free(&store);
}
END_TEST

static const struct {
	const char *line;
	int ret;
	const char *name, *password, *middle, *options;
	bool crlf;
} field_cases[] = {
	{ "a|h", 1, "a", "h", "", NULL, false },
	{ "a|h|", 1, "a", "h", "", "", false },
	{ "a|h|o p\r", 1, "a", "h", "", "o p", true },
	{ "a|h|o|p", 1, "a", "h", "", "o|p", false },
	{ "a:h", 1, "a", "h", "", NULL, false },
	{ "a:h:1:2", 1, "a", "h", ":1:2", NULL, false },
	{ "a:h::::::", 1, "a", "h", "::::::", "", false },
	{ "a:h:1:2:g:d:s:x=1 y:z\r", 1, "a", "h", ":1:2:g:d:s:", "x=1 y:z",
	  true },
	{ "  # c", 0, NULL, NULL, NULL, NULL, false },
	{ "nodelim", -1, NULL, NULL, NULL, NULL, false },
};

static void check_field(const char *got, size_t len, const char *want)
{
	if (want == NULL) {
		ck_assert_ptr_null(got);
		return;
	}
	ck_assert_int_eq(len, strlen(want));
	ck_assert(len == 0 || memcmp(got, want, len) == 0);
}

START_TEST(test_line_fields)
{
	struct dms_store_line f;
	const char *line = field_cases[_i].line;

	ck_assert_int_eq(dms_store_line_fields(line, strlen(line), &f),
			 field_cases[_i].ret);
	if (field_cases[_i].ret <= 0)
		return;
	check_field(f.name, f.name_len, field_cases[_i].name);
	check_field(f.password, f.password_len, field_cases[_i].password);
	ck_assert_int_eq(f.middle_len, strlen(field_cases[_i].middle));
	check_field(f.options, f.options_len, field_cases[_i].options);
	ck_assert(f.crlf == field_cases[_i].crlf);
}
END_TEST

START_TEST(test_line_numbers)
{
	struct warnings w = { 0, 0, "" };
	const char *text = "# c\n\nadmin|" H6 "\nbroken\n";
	struct dms_store *store = dms_store_new_from_buffer(text,
		strlen(text), DMS_SCHEME_SHA512_CRYPT, collect, &w);
	const struct dms_store_entry *e;

	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 1);
	ck_assert_uint_eq(e->line, 3);
	ck_assert_uint_eq(w.last_line, 4);
	ck_assert_uint_eq(dms_store_skipped_lines(store), 1);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_long_lines)
{
	struct warnings w = { 0, 0, "" };
	size_t n = 1024 * 1024;
	char *text = malloc(3 * n);
	struct dms_store *store;
	const struct dms_store_entry *e;
	size_t len = 0;

	/* a 1 MiB name, a 256-byte name (too long), a 255-byte name (ok),
	   a 1 MiB password */
	memset(text, 'n', n); len += n;
	len += (size_t)sprintf(text + len, "|" H6 "\n");
	memset(text + len, 'a', 256); len += 256;
	len += (size_t)sprintf(text + len, "|" H6 "\n");
	memset(text + len, 'b', 255); len += 255;
	len += (size_t)sprintf(text + len, "|" H6 "\nlong|");
	memset(text + len, 'p', n); len += n;
	text[len++] = '\n';

	store = dms_store_new_from_buffer(text, len, DMS_SCHEME_SHA512_CRYPT,
					  collect, &w);
	ck_assert_uint_eq(dms_store_count(store), 1);
	ck_assert_uint_eq(w.count, 3);
	memset(text, 'b', 255);
	text[255] = '\0';
	ck_assert_int_eq(dms_store_lookup(store, text, &e), 1);
	ck_assert_int_eq(dms_store_lookup(store, "long", &e), 0);
	dms_store_free(&store);
	free(text);
}
END_TEST

START_TEST(test_many_and_warning_cap)
{
	struct warnings w = { 0, 0, "" };
	size_t n = 100000, len = 0;
	char *text = malloc(n * 40), name[32];
	struct dms_store *store;
	const struct dms_store_entry *e;

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "m%zu|{CRYPT}$y$%zu\n", i, i);
	for (size_t i = 0; i < 50; i++)
		len += (size_t)sprintf(text + len, "garbage%zu\n", i);
	store = dms_store_new_from_buffer(text, len, DMS_SCHEME_SHA512_CRYPT,
					  collect, &w);
	ck_assert_uint_eq(dms_store_count(store), n);
	/* ten one by one, then one summary line */
	ck_assert_uint_eq(w.count, DMS_STORE_WARNINGS_MAX + 1);
	ck_assert_uint_eq(w.last_line, 0);
	ck_assert_str_eq(w.last, "40 more malformed lines skipped");
	ck_assert_uint_eq(dms_store_skipped_lines(store), 50);
	for (size_t i = 0; i < n; i += 997) {
		sprintf(name, "m%zu", i);
		ck_assert_int_eq(dms_store_lookup(store, name, &e), 1);
		ck_assert_uint_eq(e->line, i + 1);
	}
	ck_assert_int_eq(dms_store_lookup(store, "m100000", &e), 0);
	dms_store_free(&store);
	free(text);
}
END_TEST

static char tmpdir[64];

static void tmp_setup(void)
{
	test_tmpdir_make(tmpdir, sizeof(tmpdir), "/tmp/dms-test-XXXXXX");
}

static void tmp_teardown(void)
{
	if (test_tmpdir_remove(tmpdir) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void write_file(const char *path, const char *text)
{
	/* write elsewhere and rename, as the CLI does */
	char tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

START_TEST(test_refresh)
{
	char path[128];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error = NULL;

	snprintf(path, sizeof(path), "%s/masters.cf", tmpdir);
	store = dms_store_new(path, DMS_SCHEME_SHA512_CRYPT);

	/* missing: an error, and nothing is found */
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "No such file"));
	ck_assert_ptr_nonnull(strstr(error, path));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);

	write_file(path, "admin|" H6 "\n");
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 1);
	/* unchanged: no reload */
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 0);

	/* replaced: the removed master is gone at once */
	write_file(path, "backup|" H6 "\n");
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);
	ck_assert_int_eq(dms_store_lookup(store, "backup", &e), 1);

	/* rewritten in place with the same size: mtime tells, once the
	   kernel's coarse file clock has ticked */
	usleep(20000);
	{
		FILE *f = fopen(path, "r+");
		ck_assert_ptr_nonnull(f);
		fputs("bkckup", f);
		fclose(f);
	}
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "backup", &e), 0);
	ck_assert_int_eq(dms_store_lookup(store, "bkckup", &e), 1);

	/* deleted: an error, and no stale credentials */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_int_eq(dms_store_lookup(store, "bkckup", &e), 0);
	ck_assert_uint_eq(dms_store_count(store), 0);

	/* a directory is not a store */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not a regular file"));
	ck_assert_int_eq(rmdir(path), 0);

	/* back again */
	write_file(path, "admin|" H6 "\n");
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 1);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_refresh_unreadable)
{
	char path[128];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error;

	/* root reads anything: the test drops to nobody (it runs in a
	   child process of its own) */
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/unreadable.cf", tmpdir);
	write_file(path, "admin|" H6 "\n");
	store = dms_store_new(path, DMS_SCHEME_SHA512_CRYPT);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(chmod(path, 0000), 0);
	if (geteuid() == 0)
		ck_assert_int_eq(setuid(65534), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "Permission denied"));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_permissions)
{
	struct warnings w = { 0, 0, "" };
	char path[128];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error = NULL;

	snprintf(path, sizeof(path), "%s/perms.cf", tmpdir);
	write_file(path, "admin|" H6 "\n");
	store = dms_store_new(path, DMS_SCHEME_SHA512_CRYPT);

	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(dms_store_refresh(store, collect, &w, &error), 1);
	ck_assert_uint_eq(w.count, 0);

	/* readable by everyone: loaded, with a warning */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(dms_store_refresh(store, collect, &w, &error), 1);
	ck_assert_uint_eq(w.count, 1);
	ck_assert_ptr_nonnull(strstr(w.last, "readable by everyone (mode 0644)"));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 1);

	/* writable by others: refused, nothing found */
	ck_assert_int_eq(chmod(path, 0646), 0);
	ck_assert_int_eq(dms_store_refresh(store, collect, &w, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "perms.cf is writable by others"));
	ck_assert_ptr_nonnull(strstr(error, "mode 0646"));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);

	/* group-writable by a group other than root's: refused */
	ck_assert_int_eq(chmod(path, 0660), 0);
	ck_assert_int_eq(chown(path, 0, 65534), 0);
	ck_assert_int_eq(dms_store_refresh(store, collect, &w, &error), -1);
	/* ...by root's group: fine */
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(dms_store_refresh(store, collect, &w, &error), 1);

	/* owned by another user: refused */
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(chown(path, 65534, 0), 0);
	ck_assert_int_eq(dms_store_refresh(store, collect, &w, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "perms.cf is not owned by root"));
	ck_assert_ptr_nonnull(strstr(error, "uid 65534"));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_untrusted_path)
{
	char dir[128], path[160], other[128], link[160];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error = NULL;

	snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
	snprintf(path, sizeof(path), "%s/masters.cf", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file(path, "admin|" H6 "\n");
	store = dms_store_new(path, DMS_SCHEME_SHA512_CRYPT);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);

	/* a directory others can write: they could swap the file */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	write_file(path, "admin|" H6 "\n");
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "untrusted path"));
	ck_assert_ptr_nonnull(strstr(error, "etc is writable by others"));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);
	/* sticky, as /tmp: they cannot replace root's file */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	/* a directory owned by another user (checked when the file changes:
	   only then can what it says change) */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chown(dir, 65534, 0), 0);
	write_file(path, "admin|" H6 "\n");
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "etc is not owned by root"));
	ck_assert_int_eq(chown(dir, 0, 0), 0);

	/* a link swapped in by someone who may write the directory, to a
	   trusted file: refused for where the link is */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(other, sizeof(other), "%s/users", tmpdir);
	write_file(other, "user@example.com:" H6 "\n");
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink(other, path), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "etc is writable by others"));
	ck_assert_int_eq(dms_store_lookup(store, "user@example.com", &e), 0);
	/* ...in a sticky directory: the link is not root's */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(lchown(path, 65534, 65534), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "masters.cf is a symbolic link "
				     "not owned by root"));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(unlink(path), 0);

	/* a link from a trusted place is followed, and what it leads to
	   checked: here a directory others can write */
	snprintf(other, sizeof(other), "%s/open", tmpdir);
	snprintf(link, sizeof(link), "%s/open/masters.cf", tmpdir);
	ck_assert_int_eq(mkdir(other, 0777), 0);
	ck_assert_int_eq(chmod(other, 0777), 0);
	write_file(link, "evil|" H6 "\n");
	ck_assert_int_eq(symlink(link, path), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "open is writable by others"));
	ck_assert_int_eq(dms_store_lookup(store, "evil", &e), 0);
	ck_assert_int_eq(chmod(other, 0755), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "evil", &e), 1);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_half_written)
{
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	char path[128];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/half.cf", tmpdir);
	/* cut in the middle of its options, as an in-place writer leaves
	   it: must not read as "dms_allow=*" */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("admin|" H6 "|dms_allow=*", f);
	ck_assert_int_eq(fclose(f), 0);
	store = dms_store_new(path, DMS_SCHEME_SHA512_CRYPT);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "half written"));
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 0);
	/* the writer finishes */
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputs("@example.com\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 1);
	ck_assert_int_eq(e->policy->allow.count, 1);

	/* a file left without its last newline for long is complete */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("admin|" H6 "|dms_allow=*@example.com", f);
	ck_assert_int_eq(fclose(f), 0);
	times[1].tv_sec = time(NULL) - 60;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "admin", &e), 1);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_dummy_hash)
{
	char yes[DMS_PASSWORD_HASH_MAX], bf[DMS_PASSWORD_HASH_MAX];
	char text[2048];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error, *dummy, *pad;
	unsigned int times;

	/* no verifiable hash: none */
	store = dms_store_new_from_buffer("a|nohash\n", 9,
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	ck_assert_ptr_null(dms_store_dummy_hash(store));
	dms_store_free(&store);

	/* the costliest of the masters' schemes and costs: yescrypt costs
	   some 20 times SHA512-CRYPT's default */
	ck_assert_int_eq(dms_password_hash("x", "YESCRYPT", yes, sizeof(yes),
					   &error), 0);
	ck_assert_int_eq(dms_password_hash("x", "BLF-CRYPT", bf, sizeof(bf),
					   &error), 0);
	snprintf(text, sizeof(text), "a|" H6 "\nb|%s\nc|" H6 "\nd|%s\n",
		 bf, yes);
	store = dms_store_new_from_buffer(text, strlen(text),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	dummy = dms_store_dummy_hash(store);
	ck_assert_ptr_nonnull(dummy);
	/* the same parameters, not the master's hash */
	ck_assert_int_eq(strncmp(dummy, "$y$", 3), 0);
	ck_assert_int_eq(strncmp(dummy, strchr(yes, '}') + 1,
		dms_password_cost_prefix_len(strchr(yes, '}') + 1)), 0);
	ck_assert_str_ne(dummy, strchr(yes, '}') + 1);
	/* the SHA512-CRYPT masters are padded up to it with hashes of their
	   own cost; yescrypt is not */
	ck_assert_int_eq(dms_store_lookup(store, "a", &e), 1);
	pad = dms_store_pad_hash(store, e, &times);
	ck_assert_ptr_nonnull(pad);
	ck_assert_int_eq(strncmp(pad, "$6$", 3), 0);
	ck_assert_uint_ge(times, 2);
	ck_assert_int_eq(dms_store_lookup(store, "d", &e), 1);
	ck_assert_ptr_null(dms_store_pad_hash(store, e, &times));
	dms_store_free(&store);

	snprintf(text, sizeof(text), "a|" H6 "\n");
	store = dms_store_new_from_buffer(text, strlen(text),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	dummy = dms_store_dummy_hash(store);
	ck_assert_ptr_nonnull(dummy);
	ck_assert_int_eq(strncmp(dummy, "$6$", 3), 0);
	/* one cost: nothing to pad */
	ck_assert_int_eq(dms_store_lookup(store, "a", &e), 1);
	ck_assert_ptr_null(dms_store_pad_hash(store, e, &times));
	dms_store_free(&store);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("file");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_parse, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_options);
	tcase_add_loop_test(tc, test_line_fields, 0,
			    sizeof(field_cases) / sizeof(field_cases[0]));
	tcase_add_test(tc, test_line_numbers);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_many_and_warning_cap);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(tf, tmp_setup, tmp_teardown);
	tcase_add_test(tf, test_refresh);
	tcase_add_test(tf, test_refresh_unreadable);
	tcase_add_test(tf, test_permissions);
	tcase_add_test(tf, test_untrusted_path);
	tcase_add_test(tf, test_half_written);
	tcase_add_test(tc, test_dummy_hash);
	suite_add_tcase(s, tf);
	return s;
}
