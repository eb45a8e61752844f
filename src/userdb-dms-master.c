/* The dms_master userdb: the last userdb of the chain. For a session that
   the dms_master passdb authorized, it checks the master's policy again
   for the user whose mail is actually opened (a passdb or userdb may have
   renamed the target, e.g. an alias canonicalized by SQL or LDAP), sets
   the read-only fields after every userdb that could have changed them,
   and writes the audit record of the session. Every other lookup passes
   through unchanged.

       userdb { driver = dms_master }

   Start-up refuses a configuration in which it would not run
   (dms_master_check_chain()). */

#include "auth-common.h"
#include "userdb.h"
#include "str.h"

#include "auth-dms-master.h"
#include "dovecot-compat.h"

/* KEY=VALUE in the session's userdb reply, so that it holds for the
   session. 2.4 applies a plain userdb setting after the configuration's
   filters, so a protocol { } or remote { } block's own (e.g. protocol imap
   { imap_metadata = yes }) would win; "*" + "/KEY" is applied before every
   filter. The plain key is set too, replacing what an earlier userdb
   returned. (2.3: userdb fields override every setting already.) */
static void
dms_master_set_session_field(struct auth_request *request, const char *key,
			     const char *value)
{
	auth_request_set_userdb_field(request, key, value);
#ifdef DMS_DOVECOT_24
	auth_request_set_userdb_field(request, t_strconcat("*/", key, NULL),
				      value);
#endif
}

/* The negative rights of DMS_READ_ONLY_ACL_GROUP take away what the target
   may change; joining the group keeps the target's own groups, so the
   session sees exactly what the target sees. */
static void dms_master_set_read_only(struct auth_request *request)
{
	struct auth_fields *reply = request->fields.userdb_reply;
	const char *groups = auth_fields_find(reply, "acl_groups");

	groups = groups == NULL || groups[0] == '\0' ?
		DMS_READ_ONLY_ACL_GROUP :
		t_strconcat(groups, ",", DMS_READ_ONLY_ACL_GROUP, NULL);
	dms_master_set_session_field(request, "acl_groups", groups);
	/* the target's ACL identity, as in its own sessions (the ACL plugin
	   would otherwise use the master's name) */
	if (auth_fields_find(reply, "acl_user") == NULL) {
		dms_master_set_session_field(request, "acl_user",
					     request->fields.user);
	}
	/* SETMETADATA is not under ACL rights for server metadata */
	dms_master_set_session_field(request, "imap_metadata", "no");
	dms_master_set_session_field(request, "dms_read_only", "yes");
}

/* Every master session is recorded (src/mail-dms-session.c): the plugins
   are added to the session's mail_plugins, whatever a protocol { } block
   left in it. Read-only sessions get the ACL plugin, which enforces, and
   dms_read_only, which refuses the rest and fails closed when ACLs would
   not hold. */
/* "file:PATH" or "ldap:PATH", and the default services: what the
   dms-session service needs to check the session's master again while it
   lasts, with the store and defaults the passdb authorized it with. */
static const char *
dms_master_store_spec(const struct dms_master_passdb_module *module)
{
	return t_strconcat(module->ldap != NULL ? "ldap:" : "file:",
			   module->path, NULL);
}

static void
dms_master_set_plugins(struct auth_request *request, const char *master,
		       const struct dms_master_passdb_module *module,
		       const struct dms_master_session_policy *policy)
{
	bool read_only = policy->read_only;

	dms_master_set_session_field(request, "dms_session_master", master);
	dms_master_set_session_field(request, "dms_session_store",
				     dms_master_store_spec(module));
	dms_master_set_session_field(request, "dms_session_site",
				     module->site_text);
	if (policy->grant != NULL) {
		/* for the session's records and the owner's notice */
		dms_master_set_session_field(request, "dms_session_grant",
					     policy->grant);
		dms_master_set_session_field(request,
			"dms_session_grant_reason", policy->grant_reason);
	}
	/* the master's own choices over the site's */
	if (policy->record != DMS_POLICY_RECORD_DEFAULT) {
		dms_master_set_session_field(request, "dms_session_record",
			dms_policy_record_name(policy->record));
	}
	if (policy->notify_owner != DMS_POLICY_NOTIFY_DEFAULT) {
		dms_master_set_session_field(request, "dms_session_notify",
			dms_policy_notify_name(policy->notify_owner));
	}
	/* an IMAP session moved to imap-hibernate would leave its mail
	   process, and the plugin with it: it could not be ended */
	dms_master_set_session_field(request, "imap_hibernate_timeout", "0");
#ifdef DMS_DOVECOT_24
	/* 2.4: mail_plugins is a boollist, added to element by element
	   ("mail_plugins+" makes the mail process panic) */
	dms_master_set_session_field(request, "mail_plugins/notify", "yes");
	dms_master_set_session_field(request, "mail_plugins/dms_session",
				     "yes");
	if (read_only) {
		dms_master_set_session_field(request, "mail_plugins/acl",
					     "yes");
		dms_master_set_session_field(request,
			"mail_plugins/dms_read_only", "yes");
	}
#else
	auth_request_set_userdb_field(request, "mail_plugins+",
		read_only ? " notify dms_session acl dms_read_only" :
		" notify dms_session");
#endif
}

static void dms_master_userdb_lookup(struct auth_request *request,
				     userdb_callback_t *callback)
{
	struct auth_fields *reply = request->fields.userdb_reply;
	enum dms_master_stage_result stage;
	enum userdb_result result = USERDB_RESULT_OK;
	const struct dms_master_passdb_module *module;
	const char *reason, *master, *store;
	struct dms_master_session_policy policy;

	if (reply == NULL || auth_fields_find(reply, DMS_FIELD_MASTER) == NULL ||
	    request->fields.master_user == NULL) {
		/* not a session of ours: leave the chain's result as the
		   userdbs before us made it */
		callback(request->userdb_success ? USERDB_RESULT_OK :
			 USERDB_RESULT_USER_UNKNOWN, request);
		return;
	}
	if (!request->userdb_success) {
		/* no userdb found the user: Dovecot fails the session */
		callback(USERDB_RESULT_USER_UNKNOWN, request);
		return;
	}

	T_BEGIN {
		master = t_strdup(auth_fields_find(reply, DMS_FIELD_MASTER));
		store = auth_fields_find(reply, DMS_FIELD_STORE);
		module = store == NULL ? NULL : dms_master_passdb_find(store);
		stage = dms_master_stage(request, "session", &policy,
					 &reason);
		/* the mail process gets none of them */
		auth_fields_remove(reply, DMS_FIELD_MASTER);
		auth_fields_remove(reply, DMS_FIELD_TARGET);
		auth_fields_remove(reply, DMS_FIELD_STORE);
		auth_fields_remove(reply, DMS_FIELD_POLICY);
		auth_fields_remove(reply, DMS_FIELD_GRANT);
		switch (stage) {
		case DMS_MASTER_STAGE_NONE:
		case DMS_MASTER_STAGE_TEMPFAIL:
			result = USERDB_RESULT_INTERNAL_FAILURE;
			break;
		case DMS_MASTER_STAGE_REFUSED:
			/* both Dovecot versions' login processes tell the
			   client only "internal error" at this stage: the
			   passdb chain's dms_master_check refuses renames
			   made there with a real answer */
			result = USERDB_RESULT_USER_UNKNOWN;
			break;
		case DMS_MASTER_STAGE_OK:
			if (policy.read_only)
				dms_master_set_read_only(request);
			/* the stage found the module (else no OK) */
			i_assert(module != NULL);
			dms_master_set_plugins(request, master, module,
					       &policy);
			break;
		}
	} T_END;
	if (result != USERDB_RESULT_OK) {
		/* end the chain as a failure: the userdbs before us said
		   yes to a user this master may not open */
		request->userdb_success = FALSE;
	}
	callback(result, request);
}

struct userdb_module_interface userdb_dms_master = {
	.name = "dms_master",
	.lookup = dms_master_userdb_lookup,
};
