#ifndef DMS_LDAP_STORE_H
#define DMS_LDAP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "dms-ldap-config.h"
#include "dms-store.h"

/* Masters kept in LDAP, looked up one name at a time and remembered for
   cache_ttl seconds (found or not), so that a master removed, disabled or
   changed in the directory is refused within that bound on every server.
   Past the bound an entry is never used: when the directory cannot be
   reached, lookups fail (the module makes that a temporary failure).
   Synchronous: the module runs it in Dovecot's auth-workers. Each entry
   becomes a store line (dms-ldap-entry.h), parsed by the file store's
   parser, so the policy means the same in both stores. */

struct dms_ldap_store;

/* Takes CONFIG (freed with the store) and copies PASSWORD (wiped). */
struct dms_ldap_store *dms_ldap_store_new(struct dms_ldap_config *config,
					  const char *password,
					  enum dms_scheme default_scheme);
void dms_ldap_store_free(struct dms_ldap_store **store);

const struct dms_ldap_config *
dms_ldap_store_config(const struct dms_ldap_store *store);

/* Look NAME up at NOW_MSEC (a monotonic clock). Returns 1 with *entry_r
   (valid until the next lookup), 0 when there is no such master, -1
   with ERROR when the directory cannot answer or the entry may not be
   trusted (malformed, or several entries match). */
int dms_ldap_store_lookup(struct dms_ldap_store *store, const char *name,
			  uint64_t now_msec,
			  const struct dms_store_entry **entry_r,
			  char *error, size_t error_size);

/* The grants (dmsGrant values, one a grants file line, dms-grants.h) of
   the master the last lookup found: valid until the next lookup; "" for
   none. Remembered with the entry, for cache_ttl. */
const char *dms_ldap_store_grants(const struct dms_ldap_store *store);

/* The second factor of master NAME (dms-totp.h), from the directory at
   every call (never the cache): CODE ("" when none was given) against the
   entry's dmsTotpSecret at NOW; when PASSWORD_OK and it matches a step
   later than the entry's dmsTotpStep, that step is written in its place
   by one modify that fails if another server wrote it first (then the
   entry is read again, once). So a code is accepted once on every server
   that shares the directory. Returns 1 when accepted; 0 when not, with
   *rule_r ("totp", "totp_replay" or "totp_secret": no or no usable
   secret, ERROR says which); -1 with ERROR when the directory cannot
   answer or the step cannot be written (the reader needs write access to
   dmsTotpStep). */
int dms_ldap_store_totp(struct dms_ldap_store *store, const char *name,
			const char *code, int64_t now, bool password_ok,
			const char **rule_r, char *error, size_t error_size);

/* As dms_store_dummy_hash() and dms_store_pad_hash(), over the costs
   of every hash seen in the directory so far, and never less than a
   default-cost hash of the default scheme. */
const char *dms_ldap_store_dummy_hash(struct dms_ldap_store *store);
const char *dms_ldap_store_pad_hash(struct dms_ldap_store *store,
				    const struct dms_store_entry *entry,
				    unsigned int *times_r);

#endif
