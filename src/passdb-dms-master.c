/* The dms_master passdb: Dovecot glue around the pure dms-* code.

   Used two ways (see conf.d/):
   - as a master passdb (master = yes): Dovecot splits "target*master"
     itself at auth_master_user_separator and asks us about the master;
   - self-splitting (an ordinary passdb): we split the name, verify the
     master and hand Dovecot "user" = master and "login_user" = target,
     after which Dovecot finishes the master login as in the first way.

   After the master's password, its policy (dms-policy.h) decides, and
   every attempt leaves an audit record: a log line, a named event and
   optionally a JSON line in audit_file. */

#include "auth-common.h"
#include "passdb.h"
#include "str.h"
#include "module-dir.h"
#include "ioloop.h"

#include "dms-audit.h"
#include "dms-policy.h"

#include "dms-args.h"
#include "dms-login.h"
#include "dms-password.h"
#include "dms-store.h"

struct dms_master_passdb_module {
	struct passdb_module module;

	struct dms_store *store;
	const char *path;
	const char *username_format;
	/* JSON lines of audit records; NULL: the log only */
	const char *audit_file;
	/* services of masters without dms_services= */
	struct dms_policy_list default_services;
	enum dms_scheme scheme;
	char separator;
	/* username_format is plain %u: no expansion needed */
	bool format_is_user;
	/* the last refresh failed: log when the store is back */
	bool store_failed;
};

/* What a request asks of the store. */
struct dms_master_login {
	/* the name looked up in the store, after username_format */
	const char *master;
	/* self-splitting: the unexpanded master and the target to hand to
	   Dovecot; NULL when Dovecot split the name itself */
	const char *master_user;
	const char *target;
	/* self-splitting: the name has the separator, so this passdb alone
	   decides it (dms_master_final()) */
	bool claimed;
};

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

static int dms_master_store_refresh(struct dms_master_passdb_module *module,
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
		e_info(event, "passdb dms_master: Loaded %zu master users "
		       "from %s%s", dms_store_count(module->store),
		       module->path, module->store_failed ?
		       " (store readable again)" : "");
		module->store_failed = FALSE;
	}
	return 0;
}

/* Work out which master the request is about. Returns 1 with *login_r,
   or 0 when the name is not a master login for us (USER_UNKNOWN), or -1
   on an internal error. */
static int
dms_master_get_login(struct dms_master_passdb_module *module,
		     struct auth_request *request,
		     struct dms_master_login *login_r)
{
	const char *user = request->fields.user, *error;
	struct dms_login parts;
	int ret;

	i_zero(login_r);
	if (request->fields.requested_login_user != NULL) {
		/* Dovecot split the name: user is the master */
		login_r->master = user;
	} else {
		ret = dms_login_split(user, module->separator, &parts, &error);
		if (ret == 0) {
			e_debug(authdb_event(request),
				"no '%c' in the name: not a master login",
				module->separator);
			return 0;
		}
		login_r->claimed = TRUE;
		if (ret < 0) {
			e_info(authdb_event(request),
			       "Invalid master login: %s", error);
			return 0;
		}
		login_r->target = t_strndup(parts.target, parts.target_len);
		login_r->master = login_r->master_user = parts.master;
	}

	if (!module->format_is_user) {
		const struct var_expand_table *table;
		/* in: extra entries wanted before the table's own */
		unsigned int count = 0;
		string_t *str = t_str_new(128);

		table = auth_request_get_var_expand_table_full(request,
				login_r->master, NULL, &count);
		if (auth_request_var_expand_with_table(str,
				module->username_format, request, table,
				NULL, &error) <= 0) {
			e_error(authdb_event(request),
				"Failed to expand username_format=%s: %s",
				module->username_format, error);
			return -1;
		}
		login_r->master = str_c(str);
	}
	return 1;
}

/* Look the master up. Returns 1 with *entry_r, 0 for an unknown master or
   a name that is no master login, -1 on an internal failure. */
static int
dms_master_lookup(struct auth_request *request,
		  struct dms_master_login *login_r,
		  const struct dms_store_entry **entry_r)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	int ret;

	if ((ret = dms_master_get_login(module, request, login_r)) <= 0)
		return ret;
	if (dms_master_store_refresh(module, authdb_event(request)) < 0)
		return -1;
	e_debug(authdb_event(request), "lookup: master=%s file=%s",
		login_r->master, module->path);
	return dms_store_lookup(module->store, login_r->master, entry_r);
}

static void dms_master_hand_over(struct auth_request *request,
				 const struct dms_master_login *login)
{
	if (login->target == NULL)
		return;
	/* Dovecot's auth_request_master_user_login_finish() takes it from
	   here: it logs "Master user logging in as", sets master_user and
	   runs the ordinary passdbs for the target */
	auth_request_set_field(request, "user", login->master_user, NULL);
	auth_request_set_field(request, "login_user", login->target, NULL);
}

/* The ACL identity of read-only sessions: conf.d/dms-master-read-only.acl
   gives it "lr" as user= and as group-override=, so either field alone,
   if a userdb overrode the other, still keeps the session read-only. */
#define DMS_READ_ONLY_ACL_ID "dms-master-read-only"

/* The target the master asks for, as Dovecot will use it. */
static const char *dms_master_target(struct auth_request *request,
				     const struct dms_master_login *login)
{
	return login->target != NULL ? login->target :
		request->fields.requested_login_user;
}

/* Log, send and (with audit_file) write the audit record of one master
   login attempt. Returns -1 when audit_file could not be written. */
static int dms_master_audit(struct auth_request *request,
			    struct dms_audit_record *record)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const char *error;
	char *text, *json;
	struct event *event;
	int ret = 0;

	record->time_usec = (int64_t)ioloop_timeval.tv_sec * 1000000 +
		ioloop_timeval.tv_usec;
	record->service = request->fields.service;
	record->remote_ip = request->fields.remote_ip.family == 0 ? NULL :
		net_ip2addr(&request->fields.remote_ip);

	if (module->audit_file != NULL) {
		json = dms_audit_json(record);
		if (json == NULL ||
		    dms_audit_append(module->audit_file, json, &error) < 0) {
			e_error(authdb_event(request), "dms_master: audit_file: "
				"%s: master logins fail until it can be written",
				json == NULL ? "Out of memory" : error);
			if (strcmp(record->result, "ok") == 0 ||
			    strcmp(record->result, "credentials") == 0) {
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
	event_add_str(event, "master", record->master);
	if (record->target != NULL)
		event_add_str(event, "target", record->target);
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

static void dms_master_audit_failure(struct auth_request *request,
				     const struct dms_master_login *login,
				     const char *result, const char *rule)
{
	struct dms_audit_record record = {
		.master = login->master,
		.target = dms_master_target(request, login),
		.result = result,
		.rule = rule,
	};

	(void)dms_master_audit(request, &record);
}

static const char *dms_policy_refusal(enum dms_policy_rule rule)
{
	switch (rule) {
	case DMS_POLICY_RULE_DISABLED:
		return "Master account disabled";
	case DMS_POLICY_RULE_EXPIRES:
		return "Master account expired";
	case DMS_POLICY_RULE_SERVICES:
		return "Master login not allowed for this service";
	case DMS_POLICY_RULE_ALLOW:
		break;
	}
	return "Master login not allowed for this user";
}

/* Apply the master's policy. VERIFIED: its password was checked here (not
   a credentials lookup). Returns OK after handing the session over,
   USER_DISABLED when refused, INTERNAL_FAILURE when the audit file
   cannot be written. */
static enum passdb_result
dms_master_authorize(struct auth_request *request,
		     const struct dms_master_login *login,
		     const struct dms_store_entry *entry, bool verified)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const char *target = dms_master_target(request, login);
	struct dms_audit_record record = {
		.master = login->master,
		.target = target,
		.read_only = entry->policy->read_only,
	};
	enum dms_policy_rule rule;
	bool allowed;

	allowed = dms_policy_check(entry->policy, &module->default_services,
				   target, request->fields.service,
				   ioloop_time, &rule, &record.pattern);
	record.rule = dms_policy_rule_name(rule);
	if (!allowed) {
		record.result = "refused";
		e_info(authdb_event(request), "Master %s refused by rule %s: "
		       "%s (target=%s service=%s)", login->master, record.rule,
		       dms_policy_refusal(rule), target == NULL ? "" : target,
		       request->fields.service);
		(void)dms_master_audit(request, &record);
		if (verified) {
			/* the password was right, so the client may learn
			   why. Dovecot sends code=authz_fail only with a
			   master_user, which it keeps read-only for passdbs,
			   so IMAP gets RFC 5530's code in the reason itself
			   (imap-login passes a reason starting with '[' as
			   it is). A credentials lookup says nothing: the
			   password is not checked yet. */
			const char *reason = dms_policy_refusal(rule);

			if (request->fields.service != NULL &&
			    strcmp(request->fields.service, "imap") == 0)
				reason = t_strconcat("[AUTHORIZATIONFAILED] ",
						     reason, NULL);
			auth_request_set_field(request, "reason", reason,
					       NULL);
		}
		/* not "continue": a refused master is not tried in any
		   other passdb */
		return PASSDB_RESULT_USER_DISABLED;
	}

	record.result = verified ? "ok" : "credentials";
	if (dms_master_audit(request, &record) < 0)
		return PASSDB_RESULT_INTERNAL_FAILURE;
	dms_master_hand_over(request, login);
	if (entry->policy->read_only) {
		/* for the mail process's ACL plugin: see
		   conf.d/dms-master-read-only.conf */
		auth_request_set_field(request, "userdb_acl_user",
				       DMS_READ_ONLY_ACL_ID, NULL);
		auth_request_set_field(request, "userdb_acl_groups",
				       DMS_READ_ONLY_ACL_ID, NULL);
	}
	return PASSDB_RESULT_OK;
}

/* A failed "target*master" must not reach the next passdb in the
   self-splitting way: with result_failure = continue (Dovecot's default)
   a passdb that looks up %n would otherwise check the whole name against
   the target's own password, or try an LDAP bind as the target with the
   master's. USER_DISABLED ends the chain whatever the result_* rules say,
   and without a reason the client sees the usual "Authentication
   failed". Temporary failures stay temporary: dms_master_init() makes
   result_internalfail end the chain too. */
static enum passdb_result
dms_master_final(const struct dms_master_login *login,
		 enum passdb_result result)
{
	if (!login->claimed)
		return result;
	switch (result) {
	case PASSDB_RESULT_USER_UNKNOWN:
	case PASSDB_RESULT_PASSWORD_MISMATCH:
	case PASSDB_RESULT_SCHEME_NOT_AVAILABLE:
		return PASSDB_RESULT_USER_DISABLED;
	default:
		return result;
	}
}

static enum passdb_result
dms_master_verify(struct auth_request *request, const char *password,
		  struct dms_master_login *login_r)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const struct dms_store_entry *entry;
	struct dms_master_login login;
	const char *error;
	int ret;

	ret = dms_master_lookup(request, &login, &entry);
	*login_r = login;
	if (ret < 0) {
		if (login.master != NULL)
			dms_master_audit_failure(request, &login, "tempfail",
						 "store");
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (ret == 0) {
		if (login.master == NULL)
			return PASSDB_RESULT_USER_UNKNOWN;
		/* cost what a wrong password costs */
		dms_password_verify_dummy(password, module->scheme);
		auth_request_log_unknown_user(request, AUTH_SUBSYS_DB);
		dms_master_audit_failure(request, &login, "unknown_master",
					 "unknown_master");
		return PASSDB_RESULT_USER_UNKNOWN;
	}

	ret = dms_password_verify(password, entry->password, module->scheme,
				  &error);
	if (ret < 0) {
		e_error(authdb_event(request), "%s:%u: master %s: %s",
			module->path, entry->line, entry->name, error);
	} else if (ret == 0) {
		auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB);
	}
	if (ret <= 0) {
		dms_master_audit_failure(request, &login, "password_mismatch",
					 "password");
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	}
	return dms_master_authorize(request, &login, entry, TRUE);
}

static void
dms_master_verify_plain(struct auth_request *request, const char *password,
			verify_plain_callback_t *callback)
{
	enum passdb_result result;

	T_BEGIN {
		struct dms_master_login login;

		result = dms_master_final(&login,
			dms_master_verify(request, password, &login));
	} T_END;
	callback(result, request);
}

static void
dms_master_lookup_credentials(struct auth_request *request,
			      lookup_credentials_callback_t *callback)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const struct dms_store_entry *entry;
	struct dms_master_login login;
	enum dms_scheme scheme;
	const char *hash = NULL, *scheme_name = NULL, *error;
	enum passdb_result result = PASSDB_RESULT_OK;
	int ret;

	T_BEGIN {
		ret = dms_master_lookup(request, &login, &entry);
		if (ret < 0) {
			if (login.master != NULL)
				dms_master_audit_failure(request, &login,
							 "tempfail", "store");
			result = PASSDB_RESULT_INTERNAL_FAILURE;
		} else if (ret == 0) {
			if (login.master != NULL) {
				auth_request_log_unknown_user(request,
							      AUTH_SUBSYS_DB);
				dms_master_audit_failure(request, &login,
							 "unknown_master",
							 "unknown_master");
			}
			result = PASSDB_RESULT_USER_UNKNOWN;
		} else if (dms_password_parse(entry->password, module->scheme,
					      &scheme, &hash, &error) < 0) {
			e_error(authdb_event(request), "%s:%u: master %s: %s",
				module->path, entry->line, entry->name, error);
			dms_master_audit_failure(request, &login,
						 "password_mismatch",
						 "password");
			result = PASSDB_RESULT_SCHEME_NOT_AVAILABLE;
		} else {
			/* the request's pool: the store may reload before
			   Dovecot is done with the credentials */
			hash = p_strdup(request->pool, hash);
			scheme_name = dms_scheme_name(scheme);
			/* Dovecot checks the password after us: the policy
			   cannot wait, and refusing says nothing about it */
			result = dms_master_authorize(request, &login, entry,
						      FALSE);
		}
		result = dms_master_final(&login, result);
	} T_END;

	if (result != PASSDB_RESULT_OK) {
		callback(result, NULL, 0, request);
		return;
	}
	/* Dovecot converts or refuses: CRAM-MD5 and the like get its usual
	   "Requested CRAM-MD5 scheme, but we have only SHA512-CRYPT" */
	passdb_handle_credentials(PASSDB_RESULT_OK, hash, scheme_name,
				  callback, request);
}

static struct passdb_module *
dms_master_preinit(pool_t pool, const char *args)
{
	struct dms_master_passdb_module *module;
	struct dms_args parsed;
	const char *error;

	if (dms_args_parse(args, &parsed, &error) < 0)
		i_fatal("passdb dms_master: %s", error);

	module = p_new(pool, struct dms_master_passdb_module, 1);
	module->path = p_strdup(pool, parsed.path);
	module->username_format = p_strdup(pool, parsed.username_format);
	module->format_is_user = strcmp(parsed.username_format, "%u") == 0;
	if (parsed.audit_file != NULL)
		module->audit_file = p_strdup(pool, parsed.audit_file);
	/* validated by dms_args_parse() */
	if (dms_policy_parse_services(p_strdup(pool, parsed.default_services),
				      &module->default_services, &error) < 0)
		i_fatal("passdb dms_master: default_services: %s", error);
	module->scheme = parsed.scheme;
	module->separator = parsed.separator;
	module->module.blocking = parsed.blocking;
	module->module.default_pass_scheme = dms_scheme_name(parsed.scheme);
	dms_args_free(&parsed);

	module->store = dms_store_new(module->path, module->scheme);
	if (module->store == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "passdb dms_master: Out of memory");
	return &module->module;
}

/* In the self-splitting way the whole "target*master" must pass Dovecot's
   own username checks before any passdb runs. */
static void dms_master_check_settings(const struct auth_settings *set,
				      char separator)
{
	if (set->master_user_separator[0] == separator) {
		i_fatal("passdb dms_master: auth_master_user_separator is "
			"also '%c', so Dovecot splits the name before this "
			"passdb sees it: set master = yes in this passdb, or "
			"remove auth_master_user_separator", separator);
	}
	if (set->username_chars_map[(unsigned char)separator] == 0) {
		i_fatal("passdb dms_master: auth_username_chars does not "
			"allow the separator '%c': set "
			"auth_username_chars = %s%c", separator,
			set->username_chars, separator);
	}
}

static void dms_master_init(struct passdb_module *_module)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)_module;
	struct auth *auth;
	struct auth_passdb *passdb;

	array_foreach_elem(&auths, auth) {
		for (passdb = auth->passdbs; passdb != NULL;
		     passdb = passdb->next) {
			if (passdb->passdb != _module)
				continue;
			dms_master_check_settings(auth->set,
						  module->separator);
			/* only names with the separator can fail here, and
			   none of them may go on to the next passdb (see
			   dms_master_final()) */
			if (passdb->result_internalfail !=
			    AUTH_DB_RULE_RETURN_FAIL &&
			    passdb->result_internalfail != AUTH_DB_RULE_RETURN) {
				e_debug(auth_event, "passdb dms_master: "
					"result_internalfail = return-fail");
				passdb->result_internalfail =
					AUTH_DB_RULE_RETURN_FAIL;
			}
		}
	}
	/* a missing store is not fatal: master logins fail as temporary
	   failures until it is there, everything else works */
	(void)dms_master_store_refresh(module, auth_event);
}

static void dms_master_deinit(struct passdb_module *_module)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)_module;

	dms_store_free(&module->store);
}

static struct passdb_module_interface passdb_dms_master = {
	.name = "dms_master",

	.preinit = dms_master_preinit,
	.init = dms_master_init,
	.deinit = dms_master_deinit,

	.verify_plain = dms_master_verify_plain,
	.lookup_credentials = dms_master_lookup_credentials,
};

const char *auth_master_dms_version = DOVECOT_ABI_VERSION;

void auth_master_dms_init(struct module *module);
void auth_master_dms_init(struct module *module ATTR_UNUSED)
{
	passdb_register_module(&passdb_dms_master);
}

void auth_master_dms_deinit(void);
void auth_master_dms_deinit(void)
{
	passdb_unregister_module(&passdb_dms_master);
}
