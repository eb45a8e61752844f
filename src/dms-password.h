#ifndef DMS_PASSWORD_H
#define DMS_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* The password schemes the module verifies. All of them are crypt(3)
   hashes verified through libxcrypt; the names are Dovecot's. */
enum dms_scheme {
	DMS_SCHEME_INVALID = 0,
	DMS_SCHEME_SHA512_CRYPT,
	DMS_SCHEME_SHA256_CRYPT,
	DMS_SCHEME_BLF_CRYPT,
	DMS_SCHEME_MD5_CRYPT,
	/* any hash libxcrypt knows: yescrypt, gost-yescrypt, scrypt, ... */
	DMS_SCHEME_CRYPT,
};

#define DMS_DEFAULT_SCHEME DMS_SCHEME_SHA512_CRYPT
/* Longest "{SCHEME}hash" dms_password_hash() writes, NUL included. */
#define DMS_PASSWORD_HASH_MAX 512

/* Look up a scheme by Dovecot's name, case-insensitively ("SHA512-CRYPT").
   Returns DMS_SCHEME_INVALID for names the module does not verify. */
enum dms_scheme dms_scheme_parse(const char *name, size_t len);
const char *dms_scheme_name(enum dms_scheme scheme);

/* Split a stored value "{SCHEME}HASH" (or a bare HASH, which then uses
   default_scheme). Returns 0, or -1 with *error_r for an unknown scheme or
   a hash that is not of its scheme's form. */
int dms_password_parse(const char *stored, enum dms_scheme default_scheme,
		       enum dms_scheme *scheme_r, const char **hash_r,
		       const char **error_r);

/* Verify PLAIN against the stored value. Returns 1 on a match, 0 on a
   mismatch, -1 with *error_r when the value cannot be verified (unknown
   scheme, a hash libxcrypt rejects). The comparison is constant-time. */
int dms_password_verify(const char *plain, const char *stored,
			enum dms_scheme default_scheme, const char **error_r);

/* Spend the time a verification against a hash of SCHEME costs, and fail.
   Used for unknown names so that they cost what a wrong password costs. */
void dms_password_verify_dummy(const char *plain, enum dms_scheme scheme);

/* Length of the prefix of a crypt(3) HASH (without "{SCHEME}") that names
   its algorithm and cost: "$6$", "$6$rounds=N$", "$2y$12$", "$y$j9T$".
   Hashes with equal prefixes cost the same to verify. */
size_t dms_password_cost_prefix_len(const char *hash);

/* Verify a throw-away password against HASH's algorithm, cost and salt:
   writes the result, a hash of the same cost, to DUMMY (DUMMY_SIZE bytes;
   CRYPT_OUTPUT_SIZE is enough) and the thread CPU time it took to
   *cost_nsec_r. Returns 0, or -1 when libxcrypt rejects HASH. */
int dms_password_dummy_from(const char *hash, char *dummy, size_t dummy_size,
			    unsigned long long *cost_nsec_r);

/* Spend the time a verification against DUMMY (from
   dms_password_dummy_from()) costs, and fail. */
void dms_password_verify_dummy_hash(const char *plain, const char *dummy);

/* Hash PLAIN with a fresh salt from libxcrypt's crypt_gensalt_rn() into
   OUT as "{SCHEME}HASH". METHOD is a scheme name, or "YESCRYPT" (written
   as {CRYPT}$y$...). Returns 0, or -1 with *error_r. */
int dms_password_hash(const char *plain, const char *method,
		      char *out, size_t out_size, const char **error_r);

/* The methods dms_password_hash() accepts, for help texts. */
extern const char *const dms_password_hash_methods[];

/* Compare two strings in time that depends only on their lengths. */
bool dms_timing_safe_equal(const char *a, const char *b);

/* Wipe memory in a way the compiler cannot optimize away. */
void dms_wipe(void *p, size_t size);

#endif
