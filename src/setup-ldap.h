#ifndef SETUP_LDAP_H
#define SETUP_LDAP_H

#include <stdbool.h>
#include "setup-options.h"

/* `setup dovecot-master add|update|del|list` against masters kept in
   LDAP (--ldap FILE, the module's own settings file). Each change is one
   LDAP operation (add, modify of only the attributes given, delete), so
   that two administrators never undo each other's change. Binds as
   admin_bind_dn when the file has one, else as bind_dn. Return the
   command's exit status (0, 1; usage errors are the caller's). */

struct setup_ldap;

/* NULL, with the error printed after PROG, when the file is bad. */
struct setup_ldap *setup_ldap_open(const char *prog, const char *path);
void setup_ldap_close(struct setup_ldap **ldap);

/* ADD: a new master NAME with HASH ("{SCHEME}..."); else an update of
   NAME: HASH when not NULL and the policy options given. */
int setup_ldap_set(struct setup_ldap *ldap, bool add, const char *name,
		   const char *hash, const struct setup_options *opts);
int setup_ldap_del(struct setup_ldap *ldap, const char *name);
/* Enrol NAME for TOTP: SECRET in dmsTotpSecret, dmsTotp TRUE, and no
   step used yet, in one modify. */
int setup_ldap_totp(struct setup_ldap *ldap, const char *name,
		    const char *secret);
int setup_ldap_list(struct setup_ldap *ldap);

struct dms_policy;
/* Each master in the directory, as the module would read it (entries it
   refuses are warned about and skipped). Returns the number of entries,
   or -1 (printed). */
typedef void setup_ldap_master_cb(void *context, const char *name,
				  const struct dms_policy *policy);
int setup_ldap_masters(struct setup_ldap *ldap,
		       setup_ldap_master_cb *callback, void *context);

/* NAME's entry as a one-master store, as the module reads it: NULL with
   *ret_r 0 (no such master) or -1 (printed). */
struct dms_store *setup_ldap_master_store(struct setup_ldap *ldap,
					  const char *name, int *ret_r);
/* Every grant (dmsGrant value) of every master entry, with its DN.
   Returns 0, or -1 (printed). */
typedef void setup_ldap_grant_cb(void *context, const char *dn,
				 const char *value);
int setup_ldap_grants(struct setup_ldap *ldap, setup_ldap_grant_cb *callback,
		      void *context);
/* One modify of the entry DN (NULL: master NAME's): delete the grant
   value OLD, add NEW_VALUE (either may be NULL). Fails, writing nothing,
   when OLD is no longer there. Returns 0, or -1 (printed). */
int setup_ldap_grant_change(struct setup_ldap *ldap, const char *dn,
			    const char *name, const char *old,
			    const char *new_value);

#endif
