/* Password schemes, verification and hashing through libxcrypt. The only
   file that includes <crypt.h>. */

#include "dms-password.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct dms_scheme_def {
	enum dms_scheme scheme;
	const char *name;
	/* every hash of the scheme starts with one of these */
	const char *const *prefixes;
};

static const char *const sha512_prefixes[] = { "$6$", NULL };
static const char *const sha256_prefixes[] = { "$5$", NULL };
static const char *const blf_prefixes[] = {
	"$2a$", "$2b$", "$2x$", "$2y$", NULL
};
static const char *const md5_prefixes[] = { "$1$", NULL };
static const char *const any_prefixes[] = { "", NULL };

static const struct dms_scheme_def scheme_defs[] = {
	{ DMS_SCHEME_SHA512_CRYPT, "SHA512-CRYPT", sha512_prefixes },
	{ DMS_SCHEME_SHA256_CRYPT, "SHA256-CRYPT", sha256_prefixes },
	{ DMS_SCHEME_BLF_CRYPT, "BLF-CRYPT", blf_prefixes },
	{ DMS_SCHEME_MD5_CRYPT, "MD5-CRYPT", md5_prefixes },
	{ DMS_SCHEME_CRYPT, "CRYPT", any_prefixes },
};

struct dms_hash_method {
	const char *name;
	enum dms_scheme scheme;
	const char *gensalt_prefix;
};

/* MD5-CRYPT is verified for old stores but never written: it is weak. */
static const struct dms_hash_method hash_methods[] = {
	{ "SHA512-CRYPT", DMS_SCHEME_SHA512_CRYPT, "$6$" },
	{ "SHA256-CRYPT", DMS_SCHEME_SHA256_CRYPT, "$5$" },
	{ "BLF-CRYPT", DMS_SCHEME_BLF_CRYPT, "$2y$" },
	{ "YESCRYPT", DMS_SCHEME_CRYPT, "$y$" },
};

const char *const dms_password_hash_methods[] = {
	"SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "YESCRYPT", NULL
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* libxcrypt's work area is 32 KiB: one for the process, zeroed before and
   wiped after every use (the auth process and the CLI are single-threaded) */
static struct crypt_data crypt_area;

static const struct dms_scheme_def *scheme_def(enum dms_scheme scheme)
{
	for (size_t i = 0; i < N_ELEMENTS(scheme_defs); i++) {
		if (scheme_defs[i].scheme == scheme)
			return &scheme_defs[i];
	}
	return NULL;
}

enum dms_scheme dms_scheme_parse(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(scheme_defs); i++) {
		if (strlen(scheme_defs[i].name) == len &&
		    strncasecmp(scheme_defs[i].name, name, len) == 0)
			return scheme_defs[i].scheme;
	}
	return DMS_SCHEME_INVALID;
}

const char *dms_scheme_name(enum dms_scheme scheme)
{
	const struct dms_scheme_def *def = scheme_def(scheme);

	return def == NULL ? "INVALID" : def->name;
}

int dms_password_parse(const char *stored, enum dms_scheme default_scheme,
		       enum dms_scheme *scheme_r, const char **hash_r,
		       const char **error_r)
{
	enum dms_scheme scheme = default_scheme;
	const char *hash = stored, *end;
	const struct dms_scheme_def *def;

	if (stored[0] == '{' && (end = strchr(stored, '}')) != NULL) {
		scheme = dms_scheme_parse(stored + 1, (size_t)(end - stored - 1));
		if (scheme == DMS_SCHEME_INVALID) {
			*error_r = "unknown or unsupported password scheme";
			return -1;
		}
		hash = end + 1;
	}
	def = scheme_def(scheme);
	if (def == NULL) {
		*error_r = "unknown or unsupported password scheme";
		return -1;
	}
	if (hash[0] == '\0') {
		*error_r = "empty password hash";
		return -1;
	}
	for (size_t i = 0; def->prefixes[i] != NULL; i++) {
		if (strncmp(hash, def->prefixes[i],
			    strlen(def->prefixes[i])) == 0) {
			*scheme_r = scheme;
			*hash_r = hash;
			return 0;
		}
	}
	*error_r = "password hash is not of its scheme's form";
	return -1;
}

bool dms_timing_safe_equal(const char *a, const char *b)
{
	size_t a_len = strlen(a), b_len = strlen(b);
	size_t len = a_len < b_len ? a_len : b_len;
	unsigned char diff = a_len != b_len;

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

void dms_wipe(void *p, size_t size)
{
	explicit_bzero(p, size);
}

static int crypt_compare(const char *plain, const char *hash,
			 const char **error_r)
{
	const char *out;
	int ret;

	memset(&crypt_area, 0, sizeof(crypt_area));
	out = crypt_rn(plain, hash, &crypt_area, sizeof(crypt_area));
	if (out == NULL || out[0] == '*') {
		*error_r = "password hash is not supported by libxcrypt";
		ret = -1;
	} else {
		ret = dms_timing_safe_equal(out, hash) ? 1 : 0;
	}
	dms_wipe(&crypt_area, sizeof(crypt_area));
	return ret;
}

int dms_password_verify(const char *plain, const char *stored,
			enum dms_scheme default_scheme, const char **error_r)
{
	enum dms_scheme scheme;
	const char *hash;

	if (dms_password_parse(stored, default_scheme, &scheme, &hash,
			       error_r) < 0)
		return -1;
	return crypt_compare(plain, hash, error_r);
}

static const char *gensalt_prefix_for(enum dms_scheme scheme)
{
	for (size_t i = 0; i < N_ELEMENTS(hash_methods); i++) {
		if (hash_methods[i].scheme == scheme)
			return hash_methods[i].gensalt_prefix;
	}
	/* MD5-CRYPT */
	return "$1$";
}

void dms_password_verify_dummy(const char *plain, enum dms_scheme scheme)
{
	/* one dummy hash per scheme, made on first use with the default cost
	   that doveadm pw and dms_password_hash() use */
	static char dummies[DMS_SCHEME_CRYPT + 1][CRYPT_OUTPUT_SIZE];
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *error;
	char *dummy;

	if (scheme <= DMS_SCHEME_INVALID || scheme > DMS_SCHEME_CRYPT)
		scheme = DMS_DEFAULT_SCHEME;
	dummy = dummies[scheme];
	if (dummy[0] == '\0') {
		const char *out = NULL;

		if (crypt_gensalt_rn(gensalt_prefix_for(scheme), 0, NULL, 0,
				     setting, sizeof(setting)) != NULL) {
			memset(&crypt_area, 0, sizeof(crypt_area));
			out = crypt_rn("dms-dummy", setting, &crypt_area,
				       sizeof(crypt_area));
		}
		if (out == NULL || out[0] == '*')
			out = "$6$dummydummydummy$";
		snprintf(dummy, CRYPT_OUTPUT_SIZE, "%s", out);
		dms_wipe(&crypt_area, sizeof(crypt_area));
	}
	(void)crypt_compare(plain, dummy, &error);
}

size_t dms_password_cost_prefix_len(const char *hash)
{
	const char *p;
	size_t len = strlen(hash);

	if (hash[0] != '$')
		/* DES, fixed cost; BSDi "_CCCC": the rounds in 4 chars */
		return hash[0] == '_' && len >= 5 ? 5 : 0;
	if (strncmp(hash, "$2", 2) == 0) {
		/* bcrypt: "$2y$NN$" then salt and hash without a '$' */
		return len >= 7 ? 7 : len;
	}
	if (strncmp(hash, "$7$", 3) == 0) {
		/* scrypt: N, r and p in the 11 chars after "$7$" */
		return len >= 14 ? 14 : len;
	}
	/* the rest is "$id[$params]$salt$hash": drop salt and hash */
	p = hash + len;
	for (unsigned int fields = 0; p > hash; p--) {
		if (p[-1] == '$' && ++fields == 2)
			return (size_t)(p - hash);
	}
	return len;
}

int dms_password_dummy_from(const char *hash, char *dummy, size_t dummy_size,
			    unsigned long long *cost_nsec_r)
{
	struct timespec start, end;
	const char *out;
	int ret = 0;

	memset(&crypt_area, 0, sizeof(crypt_area));
	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
	out = crypt_rn("dms-dummy", hash, &crypt_area, sizeof(crypt_area));
	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
	if (out == NULL || out[0] == '*' ||
	    (size_t)snprintf(dummy, dummy_size, "%s", out) >= dummy_size)
		ret = -1;
	dms_wipe(&crypt_area, sizeof(crypt_area));
	*cost_nsec_r = (unsigned long long)(end.tv_sec - start.tv_sec) *
		1000000000ULL + (unsigned long long)end.tv_nsec -
		(unsigned long long)start.tv_nsec;
	return ret;
}

void dms_password_verify_dummy_hash(const char *plain, const char *dummy)
{
	const char *error;

	(void)crypt_compare(plain, dummy, &error);
}

int dms_password_hash(const char *plain, const char *method,
		      char *out, size_t out_size, const char **error_r)
{
	const struct dms_hash_method *m = NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *hash;
	int len;

	for (size_t i = 0; i < N_ELEMENTS(hash_methods); i++) {
		if (strcasecmp(hash_methods[i].name, method) == 0)
			m = &hash_methods[i];
	}
	if (m == NULL) {
		*error_r = "unknown hashing scheme (use SHA512-CRYPT, "
			"SHA256-CRYPT, BLF-CRYPT or YESCRYPT)";
		return -1;
	}
	/* count 0 = libxcrypt's default cost; the salt comes from the
	   kernel's random source when no random bytes are given */
	if (crypt_gensalt_rn(m->gensalt_prefix, 0, NULL, 0,
			     setting, sizeof(setting)) == NULL) {
		*error_r = "crypt_gensalt_rn() failed";
		return -1;
	}
	memset(&crypt_area, 0, sizeof(crypt_area));
	hash = crypt_rn(plain, setting, &crypt_area, sizeof(crypt_area));
	if (hash == NULL || hash[0] == '*') {
		dms_wipe(&crypt_area, sizeof(crypt_area));
		*error_r = "crypt_rn() failed";
		return -1;
	}
	len = snprintf(out, out_size, "{%s}%s",
		       dms_scheme_name(m->scheme), hash);
	dms_wipe(&crypt_area, sizeof(crypt_area));
	if (len < 0 || (size_t)len >= out_size) {
		*error_r = "hash too long for its buffer";
		return -1;
	}
	return 0;
}
