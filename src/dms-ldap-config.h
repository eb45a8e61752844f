#ifndef DMS_LDAP_CONFIG_H
#define DMS_LDAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include "dms-path.h"

/* Where masters kept in LDAP are found: one file of "key = value" lines
   ('#' comments), read by the module (passdb dms_master with store=ldap)
   and by the setup CLI alike, so that both talk to the same directory.
   See docs/ldap-masters.md for every key. */

enum dms_ldap_scope {
	DMS_LDAP_SCOPE_SUBTREE = 0,
	DMS_LDAP_SCOPE_ONELEVEL,
	DMS_LDAP_SCOPE_BASE,
};

/* The policy options (dms-policy.h) an attribute may carry, in the order
   of dms_ldap_attr_keys[]. */
enum dms_ldap_attr {
	DMS_LDAP_ATTR_NAME = 0,
	DMS_LDAP_ATTR_PASSWORD,
	DMS_LDAP_ATTR_ALLOW,
	DMS_LDAP_ATTR_SERVICES,
	DMS_LDAP_ATTR_READ_ONLY,
	DMS_LDAP_ATTR_EXPIRES,
	DMS_LDAP_ATTR_DISABLED,
	/* 0.4.0: limits too, so required as the others */
	DMS_LDAP_ATTR_DENY,
	DMS_LDAP_ATTR_PORTS,
	DMS_LDAP_ATTR_TOTP,
	DMS_LDAP_ATTR_REQUIRE_GRANT,
	DMS_LDAP_ATTR_GRANT_APPROVAL,
	/* optional: choices that limit nothing (dms_record,
	   dms_notify_owner); absent, the site's settings apply */
	DMS_LDAP_ATTR_RECORD,
	DMS_LDAP_ATTR_NOTIFY_OWNER,
	/* not options: a TOTP master's secret, and the last step it used
	   (the one attribute the module writes: dms-ldap-store.h) */
	DMS_LDAP_ATTR_TOTP_SECRET,
	DMS_LDAP_ATTR_TOTP_STEP,
	/* the master's grants, one a value, each a grants file line
	   (dms-grants.h) */
	DMS_LDAP_ATTR_GRANT,

	DMS_LDAP_ATTR_COUNT
};
/* the policy attributes every master entry must carry: ALLOW up to
   here */
#define DMS_LDAP_ATTR_REQUIRED_END DMS_LDAP_ATTR_RECORD
/* the options' attributes: up to here */
#define DMS_LDAP_ATTR_OPTIONS_END DMS_LDAP_ATTR_TOTP_SECRET

struct dms_ldap_config {
	/* space-separated ldap:// or ldaps:// URIs, tried in order */
	char *uris;
	char *base;
	enum dms_ldap_scope scope;
	/* with %u where the master's name goes, RFC 4515-escaped */
	char *filter;
	/* NULL: anonymous */
	char *bind_dn;
	/* the bind password's file: only its first line counts */
	char *bind_password_file;
	/* the setup CLI's writes; NULL: bind_dn and its password */
	char *admin_bind_dn;
	char *admin_bind_password_file;
	bool starttls;
	/* the CA certificates to verify the server with; NULL: system's */
	char *tls_ca_file;
	/* verify the server's certificate (never "no" by default) */
	bool tls_verify;
	/* seconds for connecting and for each operation */
	unsigned int timeout_secs;
	/* seconds a looked-up master (or its absence) is reused; 0: looked
	   up on every login */
	unsigned int cache_ttl_secs;
	/* new entries of the setup CLI: uid=NAME,<base> with these classes */
	char *object_classes;
	char *attrs[DMS_LDAP_ATTR_COUNT];
	/* who besides root may own the files and directories it names (the
	   CA file, an ldapi:// socket's way): the reader's, as it read the
	   settings file */
	struct dms_path_trust trust;
};

#define DMS_LDAP_DEFAULT_FILTER "(&(objectClass=dmsMasterAccount)(uid=%u))"
#define DMS_LDAP_DEFAULT_TIMEOUT_SECS 3
#define DMS_LDAP_DEFAULT_CACHE_TTL_SECS 5
/* one day: a longer cache would make revocation meaningless */
#define DMS_LDAP_CACHE_TTL_MAX (24 * 3600)
#define DMS_LDAP_TIMEOUT_MAX 300
#define DMS_LDAP_DEFAULT_OBJECT_CLASSES "account dmsMasterAccount"
/* what the module reads, for error messages and docs */
#define DMS_LDAP_CONFIG_DEFAULT "/etc/dovecot/dms-master-ldap.conf"

/* "name", "password", "allow", ...: attr_<key> in the file */
extern const char *const dms_ldap_attr_keys[DMS_LDAP_ATTR_COUNT];
extern const char *const dms_ldap_attr_defaults[DMS_LDAP_ATTR_COUNT];

/* Parse the file's TEXT (LEN bytes). Unknown keys, repeated keys and bad
   values are errors: a typo must not quietly connect elsewhere or skip
   TLS. Returns 0 with CONFIG_R filled (free with dms_ldap_config_free()),
   or -1 with "line N: ..." in ERROR. */
int dms_ldap_config_parse(const char *text, size_t len,
			  struct dms_ldap_config *config_r,
			  char *error, size_t error_size);
/* The same for a file, which must be a regular file of at most 64 KiB on
   a trusted path (dms-path.h: owned by root or TRUST's user, writable by
   no one else, every directory and link on the way too). */
int dms_ldap_config_read(const char *path, const struct dms_path_trust *trust,
			 struct dms_ldap_config *config_r,
			 char *error, size_t error_size);
void dms_ldap_config_free(struct dms_ldap_config *config);

/* Read a password file's first line (without its newline) into a
   malloc()ed string, refusing a file on an untrusted path or one others
   may read. Returns 0 or -1 with ERROR. */
int dms_ldap_password_read(const char *path,
			   const struct dms_path_trust *trust,
			   char **password_r, char *error, size_t error_size);

/* The first ldap:// URI of CONFIG when StartTLS is off (the bind password
   and the masters' hashes would cross the network in clear), into BUF;
   NULL when every URI is ldaps://, ldapi:// or StartTLS is on. */
const char *dms_ldap_config_cleartext_uri(const struct dms_ldap_config *config,
					  char *buf, size_t size);

/* The socket path of an ldapi:// URI (LEN bytes; %-decoded, the default
   socket for ldapi:///) into PATH: 1, 0 for another kind of URI, -1 for
   a path that is not absolute, has a NUL or does not fit. */
int dms_ldap_uri_socket(const char *uri, size_t len, char *path,
			size_t size);

/* The paths CONFIG names that libldap reads when it connects, on trusted
   ways (CONFIG's trust): tls_ca_file (it decides which server is the
   directory) and each ldapi:// socket (whoever may replace it answers as
   the directory; its directory may belong to a system account, the LDAP
   server's). Returns 0, or -1 with ERROR naming the path. */
int dms_ldap_config_paths_check(const struct dms_ldap_config *config,
				char *error, size_t error_size);

/* snprintf() into ERROR (SIZE bytes): the LDAP code's error messages */
void dms_ldap_error(char *error, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* RFC 4515: VALUE with '*', '(', ')', '\', NUL and every byte outside
   printable ASCII as \XX, into a malloc()ed string; NULL when out of
   memory. */
char *dms_ldap_filter_escape(const char *value, size_t len);
/* FILTER with each %u replaced by NAME, escaped unless RAW (the CLI's
   listing passes "*"), and %% by %; NULL with *error_r for another
   %-sequence (or out of memory). malloc()ed. */
char *dms_ldap_filter_expand(const char *filter, const char *name, bool raw,
			     const char **error_r);
/* RFC 4514: a DN attribute value (the CLI's uid=NAME,base), malloc()ed. */
char *dms_ldap_dn_escape(const char *value);

#endif
