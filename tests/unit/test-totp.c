/* The second factor's pure parts (dms-totp.h): RFC 6238's test vectors
   through liboath, the split of password and code, the secrets file's
   lines and the replay state. */

#include "test-dms.h"
#include "dms-totp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* RFC 6238, appendix B: the SHA-1 seed "12345678901234567890" */
#define SEED "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

START_TEST(test_totp_vectors)
{
	static const struct {
		int64_t time;
		const char *code;
	} vectors[] = {
		/* the RFC's 8-digit values, their last 6 digits */
		{ 59, "287082" }, { 1111111109, "081804" },
		{ 1111111111, "050471" }, { 1234567890, "005924" },
		{ 2000000000, "279037" }, { 20000000000LL, "353130" },
	};
	const char *error;
	int64_t step;
	char code[7];

	for (unsigned int i = 0; i < sizeof(vectors) / sizeof(vectors[0]);
	     i++) {
		ck_assert_int_eq(dms_totp_generate(SEED, vectors[i].time, code),
				 0);
		ck_assert_str_eq(code, vectors[i].code);
		ck_assert_int_eq(dms_totp_check(SEED, vectors[i].code,
						vectors[i].time, &step,
						&error), 1);
		ck_assert_int_eq(step, vectors[i].time / 30);
		/* one step of skew either way, not two */
		ck_assert_int_eq(dms_totp_check(SEED, vectors[i].code,
						vectors[i].time + 30, &step,
						&error), 1);
		ck_assert_int_eq(step, vectors[i].time / 30);
		ck_assert_int_eq(dms_totp_check(SEED, vectors[i].code,
						vectors[i].time - 30, &step,
						&error), 1);
		ck_assert_int_eq(dms_totp_check(SEED, vectors[i].code,
						vectors[i].time + 61, &step,
						&error), 0);
	}
	ck_assert_int_eq(dms_totp_check(SEED, "000000", 59, &step, &error), 0);
	/* accepted only with the right password; no code is no match */
	ck_assert_int_eq(dms_totp_accept(SEED, "287082", 59, true, &step,
					 &error), 1);
	ck_assert_int_eq(step, 1);
	ck_assert_int_eq(dms_totp_accept(SEED, "287082", 59, false, &step,
					 &error), 0);
	ck_assert_int_eq(dms_totp_accept(SEED, "", 59, true, &step, &error),
			 0);
	ck_assert_int_eq(dms_totp_accept(SEED, "287083", 59, true, &step,
					 &error), 0);
	ck_assert_int_eq(dms_totp_accept("not base32!", "287082", 59, true,
					 &step, &error), -1);
	ck_assert_int_eq(dms_totp_check("not base32!", "287082", 59, &step,
					&error), -1);
}
END_TEST

START_TEST(test_totp_split)
{
	size_t len;
	char code[7];

	ck_assert(dms_totp_split("secret123456", &len, code));
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(code, "123456");
	/* a password of digits keeps its own */
	ck_assert(dms_totp_split("1234567", &len, code));
	ck_assert_uint_eq(len, 1);
	ck_assert(!dms_totp_split("123456", &len, code));
	ck_assert(!dms_totp_split("secret12345x", &len, code));
	ck_assert(!dms_totp_split("", &len, code));
}
END_TEST

START_TEST(test_totp_secrets)
{
	static const char text[] = "# comment\nadmin|AAAA\nadm|BBBB|\r\n"
		"boss|CCCC\r\nempty|\n";
	char *s;

	s = dms_totp_secret_find(text, "admin");
	ck_assert_str_eq(s, "AAAA");
	free(s);
	s = dms_totp_secret_find(text, "adm");
	ck_assert_str_eq(s, "BBBB");
	free(s);
	s = dms_totp_secret_find(text, "boss");
	ck_assert_str_eq(s, "CCCC");
	free(s);
	ck_assert_ptr_null(dms_totp_secret_find(text, "ad"));
	ck_assert_ptr_null(dms_totp_secret_find(text, "empty"));
	ck_assert_ptr_null(dms_totp_secret_find(text, "nobody"));

	s = dms_totp_secret_new();
	ck_assert_uint_eq(strlen(s), 32);	/* 160 bits in base32 */
	char code[7];
	ck_assert_int_eq(dms_totp_generate(s, 1000, code), 0);
	free(s);

	s = dms_totp_uri("auth-master-dms", "a+b@x", "SECRET");
	ck_assert_str_eq(s, "otpauth://totp/auth-master-dms:a%2Bb%40x?"
			 "secret=SECRET&issuer=auth-master-dms&algorithm=SHA1&"
			 "digits=6&period=30");
	free(s);
}
END_TEST

START_TEST(test_totp_replay_state)
{
	struct dms_path_trust trust = { geteuid(), getegid() };
	char dir[256], path[300];
	const char *error;
	FILE *f;
	char buf[256];

	test_tmpdir_make(dir, sizeof(dir), "/tmp/dms-totp.XXXXXX");
	snprintf(path, sizeof(path), "%s/state", dir);
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "admin", 100, &error),
			 1);
	/* the same step, and an earlier one: replays */
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "admin", 100, &error),
			 0);
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "admin", 99, &error),
			 0);
	/* another master's steps are its own */
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "adm", 100, &error),
			 1);
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "admin", 101, &error),
			 1);
	f = fopen(path, "r");
	ck_assert_uint_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
	fclose(f);
	ck_assert(strstr(buf, "adm 100\n") != NULL);
	ck_assert(strstr(buf, "admin 101\n") != NULL);
	/* a state file others may write is not used */
	chmod(path, 0666);
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "admin", 102, &error),
			 -1);
	ck_assert(strstr(error, "untrusted") != NULL ||
		  strstr(error, "not a trusted") != NULL);
	/* nor one in a directory that is not there */
	snprintf(path, sizeof(path), "%s/none/state", dir);
	ck_assert_int_eq(dms_totp_use_step(path, &trust, "admin", 102, &error),
			 -1);
	ck_assert_int_eq(test_tmpdir_remove(dir), 0);
}
END_TEST

Suite *totp_suite(void)
{
	Suite *s = suite_create("totp");
	TCase *tc = tcase_create("totp");

	tcase_add_test(tc, test_totp_vectors);
	tcase_add_test(tc, test_totp_split);
	tcase_add_test(tc, test_totp_secrets);
	tcase_add_test(tc, test_totp_replay_state);
	suite_add_tcase(s, tc);
	return s;
}
