/* auth_master_dms.so: the module's entry points and what the dms_master
   passdb and userdb share (the store refresh, the audit record, the
   start-up check of the userdb chain). */

#include "auth-common.h"
#include "array.h"
#include "ioloop.h"
#include "passdb.h"
#include "userdb.h"
#include "module-dir.h"
#include "auth.h"

#include <pwd.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth-dms-master.h"
#include "dovecot-compat.h"

extern struct passdb_module_interface passdb_dms_master;
extern struct passdb_module_interface passdb_dms_master_check;
extern struct userdb_module_interface userdb_dms_master;

static ARRAY(struct dms_master_passdb_module *) dms_passdbs;

void dms_master_passdb_register(struct dms_master_passdb_module *module)
{
	if (!array_is_created(&dms_passdbs))
		i_array_init(&dms_passdbs, 4);
	array_push_back(&dms_passdbs, &module);
}

void dms_master_passdb_unregister(struct dms_master_passdb_module *module)
{
	struct dms_master_passdb_module *const *modp;

	if (!array_is_created(&dms_passdbs))
		return;
	array_foreach(&dms_passdbs, modp) {
		if (*modp == module) {
			array_delete(&dms_passdbs,
				     array_foreach_idx(&dms_passdbs, modp), 1);
			break;
		}
	}
	if (array_count(&dms_passdbs) == 0)
		array_free(&dms_passdbs);
}

struct dms_master_passdb_module *dms_master_passdb_find(const char *path)
{
	struct dms_master_passdb_module *module;

	if (!array_is_created(&dms_passdbs))
		return NULL;
	array_foreach_elem(&dms_passdbs, module) {
		if (strcmp(module->path, path) == 0)
			return module;
	}
	return NULL;
}

void dms_master_trust(struct dms_path_trust *trust_r)
{
	const char *socket_path;
	struct passwd *pw;
	struct stat st;

	trust_r->uid = geteuid();
	trust_r->gid = getegid();
	if (trust_r->uid != 0)
		return;
	/* root's auth-workers (blocking=yes) share the files with the auth
	   process, whose user (default_internal_user) owns the auth-worker
	   socket it connects to */
	socket_path = t_strconcat(global_auth_settings->base_dir,
				  "/auth-worker", NULL);
	if (stat(socket_path, &st) < 0 || st.st_uid == 0) {
		e_debug(auth_event, "passdb dms_master: %s: no auth user "
			"found; only root may own the store's path",
			socket_path);
		return;
	}
	pw = getpwuid(st.st_uid);
	trust_r->uid = st.st_uid;
	trust_r->gid = pw != NULL ? pw->pw_gid : 0;
}

static void dms_master_store_warning(void *context, unsigned int line,
				     const char *message)
{
	struct dms_master_passdb_module *module = context;

	if (line == 0) {
		i_warning("passdb dms_master: %s: %s", module->path, message);
	} else {
		i_warning("passdb dms_master: %s:%u: %s",
			  module->path, line, message);
	}
}

int dms_master_store_refresh(struct dms_master_passdb_module *module,
			     struct event *event)
{
	const char *error;
	int ret;

	ret = dms_store_refresh(module->store, dms_master_store_warning,
				module, &error);
	if (ret < 0) {
		e_error(event, "passdb dms_master: %s: "
			"master logins fail until the store can be read", error);
		module->store_failed = TRUE;
		return -1;
	}
	if (ret > 0) {
		/* timed now, not at the first unknown name: that would
		   make it the slow one */
		(void)dms_store_dummy_hash(module->store);
		e_info(event, "passdb dms_master: Loaded %zu master users "
		       "from %s%s", dms_store_count(module->store),
		       module->path, module->store_failed ?
		       " (store readable again)" : "");
		module->store_failed = FALSE;
	}
	return 0;
}

static uint64_t dms_monotonic_msec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int dms_master_store_lookup(struct dms_master_passdb_module *module,
			    struct event *event, const char *name,
			    const struct dms_store_entry **entry_r)
{
	char error[1024];
	int ret;

	if (module->ldap == NULL) {
		if (dms_master_store_refresh(module, event) < 0)
			return -1;
		return dms_store_lookup(module->store, name, entry_r);
	}
	ret = dms_ldap_store_lookup(module->ldap, name, dms_monotonic_msec(),
				    entry_r, error, sizeof(error));
	if (ret < 0) {
		e_error(event, "passdb dms_master: master %s: %s (temporary "
			"failure)", name, error);
		module->store_failed = TRUE;
		return -1;
	}
	if (module->store_failed) {
		e_info(event, "passdb dms_master: LDAP answers again (%s)",
		       module->path);
		module->store_failed = FALSE;
	}
	return ret;
}

const char *dms_master_dummy_hash(struct dms_master_passdb_module *module)
{
	return module->ldap != NULL ? dms_ldap_store_dummy_hash(module->ldap) :
		dms_store_dummy_hash(module->store);
}

const char *dms_master_pad_hash(struct dms_master_passdb_module *module,
				const struct dms_store_entry *entry,
				unsigned int *times_r)
{
	return module->ldap != NULL ?
		dms_ldap_store_pad_hash(module->ldap, entry, times_r) :
		dms_store_pad_hash(module->store, entry, times_r);
}

const char *dms_master_entry_origin(struct dms_master_passdb_module *module,
				    const struct dms_store_entry *entry)
{
	if (module->ldap != NULL)
		return t_strdup_printf("LDAP (%s)", module->path);
	return t_strdup_printf("%s:%u", module->path, entry->line);
}

void dms_master_ldap_preinit(struct dms_master_passdb_module *module)
{
	struct dms_path_trust trust;
	char error[1024];

	/* the settings file decides who is a master: trusted as the file
	   store is (root's, or the auth process user's, all the way) */
	dms_master_trust(&trust);
	if (dms_ldap_config_read(module->path, &trust, &module->ldap_config,
				 error, sizeof(error)) < 0)
		i_fatal("passdb dms_master: %s", error);
	if (module->ldap_config.bind_password_file != NULL &&
	    dms_ldap_password_read(module->ldap_config.bind_password_file,
				   &trust, &module->ldap_password,
				   error, sizeof(error)) < 0)
		i_fatal("passdb dms_master: bind_password_file: %s", error);
	if (dms_ldap_config_paths_check(&module->ldap_config, error,
					sizeof(error)) < 0)
		i_fatal("passdb dms_master: %s: %s", module->path, error);
}

void dms_master_ldap_init(struct dms_master_passdb_module *module)
{
	/* searches wait for the directory: never in the auth process */
	module->module.blocking = TRUE;
	module->ldap = dms_ldap_store_new(&module->ldap_config,
					  module->ldap_password, module->scheme);
	if (module->ldap_password != NULL) {
		dms_wipe(module->ldap_password, strlen(module->ldap_password));
		free(module->ldap_password);
		module->ldap_password = NULL;
	}
	if (module->ldap == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "passdb dms_master: Out of memory");
	e_debug(auth_event, "passdb dms_master: masters from LDAP (%s), "
		"looked up in auth-workers, cached for %u s",
		module->path, dms_ldap_store_config(module->ldap)->cache_ttl_secs);
}

int dms_master_audit(struct dms_master_passdb_module *module,
		     struct auth_request *request,
		     struct dms_audit_record *record)
{
	const char *error;
	char *text, *json;
	struct event *event;
	int ret = 0;

	record->time_usec = (int64_t)ioloop_timeval.tv_sec * 1000000 +
		ioloop_timeval.tv_usec;
	record->service = DMS_REQUEST_SERVICE(request);
	record->remote_ip = request->fields.remote_ip.family == 0 ? NULL :
		net_ip2addr(&request->fields.remote_ip);
	record->session = request->fields.session_id;

	if (module->audit_file != NULL) {
		json = dms_audit_json(record);
		if (json == NULL ||
		    dms_audit_append(module->audit_file, &module->trust, json,
				     &error) < 0) {
			e_error(authdb_event(request), "dms_master: audit_file: "
				"%s: master logins fail until it can be written",
				json == NULL ? "Out of memory" : error);
			if (strcmp(record->result, "authenticated") == 0 ||
			    strcmp(record->result, "credentials") == 0 ||
			    strcmp(record->result, "ok") == 0) {
				/* no audit, no access */
				record->result = "tempfail";
				record->rule = "audit_file";
			}
			ret = -1;
		}
		free(json);
	}

	/* a named event: Dovecot's statistics can count master logins with
	   metric { filter = event=dms_master_login } */
	event = event_create(authdb_event(request));
	event_set_name(event, "dms_master_login");
	event_add_str(event, "stage", record->stage);
	event_add_str(event, "master", record->master);
	if (record->target != NULL)
		event_add_str(event, "target", record->target);
	if (record->user != NULL)
		event_add_str(event, "user", record->user);
	if (record->service != NULL)
		event_add_str(event, "service", record->service);
	if (record->remote_ip != NULL)
		event_add_str(event, "remote_ip", record->remote_ip);
	event_add_str(event, "result", record->result);
	event_add_str(event, "rule", record->rule);
	if (record->pattern != NULL)
		event_add_str(event, "pattern", record->pattern);
	event_add_str(event, "read_only", record->read_only ? "yes" : "no");

	text = dms_audit_text(record);
	e_info(event, "dms_master audit: %s",
	       text == NULL ? "(out of memory)" : text);
	free(text);
	event_unref(&event);
	return ret;
}

/* store=ldap: the policy the passdb found, from its field (the later
   stages run in the auth process, which must not wait for LDAP).
   Returns 0 with *entry_r, or -1 (logged). */
static int dms_master_handed_policy(struct auth_request *request,
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

enum dms_master_stage_result
dms_master_stage(struct auth_request *request, const char *stage,
		 struct dms_master_session_policy *policy_r,
		 const char **reason_r)
{
	struct auth_fields *reply = request->fields.userdb_reply;
	const char *master, *target, *store, *policy_text, *grant_line;
	struct dms_master_passdb_module *module;
	const struct dms_store_entry *entry;
	struct dms_store_entry ldap_entry;
	struct dms_policy ldap_policy;
	const char *user = request->fields.user;
	struct dms_audit_record record = {
		.stage = stage,
		.user = user,
	};
	enum dms_policy_rule rule;
	int access;

	i_zero(policy_r);
	master = reply == NULL ? NULL :
		auth_fields_find(reply, DMS_FIELD_MASTER);
	if (master == NULL || request->fields.master_user == NULL)
		return DMS_MASTER_STAGE_NONE;
	/* copies: the userdb removes the fields after this */
	master = record.master = t_strdup(master);
	target = auth_fields_find(reply, DMS_FIELD_TARGET);
	target = record.target = t_strdup(target == NULL ? "" : target);
	store = auth_fields_find(reply, DMS_FIELD_STORE);
	policy_text = auth_fields_find(reply, DMS_FIELD_POLICY);
	policy_text = policy_text == NULL ? NULL : t_strdup(policy_text);
	grant_line = auth_fields_find(reply, DMS_FIELD_GRANT);
	grant_line = t_strdup(grant_line == NULL ? "" : grant_line);

	module = store == NULL ? NULL : dms_master_passdb_find(store);
	if (module == NULL) {
		e_error(authdb_event(request), "dms_master: no dms_master "
			"passdb authorized master %s here", master);
		return DMS_MASTER_STAGE_TEMPFAIL;
	}
	if (module->ldap != NULL) {
		if (dms_master_handed_policy(request, master, policy_text,
					     &ldap_entry, &ldap_policy) < 0) {
			record.result = "tempfail";
			record.rule = "store";
			(void)dms_master_audit(module, request, &record);
			return DMS_MASTER_STAGE_TEMPFAIL;
		}
		entry = &ldap_entry;
	} else if (dms_master_store_refresh(module, authdb_event(request)) < 0) {
		record.result = "tempfail";
		record.rule = "store";
		(void)dms_master_audit(module, request, &record);
		return DMS_MASTER_STAGE_TEMPFAIL;
	} else if (dms_store_lookup(module->store, master, &entry) == 0) {
		/* removed since the login */
		record.result = "refused";
		record.rule = "unknown_master";
		e_info(authdb_event(request), "Master %s refused: no longer "
		       "in %s (user=%s)", master, module->path, user);
		(void)dms_master_audit(module, request, &record);
		*reason_r = "Master account no longer exists";
		return DMS_MASTER_STAGE_REFUSED;
	}
	record.read_only = entry->policy->read_only;
	/* store=ldap: the grant the passdb found, if one opened it */
	access = dms_master_access(module, request, master, entry->policy,
				   user, module->ldap != NULL ? grant_line :
				   NULL, &record, &rule, NULL);
	if (access < 0) {
		record.result = "tempfail";
		(void)dms_master_audit(module, request, &record);
		return DMS_MASTER_STAGE_TEMPFAIL;
	}
	if (access == 0) {
		record.result = "refused";
		record.rule = dms_policy_rule_name(rule);
		e_info(authdb_event(request), "Master %s refused by rule %s: "
		       "%s (target=%s user=%s service=%s stage=%s)", master,
		       record.rule, dms_policy_refusal(rule), target, user,
		       DMS_REQUEST_SERVICE(request), stage);
		(void)dms_master_audit(module, request, &record);
		*reason_r = dms_policy_refusal(rule);
		return DMS_MASTER_STAGE_REFUSED;
	}
	record.result = "ok";
	if (dms_master_audit(module, request, &record) < 0)
		return DMS_MASTER_STAGE_TEMPFAIL;
	policy_r->grant = record.grant;
	policy_r->grant_reason = record.reason;
	policy_r->read_only = entry->policy->read_only;
	policy_r->record = entry->policy->record;
	policy_r->notify_owner = entry->policy->notify_owner;
	return DMS_MASTER_STAGE_OK;
}

/* The grants file, re-read when it changed; NULL when it cannot be
   used (logged): logins that need a grant then fail as temporary
   failures. */
static const struct dms_grants *
dms_master_grants(struct dms_master_passdb_module *module,
		  struct event *event)
{
	const char *error;
	int ret;

	if ((ret = dms_grants_refresh(module->grants, &error)) < 0) {
		e_error(event, "passdb dms_master: %s: master logins that need "
			"a grant fail until it can be read", error);
		module->grants_failed = TRUE;
		return NULL;
	}
	if (module->grants_failed) {
		e_info(event, "passdb dms_master: grants file readable again");
		module->grants_failed = FALSE;
	}
	/* once a read, not at every login */
	if (ret > 0 && dms_grants_skipped(module->grants) > 0) {
		e_warning(event, "passdb dms_master: %u lines of the grants "
			  "file are no grants (not in the form setup "
			  "writes)", dms_grants_skipped(module->grants));
	}
	return module->grants;
}

int dms_master_access(struct dms_master_passdb_module *module,
		      struct auth_request *request, const char *master,
		      const struct dms_policy *policy, const char *target,
		      const char *ldap_grants, struct dms_audit_record *record,
		      enum dms_policy_rule *rule_r, const char **grant_line_r)
{
	struct dms_policy_login login;
	const struct dms_grant *grant;
	struct dms_grants *entry_grants = NULL;
	const struct dms_grants *grants = NULL;
	bool allowed;
	int ret;

	if (grant_line_r != NULL)
		*grant_line_r = NULL;
	dms_master_policy_login(request, target, &login);
	allowed = dms_policy_check(policy, &module->site, &login, rule_r,
				   &record->pattern);
	if (!allowed && ldap_grants != NULL) {
		/* the entry's own (store=ldap); not parsable: none */
		entry_grants = dms_grants_from_buffer(ldap_grants,
						      strlen(ldap_grants));
		grants = entry_grants;
	} else if (!allowed) {
		grants = dms_master_grants(module, authdb_event(request));
	}
	ret = dms_grant_check(policy, allowed, grants, master, target,
			      login.now, rule_r, &grant);
	record->rule = dms_policy_rule_name(*rule_r);
	if (grant != NULL) {
		/* copies: the file may be read again before they are used */
		record->pattern = t_strdup(grant->target);
		record->grant = t_strdup(grant->id);
		record->reason = t_strdup(grant->reason);
		if (grant_line_r != NULL) {
			char *line = dms_grant_format(grant);

			if (line != NULL) {
				/* without its newline */
				*grant_line_r = t_strndup(line,
							  strlen(line) - 1);
				free(line);
			}
		}
	}
	dms_grants_free(&entry_grants);
	if (ret < 0) {
		e_error(authdb_event(request), "Master %s needs a grant to "
			"open %s, and the grants file cannot be read",
			master, target == NULL ? "" : target);
	}
	return ret;
}

void dms_master_policy_login(struct auth_request *request, const char *target,
			     struct dms_policy_login *login_r)
{
	i_zero(login_r);
	login_r->target = target;
	login_r->service = DMS_REQUEST_SERVICE(request);
	/* the listener the client reached (haproxy's or a proxy's
	   destination when trusted): a master limited to an internal port
	   is refused when it is not known */
	if (request->fields.local_ip.family != 0)
		login_r->local_ip = net_ip2addr(&request->fields.local_ip);
	login_r->local_port = request->fields.local_port;
	login_r->now = ioloop_time;
}

const char *dms_policy_refusal(enum dms_policy_rule rule)
{
	switch (rule) {
	case DMS_POLICY_RULE_DISABLED:
		return "Master account disabled";
	case DMS_POLICY_RULE_EXPIRES:
		return "Master account expired";
	case DMS_POLICY_RULE_SERVICES:
		return "Master login not allowed for this service";
	case DMS_POLICY_RULE_READ_ONLY:
		return "Read-only master: not allowed for this service";
	case DMS_POLICY_RULE_PORTS:
		return "Master login not allowed on this port";
	case DMS_POLICY_RULE_PROTECTED:
	case DMS_POLICY_RULE_DENY:
	case DMS_POLICY_RULE_GRANT:
		/* as a target dms_allow does not name: which rule is the
		   audit record's, not the client's */
		break;
	case DMS_POLICY_RULE_ALLOW:
		break;
	}
	return "Master login not allowed for this user";
}

static bool auth_has_passdb(const struct auth_passdb *passdb,
			    const struct passdb_module *module)
{
	for (; passdb != NULL; passdb = passdb->next) {
		if (passdb->passdb == module)
			return TRUE;
	}
	return FALSE;
}

bool dms_auth_uses_passdb(const struct auth *auth,
			  const struct passdb_module *module)
{
	return auth_has_passdb(auth->passdbs, module) ||
		auth_has_passdb(auth->masterdbs, module);
}

static const char *const dms_rule_names[] = {
	[AUTH_DB_RULE_RETURN] = "return",
	[AUTH_DB_RULE_RETURN_OK] = "return-ok",
	[AUTH_DB_RULE_RETURN_FAIL] = "return-fail",
	[AUTH_DB_RULE_CONTINUE] = "continue",
	[AUTH_DB_RULE_CONTINUE_OK] = "continue-ok",
	[AUTH_DB_RULE_CONTINUE_FAIL] = "continue-fail",
};

/* Whether RULE can end a chain with the success of an earlier db: the
   check after it would never run. */
static bool dms_rule_may_end_ok(enum auth_db_rule rule)
{
	return rule == AUTH_DB_RULE_RETURN || rule == AUTH_DB_RULE_RETURN_OK;
}

/* Why the dms_master userdb might not decide every session of AUTH (be
   skipped, or have its refusal overridden), or NULL when it always
   does. */
static const char *dms_master_userdb_problem(const struct auth *auth)
{
	const struct auth_userdb *userdb;

	for (userdb = auth->userdbs; userdb != NULL; userdb = userdb->next) {
		const char *name = DMS_USERDB_NAME(userdb);

		if (strcmp(userdb->userdb->iface->name,
			   userdb_dms_master.name) == 0) {
			if (userdb->next != NULL) {
				return "the dms_master userdb is not the last "
					"userdb: a userdb after it could rename "
					"the user or change its fields";
			}
			if (userdb->skip != AUTH_USERDB_SKIP_NEVER)
				return "the dms_master userdb has skip set";
			if (userdb->result_failure == AUTH_DB_RULE_RETURN_OK ||
			    userdb->result_failure == AUTH_DB_RULE_CONTINUE_OK) {
				return t_strdup_printf("the dms_master userdb "
					"has result_failure = %s, which would "
					"turn its refusals into sessions",
					dms_rule_names[userdb->result_failure]);
			}
			if (userdb->result_internalfail == AUTH_DB_RULE_RETURN_OK ||
			    userdb->result_internalfail == AUTH_DB_RULE_CONTINUE_OK) {
				return t_strdup_printf("the dms_master userdb "
					"has result_internalfail = %s, which "
					"would turn its failures into sessions",
					dms_rule_names[userdb->result_internalfail]);
			}
			return NULL;
		}
		if (userdb->result_success != AUTH_DB_RULE_CONTINUE &&
		    userdb->result_success != AUTH_DB_RULE_CONTINUE_OK) {
			return t_strdup_printf("userdb %s ends the lookup on "
				"success before the dms_master userdb: set "
				"result_success = continue-ok in it", name);
		}
		if (dms_rule_may_end_ok(userdb->result_failure)) {
			return t_strdup_printf("userdb %s has result_failure = "
				"%s, which ends the lookup before the "
				"dms_master userdb with an earlier userdb's "
				"success: use continue, continue-ok or "
				"return-fail", name,
				dms_rule_names[userdb->result_failure]);
		}
		if (dms_rule_may_end_ok(userdb->result_internalfail)) {
			return t_strdup_printf("userdb %s has "
				"result_internalfail = %s, which ends the "
				"lookup before the dms_master userdb with an "
				"earlier userdb's success: use continue, "
				"continue-ok or return-fail", name,
				dms_rule_names[userdb->result_internalfail]);
		}
	}
	return "there is no dms_master userdb";
}

static bool dms_is_check_passdb(const struct auth_passdb *passdb)
{
	return strcmp(passdb->passdb->iface.name,
		      passdb_dms_master_check.name) == 0;
}

/* The dms_master_check passdb's own rules: its failures must end the
   chain as failures, whatever an earlier passdb's continue-ok left. The
   defaults (continue) become return-fail. */
static const char *dms_master_check_passdb_problem(struct auth_passdb *check)
{
	enum auth_db_rule *rules[] = {
		&check->result_failure, &check->result_internalfail,
	};
	static const char *const rule_keys[] = {
		"result_failure", "result_internalfail",
	};

	if (check->skip != AUTH_PASSDB_SKIP_NEVER)
		return "the dms_master_check passdb has skip set";
	if (DMS_PASSDB_MECHANISMS(check) != NULL ||
	    check->username_filter != NULL) {
		return "the dms_master_check passdb has a mechanisms or "
			"username filter, which would skip it";
	}
	if (check->set->deny)
		return "the dms_master_check passdb has deny set";
	for (unsigned int i = 0; i < N_ELEMENTS(rules); i++) {
		if (*rules[i] == AUTH_DB_RULE_CONTINUE)
			*rules[i] = AUTH_DB_RULE_RETURN_FAIL;
		if (*rules[i] != AUTH_DB_RULE_RETURN_FAIL &&
		    *rules[i] != AUTH_DB_RULE_CONTINUE_FAIL) {
			return t_strdup_printf("the dms_master_check passdb "
				"has %s = %s, which would let its refusals "
				"or failures pass: leave it unset",
				rule_keys[i], dms_rule_names[*rules[i]]);
		}
	}
	return NULL;
}

/* Why the passdb chain of AUTH might end a master login that MODULE
   authorized without dms_master_check seeing the user the passdbs
   settled on, or NULL. */
static const char *
dms_master_passdb_problem(const struct auth *auth,
			  const struct passdb_module *module)
{
	const struct auth_passdb *ours = NULL, *passdb;
	struct auth_passdb *last = NULL;

	for (passdb = auth->masterdbs; passdb != NULL; passdb = passdb->next) {
		if (passdb->passdb == module)
			ours = passdb;
	}
	for (passdb = auth->passdbs; passdb != NULL; passdb = passdb->next) {
		if (passdb->passdb == module)
			ours = passdb;
	}
	i_assert(ours != NULL);
	if (ours->result_success == AUTH_DB_RULE_CONTINUE_OK) {
		return "the dms_master passdb has result_success = "
			"continue-ok, which counts a master login as found "
			"before any passdb found its target: use continue";
	}
	if (ours->result_success != AUTH_DB_RULE_CONTINUE &&
	    ours->result_success != AUTH_DB_RULE_CONTINUE_FAIL) {
		/* no passdb looks the target up after it: nothing can
		   rename it before the userdbs */
		return NULL;
	}
	for (passdb = auth->passdbs; passdb != NULL; passdb = passdb->next)
		last = (struct auth_passdb *)passdb;
	if (last == NULL || !dms_is_check_passdb(last)) {
		return "the last passdb is not dms_master_check: a passdb "
			"that renames the target (user=) would open a user "
			"outside the master's dms_allow on passdb-only logins "
			"(SMTP AUTH), and its refusals would look like "
			"outages: end the passdbs with passdb { driver = "
			"dms_master_check } (conf.d/auth-dms-userdb.conf.ext)";
	}
	for (passdb = auth->passdbs; passdb != last; passdb = passdb->next) {
		const char *name = DMS_PASSDB_NAME(passdb);

		if (dms_is_check_passdb(passdb))
			return "the dms_master_check passdb is not the last";
		if (passdb == ours)
			continue;
		/* a deny passdb never succeeds: a user it finds is refused
		   whatever its rules say */
		if (!passdb->set->deny &&
		    passdb->result_success != AUTH_DB_RULE_CONTINUE_OK &&
		    passdb->result_success != AUTH_DB_RULE_CONTINUE_FAIL &&
		    passdb->result_success != AUTH_DB_RULE_RETURN_FAIL) {
			return t_strdup_printf("passdb %s has result_success "
				"= %s, which %s before the dms_master_check "
				"passdb: set result_success = continue-ok in "
				"it", name,
				dms_rule_names[passdb->result_success],
				passdb->result_success == AUTH_DB_RULE_CONTINUE ?
				"would not count its success" :
				"ends the lookup");
		}
		if (dms_rule_may_end_ok(passdb->result_failure) ||
		    dms_rule_may_end_ok(passdb->result_internalfail)) {
			return t_strdup_printf("passdb %s has result_failure "
				"or result_internalfail = return or "
				"return-ok, which ends the lookup before the "
				"dms_master_check passdb with an earlier "
				"passdb's success: use continue, continue-ok "
				"or return-fail", name);
		}
	}
	return dms_master_check_passdb_problem(last);
}

void dms_master_check_chain(const struct passdb_module *module)
{
	struct auth *auth;
	const char *problem;

	array_foreach_elem(&auths, auth) {
		if (!dms_auth_uses_passdb(auth, module))
			continue;
		problem = dms_master_userdb_problem(auth);
		if (problem != NULL) {
			i_fatal("passdb dms_master: %s. The policy must hold "
				"for the user whose mail is opened: end the "
				"userdbs with userdb { driver = dms_master } "
				"(conf.d/auth-dms-userdb.conf.ext)", problem);
		}
		problem = dms_master_passdb_problem(auth, module);
		if (problem != NULL)
			i_fatal("passdb dms_master: %s", problem);
	}
}

const char *auth_master_dms_version = DOVECOT_ABI_VERSION;

void auth_master_dms_init(struct module *module);
void auth_master_dms_init(struct module *module ATTR_UNUSED)
{
	passdb_register_module(&passdb_dms_master);
	passdb_register_module(&passdb_dms_master_check);
	userdb_register_module(&userdb_dms_master);
}

void auth_master_dms_deinit(void);
void auth_master_dms_deinit(void)
{
	userdb_unregister_module(&userdb_dms_master);
	passdb_unregister_module(&passdb_dms_master_check);
	passdb_unregister_module(&passdb_dms_master);
}
