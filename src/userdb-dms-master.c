/* The dms_master userdb: the last userdb of the chain. For a session that
   the dms_master passdb authorized, it checks the master's policy again
   for the user whose mail is actually opened (a passdb or userdb may have
   renamed the target, e.g. an alias canonicalized by SQL or LDAP), sets
   the read-only fields after every userdb that could have changed them,
   and writes the audit record of the session. Every other lookup passes
   through unchanged.

       userdb { driver = dms_master }

   Start-up refuses a configuration in which it would not run
   (dms_master_check_userdbs()). */

#include "auth-common.h"
#include "ioloop.h"
#include "userdb.h"

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
	/* added to the session's mail_plugins, whatever a protocol { } block
	   left in it: the ACL plugin enforces, dms_read_only refuses the rest
	   and fails closed when ACLs would not hold */
#ifdef DMS_DOVECOT_24
	/* 2.4: mail_plugins is a boollist, added to element by element
	   ("mail_plugins+" makes the mail process panic) */
	dms_master_set_session_field(request, "mail_plugins/acl", "yes");
	dms_master_set_session_field(request, "mail_plugins/dms_read_only",
				     "yes");
#else
	auth_request_set_userdb_field(request, "mail_plugins+",
				      " acl dms_read_only");
#endif
}

/* store=ldap: the policy the passdb found, from its field (the auth
   process does not wait for LDAP). Returns 0 with *entry_r, or -1. */
static int dms_master_session_policy(struct auth_request *request,
				     const char *master, const char *text,
				     struct dms_store_entry *entry_r,
				     struct dms_policy *policy_r)
{
	char error_buf[256];
	const char *error;

	i_zero(entry_r);
	if (text == NULL) {
		e_error(authdb_event(request), "dms_master: master %s: the "
			"passdb handed over no policy", master);
		return -1;
	}
	if (dms_policy_parse(t_strdup_noconst(text), TRUE, policy_r,
			     error_buf, sizeof(error_buf), &error) < 0) {
		e_error(authdb_event(request), "dms_master: master %s: "
			"policy %s: %s", master, text, error);
		return -1;
	}
	entry_r->name = master;
	entry_r->policy = policy_r;
	return 0;
}

static enum userdb_result
dms_master_session(struct auth_request *request, const char *store,
		   const char *master, const char *target,
		   const char *policy_text)
{
	struct dms_master_passdb_module *module =
		dms_master_passdb_find(store);
	const struct dms_store_entry *entry;
	struct dms_store_entry ldap_entry;
	struct dms_policy ldap_policy;
	const char *user = request->fields.user;
	struct dms_audit_record record = {
		.stage = "session",
		.master = master,
		.target = target,
		.user = user,
	};
	enum dms_policy_rule rule;

	if (module == NULL) {
		e_error(authdb_event(request), "dms_master: no dms_master "
			"passdb authorized master %s here", master);
		return USERDB_RESULT_INTERNAL_FAILURE;
	}
	if (module->ldap != NULL) {
		if (dms_master_session_policy(request, master, policy_text,
					      &ldap_entry, &ldap_policy) < 0) {
			record.result = "tempfail";
			record.rule = "store";
			(void)dms_master_audit(module, request, &record);
			return USERDB_RESULT_INTERNAL_FAILURE;
		}
		entry = &ldap_entry;
	} else if (dms_master_store_refresh(module, authdb_event(request)) < 0) {
		record.result = "tempfail";
		record.rule = "store";
		(void)dms_master_audit(module, request, &record);
		return USERDB_RESULT_INTERNAL_FAILURE;
	} else if (dms_store_lookup(module->store, master, &entry) == 0) {
		/* removed between the login and the session */
		record.result = "refused";
		record.rule = "unknown_master";
		e_info(authdb_event(request), "Master %s refused: no longer "
		       "in %s (user=%s)", master, module->path, user);
		(void)dms_master_audit(module, request, &record);
		return USERDB_RESULT_USER_UNKNOWN;
	}
	record.read_only = entry->policy->read_only;
	if (!dms_policy_check(entry->policy, &module->default_services, user,
			      DMS_REQUEST_SERVICE(request), ioloop_time, &rule,
			      &record.pattern)) {
		record.result = "refused";
		record.rule = dms_policy_rule_name(rule);
		e_info(authdb_event(request), "Master %s refused by rule %s: "
		       "%s (target=%s user=%s service=%s)", master, record.rule,
		       dms_policy_refusal(rule), target, user,
		       DMS_REQUEST_SERVICE(request));
		(void)dms_master_audit(module, request, &record);
		return USERDB_RESULT_USER_UNKNOWN;
	}
	record.rule = dms_policy_rule_name(rule);
	record.result = "ok";
	if (dms_master_audit(module, request, &record) < 0)
		return USERDB_RESULT_INTERNAL_FAILURE;
	if (entry->policy->read_only)
		dms_master_set_read_only(request);
	return USERDB_RESULT_OK;
}

static void dms_master_userdb_lookup(struct auth_request *request,
				     userdb_callback_t *callback)
{
	struct auth_fields *reply = request->fields.userdb_reply;
	const char *master, *target, *store, *policy;
	enum userdb_result result;

	master = reply == NULL ? NULL : auth_fields_find(reply, DMS_FIELD_MASTER);
	if (master == NULL || request->fields.master_user == NULL) {
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
		target = auth_fields_find(reply, DMS_FIELD_TARGET);
		store = auth_fields_find(reply, DMS_FIELD_STORE);
		policy = auth_fields_find(reply, DMS_FIELD_POLICY);
		policy = policy == NULL ? NULL : t_strdup(policy);
		master = t_strdup(master);
		target = t_strdup(target == NULL ? "" : target);
		store = t_strdup(store == NULL ? "" : store);
		auth_fields_remove(reply, DMS_FIELD_MASTER);
		auth_fields_remove(reply, DMS_FIELD_TARGET);
		auth_fields_remove(reply, DMS_FIELD_STORE);
		auth_fields_remove(reply, DMS_FIELD_POLICY);
		result = dms_master_session(request, store, master, target,
					    policy);
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
