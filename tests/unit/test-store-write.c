#include "test-dms.h"
#include "dms-store.h"
#include "dms-store-write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64], path[128];

static void setup(void)
{
	test_tmpdir_make(dir, sizeof(dir), "/tmp/dms-write-XXXXXX");
	snprintf(path, sizeof(path), "%s/store", dir);
}

static void teardown(void)
{
	ck_assert_int_eq(test_tmpdir_remove(dir), 0);
}

static char *slurp(void)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void put(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const struct dms_store_write_settings pipe_set = {
	DMS_STORE_FORMAT_PIPE, 0640, (gid_t)-1
};
static const struct dms_store_write_settings passwd_set = {
	DMS_STORE_FORMAT_PASSWD, 0640, (gid_t)-1
};

START_TEST(test_add_update_delete)
{
	const char *error;
	struct stat st;

	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD, "admin", "{X}1",
					 &pipe_set, &error), DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "admin|{X}1\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD, "admin", "{X}2",
					 &pipe_set, &error),
			 DMS_STORE_WRITE_EXISTS);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD, "backup", "{X}3",
					 &pipe_set, &error), DMS_STORE_WRITE_OK);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_UPDATE, "admin",
					 "{X}4", &pipe_set, &error),
			 DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "admin|{X}4\nbackup|{X}3\n");
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_UPDATE, "nobody",
					 "{X}5", &pipe_set, &error),
			 DMS_STORE_WRITE_NOT_FOUND);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_DELETE, "admin",
					 NULL, &pipe_set, &error),
			 DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "backup|{X}3\n");
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_DELETE, "admin",
					 NULL, &pipe_set, &error),
			 DMS_STORE_WRITE_NOT_FOUND);
	/* no temp files left behind; only the store and its lock */
	{
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 2", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

START_TEST(test_keeps_other_lines)
{
	const char *error;

	put("# masters\r\n\r\nadmin|{X}1\r\nbroken line\nuser:{X}2:1000:1000::/home:\n"
	    "last|{X}3");
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_UPDATE, "admin",
					 "{Y}1", &pipe_set, &error),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_UPDATE, "user",
					 "{Y}2", &pipe_set, &error),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD, "new",
					 "{Y}3", &pipe_set, &error),
			 DMS_STORE_WRITE_OK);
	/* CRLF kept, passwd-file fields kept, the last line not glued */
	ck_assert_str_eq(slurp(), "# masters\r\n\r\nadmin|{Y}1\r\n"
			 "broken line\nuser:{Y}2:1000:1000::/home:\n"
			 "last|{X}3\nnew|{Y}3\n");
}
END_TEST

START_TEST(test_passwd_format_roundtrip)
{
	const char *error;
	const struct dms_store_entry *e;
	struct dms_store *store;

	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD,
					 "user@example.com", "{SHA512-CRYPT}$6$x",
					 &passwd_set, &error), DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "user@example.com:{SHA512-CRYPT}$6$x::::::\n");
	store = dms_store_new(path, DMS_DEFAULT_SCHEME);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_int_eq(dms_store_lookup(store, "user@example.com", &e), 1);
	ck_assert_str_eq(e->password, "{SHA512-CRYPT}$6$x");
	dms_store_free(&store);
}
END_TEST

static char *set_options(void *context, const char *old, size_t old_len,
			 const char **error_r)
{
	char *r = malloc(old_len + strlen(context) + 8);

	if (*(const char *)context == '\0') {
		free(r);
		return strdup("");
	}
	if (strcmp(context, "refuse") == 0) {
		free(r);
		*error_r = "refused";
		return NULL;
	}
	/* "old|new", so that the test sees what it was given */
	sprintf(r, "%.*s%s%s", (int)old_len, old == NULL ? "" : old,
		old == NULL ? "(none)" : "|", (const char *)context);
	return r;
}

static enum dms_store_write_result
write_change(enum dms_store_op op, const char *name,
	     const struct dms_store_change *change,
	     const struct dms_store_write_settings *set)
{
	const char *error;

	return dms_store_write_change(path, op, name, change, set, &error);
}

START_TEST(test_options)
{
	struct dms_store_change change = { .password = "{X}1" };
	const char *error;

	/* a password change keeps the options */
	put("a|{X}0|dms_read_only=yes\r\nb:{X}0:1:2\nc:{X}0:1:2:g:h:s:x=1\n");
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_UPDATE, "a", "{X}1",
					 &pipe_set, &error), DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "a|{X}1|dms_read_only=yes\r\n"
			 "b:{X}0:1:2\nc:{X}0:1:2:g:h:s:x=1\n");
	/* options alone keep the password; a short passwd-file line gets
	   its empty fields up to the extra fields */
	change.password = NULL;
	change.edit_options = set_options;
	change.context = "N";
	ck_assert_int_eq(write_change(DMS_STORE_UPDATE, "a", &change, &pipe_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(write_change(DMS_STORE_UPDATE, "b", &change, &pipe_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(write_change(DMS_STORE_UPDATE, "c", &change, &pipe_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "a|{X}1|dms_read_only=yes|N\r\n"
			 "b:{X}0:1:2::::(none)N\nc:{X}0:1:2:g:h:s:x=1|N\n");
	/* no options left: no empty field is added */
	change.context = "";
	put("a|{X}0\nb:{X}0:1\n");
	ck_assert_int_eq(write_change(DMS_STORE_UPDATE, "a", &change, &pipe_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(write_change(DMS_STORE_UPDATE, "b", &change, &pipe_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "a|{X}0\nb:{X}0:1\n");
	/* new lines */
	change.password = "{X}2";
	change.context = "o";
	ck_assert_int_eq(write_change(DMS_STORE_ADD, "n", &change, &pipe_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(write_change(DMS_STORE_ADD, "m", &change, &passwd_set),
			 DMS_STORE_WRITE_OK);
	ck_assert_str_eq(slurp(), "a|{X}0\nb:{X}0:1\nn|{X}2|(none)o\n"
			 "m:{X}2::::::(none)o\n");
	/* the editor's refusal changes nothing */
	change.context = "refuse";
	ck_assert_int_eq(dms_store_write_change(path, DMS_STORE_UPDATE, "a",
						&change, &pipe_set, &error),
			 DMS_STORE_WRITE_INVALID);
	ck_assert_str_eq(error, "refused");
	ck_assert_str_eq(slurp(), "a|{X}0\nb:{X}0:1\nn|{X}2|(none)o\n"
			 "m:{X}2::::::(none)o\n");
}
END_TEST

START_TEST(test_keeps_mode)
{
	const char *error;
	struct stat st;

	put("admin|{X}1\n");
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_UPDATE, "admin",
					 "{X}2", &pipe_set, &error),
			 DMS_STORE_WRITE_OK);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
}
END_TEST

START_TEST(test_concurrent_adds)
{
	/* 50 processes add one name each at once: the lock serialises them
	   and none is lost */
	enum { N = 50 };
	const char *error;
	struct dms_store *store;
	pid_t pids[N];

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			char name[32];
			snprintf(name, sizeof(name), "m%d", i);
			_exit(dms_store_write(path, DMS_STORE_ADD, name, "{X}1",
					      &pipe_set, &error) ==
			      DMS_STORE_WRITE_OK ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	store = dms_store_new(path, DMS_DEFAULT_SCHEME);
	ck_assert_int_eq(dms_store_refresh(store, NULL, NULL, &error), 1);
	ck_assert_uint_eq(dms_store_count(store), N);
	ck_assert_uint_eq(dms_store_skipped_lines(store), 0);
	dms_store_free(&store);
}
END_TEST

START_TEST(test_unwritable_dir)
{
	const char *error = NULL;
	char bad[160];

	snprintf(bad, sizeof(bad), "%s/missing/dir/store", dir);
	ck_assert_int_eq(dms_store_write(bad, DMS_STORE_ADD, "a", "{X}1",
					 &pipe_set, &error),
			 DMS_STORE_WRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(error, "No such file"));
}
END_TEST

/* A link planted as FILE.lock is never followed (O_CREAT would create or
   open what it names) and a FIFO there is no lock. */
START_TEST(test_lock_not_followed)
{
	const char *error = NULL;
	char lock[160], victim[160];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	ck_assert_int_eq(symlink(victim, lock), 0);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD, "a", "{X}1",
					 &pipe_set, &error),
			 DMS_STORE_WRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(error, lock));
	ck_assert_int_eq(lstat(victim, &st), -1);
	ck_assert_int_eq(lstat(path, &st), -1);

	ck_assert_int_eq(unlink(lock), 0);
	ck_assert_int_eq(mkfifo(lock, 0600), 0);
	ck_assert_int_eq(dms_store_write(path, DMS_STORE_ADD, "a", "{X}1",
					 &pipe_set, &error),
			 DMS_STORE_WRITE_ERROR);
	ck_assert_ptr_nonnull(strstr(error, "not a regular file"));
	ck_assert_int_eq(unlink(lock), 0);
}
END_TEST

Suite *store_write_suite(void)
{
	Suite *s = suite_create("store-write");
	TCase *tc = tcase_create("write");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_add_update_delete);
	tcase_add_test(tc, test_keeps_other_lines);
	tcase_add_test(tc, test_passwd_format_roundtrip);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_keeps_mode);
	tcase_add_test(tc, test_concurrent_adds);
	tcase_add_test(tc, test_unwritable_dir);
	tcase_add_test(tc, test_lock_not_followed);
	suite_add_tcase(s, tc);
	return s;
}
