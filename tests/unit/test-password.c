#include "test-dms.h"
#include "dms-password.h"

#include <stdlib.h>
#include <string.h>

/* Hashes made by `doveadm pw -s SCHEME -p top-secret` (Dovecot 2.3.19.1),
   and yescrypt/gost-yescrypt by libxcrypt's crypt_gensalt. */
#define DMS_FIXTURE "{SHA512-CRYPT}$6$IOybywiyl1nuDno0$gRW625qH7ThmbRaByNVpuAGgDOkMd7tc3yuVmwVRuk7IXgiN8KDwcqtMcU0LyvS5RGAskbplavjPpCmFjbKEt1"

static const struct {
	const char *stored;
	enum dms_scheme default_scheme;
	const char *plain;
	int ret;
} verify_cases[] = {
	/* docker-mailserver's own test fixture, password masterpassword */
	{ DMS_FIXTURE, DMS_SCHEME_SHA512_CRYPT, "masterpassword", 1 },
	{ DMS_FIXTURE, DMS_SCHEME_SHA512_CRYPT, "masterpassworD", 0 },
	{ DMS_FIXTURE, DMS_SCHEME_SHA512_CRYPT, "", 0 },
	{ "{SHA512-CRYPT}$6$oynLeHesjD5YryQo$p0xrRRXKlfQdwFZA9plxKBpVLK/sFqmbCpZCL5C8KL88/DKtBMufQUI3yOyG6hZbLxzVFU0qPpQB/oBqMErrN0",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{SHA256-CRYPT}$5$B58RlK7kx2OU4NHy$WfKAUOXHIIMQ5lbSBY6fqYzkj60sB0nlcHEtUIqC.FD",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{SHA256-CRYPT}$5$B58RlK7kx2OU4NHy$WfKAUOXHIIMQ5lbSBY6fqYzkj60sB0nlcHEtUIqC.FD",
	  DMS_SCHEME_SHA512_CRYPT, "top-secreT", 0 },
	{ "{BLF-CRYPT}$2y$05$xgdPpwlDUkj6AF91kjXPe.HbvS1nbHyhFuZeS3NV7FBnKLsy618Iq",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{blf-crypt}$2y$05$xgdPpwlDUkj6AF91kjXPe.HbvS1nbHyhFuZeS3NV7FBnKLsy618Iq",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{BLF-CRYPT}$2y$05$xgdPpwlDUkj6AF91kjXPe.HbvS1nbHyhFuZeS3NV7FBnKLsy618Iq",
	  DMS_SCHEME_SHA512_CRYPT, "nope", 0 },
	{ "{MD5-CRYPT}$1$O6je17uJ$ur99lueX.Kb9han8rCaGf.",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{MD5-CRYPT}$1$O6je17uJ$ur99lueX.Kb9han8rCaGf.",
	  DMS_SCHEME_SHA512_CRYPT, "top", 0 },
	{ "{CRYPT}$y$j9T$aDHwQGk/8xfNymlQgZB6q0$AXycHPdqkfcFScQ66S/Xj4vHX3tAjiE97j9QnznQtH7",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{CRYPT}$y$j9T$aDHwQGk/8xfNymlQgZB6q0$AXycHPdqkfcFScQ66S/Xj4vHX3tAjiE97j9QnznQtH7",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret ", 0 },
	{ "{CRYPT}$gy$j9T$9MGqOyEpfx7GwNbsq/4G0/$thmeL405/1t99bWSf2vf.ON24qnTJUFlG/Rm/FfumY6",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "{CRYPT}$6$oynLeHesjD5YryQo$p0xrRRXKlfQdwFZA9plxKBpVLK/sFqmbCpZCL5C8KL88/DKtBMufQUI3yOyG6hZbLxzVFU0qPpQB/oBqMErrN0",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	/* a bare hash takes the default scheme */
	{ "$6$oynLeHesjD5YryQo$p0xrRRXKlfQdwFZA9plxKBpVLK/sFqmbCpZCL5C8KL88/DKtBMufQUI3yOyG6hZbLxzVFU0qPpQB/oBqMErrN0",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", 1 },
	{ "$y$j9T$aDHwQGk/8xfNymlQgZB6q0$AXycHPdqkfcFScQ66S/Xj4vHX3tAjiE97j9QnznQtH7",
	  DMS_SCHEME_CRYPT, "top-secret", 1 },
	{ "$y$j9T$aDHwQGk/8xfNymlQgZB6q0$AXycHPdqkfcFScQ66S/Xj4vHX3tAjiE97j9QnznQtH7",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", -1 },
	/* errors: unknown schemes, a hash of another scheme, garbage */
	{ "{PLAIN}top-secret", DMS_SCHEME_SHA512_CRYPT, "top-secret", -1 },
	{ "{SSHA512}abcd", DMS_SCHEME_SHA512_CRYPT, "top-secret", -1 },
	{ "{}$6$abc$def", DMS_SCHEME_SHA512_CRYPT, "x", -1 },
	{ "{SHA512-CRYPT}$1$O6je17uJ$ur99lueX.Kb9han8rCaGf.",
	  DMS_SCHEME_SHA512_CRYPT, "top-secret", -1 },
	{ "{SHA512-CRYPT}", DMS_SCHEME_SHA512_CRYPT, "x", -1 },
	{ "plaintext", DMS_SCHEME_SHA512_CRYPT, "plaintext", -1 },
	{ "{CRYPT}*", DMS_SCHEME_SHA512_CRYPT, "x", -1 },
	{ "{CRYPT}$9$nonsense", DMS_SCHEME_SHA512_CRYPT, "x", -1 },
	{ "{CRYPT}!locked", DMS_SCHEME_SHA512_CRYPT, "x", -1 },
	/* an unterminated prefix is a bare value of the default scheme */
	{ "{SHA512-CRYPT$6$x", DMS_SCHEME_SHA512_CRYPT, "x", -1 },
};

START_TEST(test_verify)
{
	const char *error = NULL;
	int ret = dms_password_verify(verify_cases[_i].plain,
				      verify_cases[_i].stored,
				      verify_cases[_i].default_scheme, &error);

	ck_assert_msg(ret == verify_cases[_i].ret, "case %d (%s): got %d",
		      _i, verify_cases[_i].stored, ret);
	if (ret < 0)
		ck_assert_ptr_nonnull(error);
}
END_TEST

static const char *const methods[] = {
	"SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "YESCRYPT", "sha512-crypt"
};
static const char *const method_prefixes[] = {
	"{SHA512-CRYPT}$6$", "{SHA256-CRYPT}$5$", "{BLF-CRYPT}$2y$",
	"{CRYPT}$y$", "{SHA512-CRYPT}$6$"
};

START_TEST(test_hash_roundtrip)
{
	char out[DMS_PASSWORD_HASH_MAX], out2[DMS_PASSWORD_HASH_MAX];
	const char *error;

	ck_assert_int_eq(dms_password_hash("p\xc3\xa4ss w:|rd", methods[_i],
					   out, sizeof(out), &error), 0);
	ck_assert_msg(strncmp(out, method_prefixes[_i],
			      strlen(method_prefixes[_i])) == 0, "%s", out);
	ck_assert_int_eq(dms_password_verify("p\xc3\xa4ss w:|rd", out,
			 DMS_DEFAULT_SCHEME, &error), 1);
	ck_assert_int_eq(dms_password_verify("p\xc3\xa4ss w:|rD", out,
			 DMS_DEFAULT_SCHEME, &error), 0);
	/* a fresh salt every time */
	ck_assert_int_eq(dms_password_hash("p\xc3\xa4ss w:|rd", methods[_i],
					   out2, sizeof(out2), &error), 0);
	ck_assert_str_ne(out, out2);
}
END_TEST

START_TEST(test_hash_errors)
{
	char out[DMS_PASSWORD_HASH_MAX], tiny[8];
	const char *error = NULL;

	ck_assert_int_eq(dms_password_hash("x", "MD5-CRYPT", out, sizeof(out),
					   &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(dms_password_hash("x", "PLAIN", out, sizeof(out),
					   &error), -1);
	ck_assert_int_eq(dms_password_hash("x", "", out, sizeof(out),
					   &error), -1);
	ck_assert_int_eq(dms_password_hash("x", "SHA512-CRYPT", tiny,
					   sizeof(tiny), &error), -1);
}
END_TEST

START_TEST(test_schemes)
{
	ck_assert_int_eq(dms_scheme_parse("SHA512-CRYPT", 12),
			 DMS_SCHEME_SHA512_CRYPT);
	ck_assert_int_eq(dms_scheme_parse("sha256-crypt", 12),
			 DMS_SCHEME_SHA256_CRYPT);
	ck_assert_int_eq(dms_scheme_parse("CRYPTX", 6), DMS_SCHEME_INVALID);
	ck_assert_int_eq(dms_scheme_parse("CRYPTX", 5), DMS_SCHEME_CRYPT);
	ck_assert_int_eq(dms_scheme_parse("", 0), DMS_SCHEME_INVALID);
	ck_assert_str_eq(dms_scheme_name(DMS_SCHEME_BLF_CRYPT), "BLF-CRYPT");
	ck_assert_str_eq(dms_scheme_name(DMS_SCHEME_INVALID), "INVALID");
}
END_TEST

START_TEST(test_timing_safe_equal)
{
	ck_assert(dms_timing_safe_equal("", ""));
	ck_assert(dms_timing_safe_equal("abc", "abc"));
	ck_assert(!dms_timing_safe_equal("abc", "abd"));
	ck_assert(!dms_timing_safe_equal("abc", "ab"));
	ck_assert(!dms_timing_safe_equal("ab", "abc"));
	ck_assert(!dms_timing_safe_equal("", "a"));
}
END_TEST

static const struct {
	const char *hash;
	const char *prefix;
} cost_prefixes[] = {
	{ "$6$salt$hash", "$6$" },
	{ "$6$rounds=10000$salt$hash", "$6$rounds=10000$" },
	{ "$5$salt$hash", "$5$" },
	{ "$1$salt$hash", "$1$" },
	{ "$2y$12$abcdefghijklmnopqrstuvwxyz0123456789", "$2y$12$" },
	{ "$y$j9T$salt$hash", "$y$j9T$" },
	{ "$gy$jCT$salt$hash", "$gy$jCT$" },
	{ "$7$CU..../....saltsalt$hash", "$7$CU..../...." },
	{ "$sha1$48000$salt$hash", "$sha1$48000$" },
	{ "abcdefghijklm", "" },
	{ "_Ju..saltHASHHASHHAS", "_Ju.." },
};

START_TEST(test_cost_prefix)
{
	const char *hash = cost_prefixes[_i].hash;
	size_t len = dms_password_cost_prefix_len(hash);

	ck_assert_uint_eq(len, strlen(cost_prefixes[_i].prefix));
	ck_assert_int_eq(strncmp(hash, cost_prefixes[_i].prefix, len), 0);
}
END_TEST

START_TEST(test_dummy)
{
	/* never crashes for any scheme, including out-of-range values */
	dms_password_verify_dummy("x", DMS_SCHEME_SHA512_CRYPT);
	dms_password_verify_dummy("x", DMS_SCHEME_BLF_CRYPT);
	dms_password_verify_dummy("x", DMS_SCHEME_CRYPT);
	dms_password_verify_dummy("x", DMS_SCHEME_MD5_CRYPT);
	dms_password_verify_dummy("x", (enum dms_scheme)99);
	dms_password_verify_dummy("x", DMS_SCHEME_INVALID);
}
END_TEST

Suite *password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("verify");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_verify, 0,
			    sizeof(verify_cases) / sizeof(verify_cases[0]));
	tcase_add_loop_test(tc, test_hash_roundtrip, 0,
			    sizeof(methods) / sizeof(methods[0]));
	tcase_add_test(tc, test_hash_errors);
	tcase_add_test(tc, test_schemes);
	tcase_add_test(tc, test_timing_safe_equal);
	tcase_add_test(tc, test_dummy);
	tcase_add_loop_test(tc, test_cost_prefix, 0,
			    sizeof(cost_prefixes) / sizeof(cost_prefixes[0]));
	suite_add_tcase(s, tc);
	return s;
}
