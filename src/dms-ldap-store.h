#ifndef DMS_LDAP_STORE_H
#define DMS_LDAP_STORE_H

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

/* As dms_store_dummy_hash() and dms_store_pad_hash(), over the costs
   of every hash seen in the directory so far, and never less than a
   default-cost hash of the default scheme. */
const char *dms_ldap_store_dummy_hash(struct dms_ldap_store *store);
const char *dms_ldap_store_pad_hash(struct dms_ldap_store *store,
				    const struct dms_store_entry *entry,
				    unsigned int *times_r);

#endif
