#ifndef DMS_LDAP_CONN_H
#define DMS_LDAP_CONN_H

#include <stdbool.h>
#include "dms-ldap-config.h"
#include "dms-ldap-entry.h"

/* A synchronous connection to the directory of masters (libldap), for
   the module's auth-workers and for the setup CLI: connected when first
   used, with StartTLS or ldaps:// and a simple bind as the configured DN,
   every operation bounded by the configured timeout. Knows nothing of
   Dovecot. Passwords never appear in the error messages. */

struct dms_ldap_conn;

/* BIND_DN NULL: anonymous. PASSWORD is copied (and wiped on free). */
struct dms_ldap_conn *dms_ldap_conn_new(const struct dms_ldap_config *config,
					const char *bind_dn,
					const char *password);
void dms_ldap_conn_free(struct dms_ldap_conn **conn);

/* The result of a search: entries with the mapped attributes. */
struct dms_ldap_result;
unsigned int dms_ldap_result_count(const struct dms_ldap_result *result);
const struct dms_ldap_entry *
dms_ldap_result_entry(const struct dms_ldap_result *result, unsigned int idx);
void dms_ldap_result_free(struct dms_ldap_result **result);

/* Search the configured base with FILTER (already escaped) for at most
   SIZE_LIMIT entries (0: no limit). Returns 0 with *result_r, or -1 with
   ERROR (a lost connection is retried once on a new one). More entries
   than SIZE_LIMIT is an error. */
int dms_ldap_conn_search(struct dms_ldap_conn *conn, const char *filter,
			 unsigned int size_limit,
			 struct dms_ldap_result **result_r,
			 char *error, size_t error_size);

/* The entries of master NAME: the settings' filter with NAME escaped,
   at most two (a second is an error, not a choice: the caller names
   both). As dms_ldap_conn_search(); the filter searched is left in
   FILTER_BUF (FILTER_SIZE bytes; NULL for none), for messages. */
int dms_ldap_conn_search_name(struct dms_ldap_conn *conn, const char *name,
			      struct dms_ldap_result **result_r,
			      char *filter_buf, size_t filter_size,
			      char *error, size_t error_size);

/* The writes of the setup CLI: one LDAP operation each, so that two
   administrators' changes to different attributes or masters never undo
   each other. VALUES is by enum dms_ldap_attr, NULL-terminated arrays;
   NULL leaves an attribute alone, an empty array removes it (modify).
   Return 0, or -1 with ERROR and *ldap_error_r (LDAP's result code, so
   that the CLI can tell "exists" and "no such entry" apart). */
int dms_ldap_conn_add(struct dms_ldap_conn *conn, const char *dn,
		      const char *const *values[DMS_LDAP_ATTR_COUNT],
		      int *ldap_error_r, char *error, size_t error_size);
int dms_ldap_conn_modify(struct dms_ldap_conn *conn, const char *dn,
			 const char *const *values[DMS_LDAP_ATTR_COUNT],
			 int *ldap_error_r, char *error, size_t error_size);
int dms_ldap_conn_delete(struct dms_ldap_conn *conn, const char *dn,
			 int *ldap_error_r, char *error, size_t error_size);

/* Replace the value OLD of ATTR (NULL: none yet) by NEW_VALUE (NULL:
   none), as one modify (delete OLD, add NEW_VALUE) that fails, writing
   nothing, when another writer changed the attribute since OLD was read
   (*ldap_error_r: DMS_LDAP_NO_SUCH_ATTRIBUTE, or for a first value of a
   single-valued one DMS_LDAP_TYPE_OR_VALUE_EXISTS or
   DMS_LDAP_CONSTRAINT). The module's one write (a TOTP master's last
   step), and the CLI's grant changes. */
int dms_ldap_conn_replace_value(struct dms_ldap_conn *conn, const char *dn,
				enum dms_ldap_attr attr, const char *old,
				const char *new_value, int *ldap_error_r,
				char *error, size_t error_size);

/* LDAP result codes the CLI tells apart. */
#define DMS_LDAP_ALREADY_EXISTS 0x44
#define DMS_LDAP_NO_SUCH_OBJECT 0x20
#define DMS_LDAP_NO_SUCH_ATTRIBUTE 0x10
#define DMS_LDAP_CONSTRAINT 0x13
#define DMS_LDAP_TYPE_OR_VALUE_EXISTS 0x14

#endif
