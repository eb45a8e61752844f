#ifndef AUTH_DMS_MASTER_H
#define AUTH_DMS_MASTER_H

/* What the dms_master passdb and userdb share inside Dovecot's auth
   process: the module (its store and settings), the store refresh and the
   audit record. */

#include "dms-audit.h"
#include "dms-policy.h"
#include "dms-password.h"
#include "dms-store.h"

struct auth_request;
struct event;

struct dms_master_passdb_module {
	struct passdb_module module;

	struct dms_store *store;
	const char *path;
	const char *username_format;
	/* JSON lines of audit records; NULL: the log only */
	const char *audit_file;
	/* services of masters without dms_services= */
	struct dms_policy_list default_services;
	/* who besides root may own the store and the audit file */
	struct dms_path_trust trust;
	enum dms_scheme scheme;
	char separator;
	/* username_format is plain %u: no expansion needed */
	bool format_is_user;
	/* the last refresh failed: log when the store is back */
	bool store_failed;
	/* an ldap passdb would bind as the target with the master's
	   password (auth-dms-ldap-bind.c): master logins are refused */
	char *ldap_bind_problem;
};

/* userdb fields the passdb sets on a master login it authorized, for the
   dms_master userdb: the master's name in the store and the target it
   was authorized for. The userdb removes them: the mail process gets
   only dms_read_only=yes for read-only sessions. */
#define DMS_FIELD_MASTER "dms_master"
#define DMS_FIELD_TARGET "dms_master_target"
/* and the store it was found in, which names the passdb */
#define DMS_FIELD_STORE "dms_master_store"

/* The ACL group of read-only sessions: conf.d/dms-master-read-only.acl
   takes every right but lookup and read from it (negative rights of a
   global group-override beat every other rule). */
#define DMS_READ_ONLY_ACL_GROUP "dms-master-read-only"

/* The passdb modules of this process, for the userdb. */
void dms_master_passdb_register(struct dms_master_passdb_module *module);
void dms_master_passdb_unregister(struct dms_master_passdb_module *module);
struct dms_master_passdb_module *dms_master_passdb_find(const char *path);

/* The user and group besides root that may own and write the store, the
   audit file and the directories above them: the auth process's. */
void dms_master_trust(struct dms_path_trust *trust_r);

int dms_master_store_refresh(struct dms_master_passdb_module *module,
			     struct event *event);

/* Log, send as the event dms_master_login and (with audit_file) write the
   audit record. Returns -1 when audit_file could not be written (the
   record's result is then tempfail). */
int dms_master_audit(struct dms_master_passdb_module *module,
		     struct auth_request *request,
		     struct dms_audit_record *record);

/* What a client is told when the policy refuses. */
const char *dms_policy_refusal(enum dms_policy_rule rule);

/* Checks at auth start-up that every auth with a dms_master passdb ends
   its userdbs with the dms_master userdb, reached after every ordinary
   one; i_fatal() otherwise. */
void dms_master_check_userdbs(const struct passdb_module *module);

struct auth;
/* Whether AUTH has MODULE among its passdbs or master passdbs. */
bool dms_auth_uses_passdb(const struct auth *auth,
			  const struct passdb_module *module);

/* Which ordinary ldap passdb would bind to LDAP as a master login's
   target with the master's password (auth_bind with a DN template), or
   NULL. i_strdup()ed. 2.3 reads the passdbs' args files (call it at
   preinit, as root); 2.4 their settings, after every passdb's preinit. */
#ifdef DMS_DOVECOT_24
char *dms_master_ldap_bind_problem(const struct passdb_module *module);
#else
char *dms_master_ldap_bind_problem(void);
#endif

#endif
