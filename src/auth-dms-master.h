#ifndef AUTH_DMS_MASTER_H
#define AUTH_DMS_MASTER_H

/* What the dms_master passdb and userdb share inside Dovecot's auth
   process: the module (its store and settings), the store refresh and the
   audit record. */

#include "dms-audit.h"
#include "dms-grants.h"
#include "dms-totp.h"
#include "dms-policy.h"
#include "dms-password.h"
#include "dms-store.h"
#include "dms-ldap-config.h"
#include "dms-ldap-store.h"

struct auth_request;
struct event;

struct dms_master_passdb_module {
	struct passdb_module module;

	/* the master file; NULL with store=ldap */
	struct dms_store *store;
	/* the grants file beside it (store=ldap: none, always empty) */
	struct dms_grants *grants;
	/* the last read of the grants file failed */
	bool grants_failed;
	/* the TOTP secrets beside the store (store=ldap: none), and the
	   replay state file */
	struct dms_trusted_file totp_secrets;
	const char *totp_state;
	/* store=ldap: the directory (made at init, from what preinit read
	   as root: the settings file and the bind password) */
	struct dms_ldap_store *ldap;
	struct dms_ldap_config ldap_config;
	char *ldap_password;
	/* the store file, or the LDAP settings file */
	const char *path;
	const char *username_format;
	/* JSON lines of audit records; NULL: the log only */
	const char *audit_file;
	/* what the site sets for every master (default_services,
	   protected, ports), parsed and as canonical text for the session
	   service */
	struct dms_policy_site site;
	const char *site_text;
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
/* store=ldap: the grant that opened the target, as a grants file line */
#define DMS_FIELD_GRANT "dms_master_grant"
/* store=ldap: the master's policy as the passdb found it (the userdb
   runs in the auth process, which must not wait for LDAP) */
#define DMS_FIELD_POLICY "dms_master_policy"

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

/* Look NAME up in the module's store: the file (refreshed first) or the
   directory (within the cache's bound). Returns 1 with *entry_r (valid
   until the next lookup), 0 for no such master, -1 when the store cannot
   answer (logged on EVENT). */
int dms_master_store_lookup(struct dms_master_passdb_module *module,
			    struct event *event, const char *name,
			    const struct dms_store_entry **entry_r);
/* The store's dms_store_dummy_hash() and dms_store_pad_hash(). */
const char *dms_master_dummy_hash(struct dms_master_passdb_module *module);
const char *dms_master_pad_hash(struct dms_master_passdb_module *module,
				const struct dms_store_entry *entry,
				unsigned int *times_r);
/* Where ENTRY came from, for log lines: "FILE:LINE" or "LDAP (FILE)". */
const char *dms_master_entry_origin(struct dms_master_passdb_module *module,
				    const struct dms_store_entry *entry);

/* store=ldap: read the settings file and the bind password (preinit, as
   root), then make the store (init); i_fatal() on a bad file. */
void dms_master_ldap_preinit(struct dms_master_passdb_module *module);
void dms_master_ldap_init(struct dms_master_passdb_module *module);

/* Log, send as the event dms_master_login and (with audit_file) write the
   audit record. Returns -1 when audit_file could not be written (the
   record's result is then tempfail). */
int dms_master_audit(struct dms_master_passdb_module *module,
		     struct auth_request *request,
		     struct dms_audit_record *record);

/* What a stage after the master passdb decided. */
enum dms_master_stage_result {
	/* not a master login the dms_master passdb authorized */
	DMS_MASTER_STAGE_NONE,
	DMS_MASTER_STAGE_OK,
	DMS_MASTER_STAGE_REFUSED,
	DMS_MASTER_STAGE_TEMPFAIL,
};

/* What the session gets from the master's policy. */
struct dms_master_session_policy {
	bool read_only;
	/* the grant that opened the target, and its reason; NULL: none */
	const char *grant, *grant_reason;
	/* the master's own choices; DEFAULT: the site's */
	enum dms_policy_record record;
	enum dms_policy_notify notify_owner;
};

/* For a master login the dms_master passdb authorized (its
   userdb_dms_master* fields in the reply), check the master's policy again
   for the user the request has now (a passdb or userdb may have renamed
   the target since), and audit it as STAGE: "check" at the end of the
   passdb chain (dms_master_check), "session" in the dms_master userdb.
   OK: *policy_r says what the session gets. REFUSED (logged and
   audited): *reason_r is what the client may be told. */
enum dms_master_stage_result
dms_master_stage(struct auth_request *request, const char *stage,
		 struct dms_master_session_policy *policy_r,
		 const char **reason_r);

/* What a client is told when the policy refuses. */
const char *dms_policy_refusal(enum dms_policy_rule rule);
/* The login of REQUEST to check against a master's policy, for TARGET
   (NULL: not known yet). */
void dms_master_policy_login(struct auth_request *request, const char *target,
			     struct dms_policy_login *login_r);
/* Whether MASTER (with POLICY) may open TARGET in REQUEST: its policy,
   the site's, and the grants (dms-grants.h). 1: allowed, 0: refused, -1:
   a grant is needed and the grants file cannot be read (logged). Sets
   RECORD's rule, pattern, grant and reason; *rule_r is the rule.
   LDAP_GRANTS: store=ldap, the master's grants (grants file lines); NULL:
   the grants file. When a grant opened the target, *grant_line_r below
   is its line (data stack), for the userdb (which must not wait for
   LDAP); else NULL. GRANT_LINE_R may be NULL. */
int dms_master_access(struct dms_master_passdb_module *module,
		      struct auth_request *request, const char *master,
		      const struct dms_policy *policy, const char *target,
		      const char *ldap_grants, struct dms_audit_record *record,
		      enum dms_policy_rule *rule_r, const char **grant_line_r);

/* Checks at auth start-up that every auth with MODULE ends its userdbs
   with the dms_master userdb and, when the passdb goes on to look the
   target up, its passdbs with dms_master_check, each reached after every
   ordinary one and with rules that cannot turn its refusals into logins;
   i_fatal() naming the setting otherwise. */
void dms_master_check_chain(const struct passdb_module *module);

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
