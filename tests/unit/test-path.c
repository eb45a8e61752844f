#include "test-dms.h"
#include "dms-path.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void path_setup(void)
{
	test_tmpdir_make(dir, sizeof(dir), "/tmp/dms-path-XXXXXX");
}

static void path_teardown(void)
{
	if (test_tmpdir_remove(dir) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static int check(const char *path, bool may_be_missing, char *resolved,
		 char *error)
{
	struct dms_path_trust trust = { geteuid(), getegid() };

	return dms_path_check(path, &trust, may_be_missing, resolved,
			      PATH_MAX, error, 512);
}

START_TEST(test_path_resolved)
{
	char path[256], want[256], resolved[PATH_MAX], error[512];

	snprintf(path, sizeof(path), "%s/a", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/a/f", dir);
	fclose(fopen(path, "w"));
	ck_assert_int_eq(chmod(path, 0640), 0);

	/* ".", ".." and repeated slashes, as the kernel reads them */
	snprintf(path, sizeof(path), "%s//a/./../a/f", dir);
	ck_assert_int_eq(check(path, false, resolved, error), 0);
	snprintf(want, sizeof(want), "%s/a/f", dir);
	ck_assert_str_eq(resolved, want);

	/* relative: from the working directory, whose directories count */
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(check("a/f", false, resolved, error), 0);
	ck_assert_str_eq(resolved, want);

	/* a relative link, resolved against its own directory */
	snprintf(path, sizeof(path), "%s/link", dir);
	ck_assert_int_eq(symlink("a/f", path), 0);
	ck_assert_int_eq(check(path, false, resolved, error), 0);
	ck_assert_str_eq(resolved, want);

	/* missing: an error, unless a file still to be created */
	snprintf(path, sizeof(path), "%s/a/new", dir);
	ck_assert_int_eq(check(path, false, resolved, error), -1);
	ck_assert_ptr_nonnull(strstr(error, "No such file"));
	ck_assert_int_eq(check(path, true, resolved, error), 0);
	ck_assert_str_eq(resolved, path);
	/* ...but its directory must exist */
	snprintf(path, sizeof(path), "%s/nodir/new", dir);
	ck_assert_int_eq(check(path, true, resolved, error), -1);

	/* a loop */
	snprintf(path, sizeof(path), "%s/loop", dir);
	ck_assert_int_eq(symlink("loop", path), 0);
	ck_assert_int_eq(check(path, false, resolved, error), -1);
	ck_assert_ptr_nonnull(strstr(error, "too many symbolic links"));

	/* a file where a directory is needed */
	snprintf(path, sizeof(path), "%s/a/f/x", dir);
	ck_assert_int_eq(check(path, true, resolved, error), -1);
	ck_assert_ptr_nonnull(strstr(error, "Not a directory"));
}
END_TEST

START_TEST(test_path_untrusted)
{
	char path[256], resolved[PATH_MAX], error[512];
	struct dms_path_trust other = { 65534, 65534 };

	snprintf(path, sizeof(path), "%s/f", dir);
	fclose(fopen(path, "w"));
	ck_assert_int_eq(chmod(path, 0600), 0);
	/* group-writable by the trusted group: fine; by another: not */
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(chown(dir, 0, 65534), 0);
	ck_assert_int_eq(check(path, false, resolved, error), -1);
	ck_assert_ptr_nonnull(strstr(error, "writable by a group"));
	ck_assert_int_eq(dms_path_check(path, &other, false, resolved,
					sizeof(resolved), error,
					sizeof(error)), 0);
	ck_assert_int_eq(chown(dir, 0, 0), 0);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	/* owned by the trusted user: fine; by another: not */
	ck_assert_int_eq(chown(path, 65534, 0), 0);
	ck_assert_int_eq(check(path, false, resolved, error), -1);
	ck_assert_ptr_nonnull(strstr(error, "is not owned by root"));
	ck_assert_int_eq(dms_path_check(path, &other, false, resolved,
					sizeof(resolved), error,
					sizeof(error)), 0);
}
END_TEST

START_TEST(test_path_stat_unchanged)
{
	char path[256], tmp[256];
	struct stat a, b;
	FILE *f;

	snprintf(path, sizeof(path), "%s/s", dir);
	f = fopen(path, "w");
	fputs("one\n", f);
	fclose(f);
	ck_assert_int_eq(stat(path, &a), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert(dms_path_stat_unchanged(&a, &b));
	/* the same size, another mtime: changed */
	b.st_mtim.tv_nsec ^= 1;
	ck_assert(!dms_path_stat_unchanged(&a, &b));
	/* the same contents in a new file renamed over it: another inode */
	snprintf(tmp, sizeof(tmp), "%s/s.tmp", dir);
	f = fopen(tmp, "w");
	fputs("one\n", f);
	fclose(f);
	ck_assert_int_eq(rename(tmp, path), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert(!dms_path_stat_unchanged(&a, &b));
	unlink(path);
}
END_TEST

Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("path");

	tcase_add_unchecked_fixture(tc, path_setup, path_teardown);
	tcase_add_test(tc, test_path_resolved);
	tcase_add_test(tc, test_path_untrusted);
	tcase_add_test(tc, test_path_stat_unchanged);
	suite_add_tcase(s, tc);
	return s;
}
