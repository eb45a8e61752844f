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

#include "dms-args.h"
#include "dms-login.h"

#include "auth-dms-master.h"
#include "dovecot-compat.h"
#ifdef DMS_DOVECOT_24
#  include "settings.h"
#  include "passdb-dms-master-settings.h"
#endif

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

		table = dms_var_expand_table(request, login_r->master,
					     &count);
		if (!DMS_EXPAND_OK(auth_request_var_expand_with_table(str,
				module->username_format, request, table,
				NULL, &error))) {
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
	e_debug(authdb_event(request), "lookup: master=%s %s=%s",
		login_r->master, module->ldap != NULL ? "ldap" : "file",
		module->path);
	return dms_master_store_lookup(module, authdb_event(request),
				       login_r->master, entry_r);
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

/* The target the master asks for, as Dovecot will use it. */
static const char *dms_master_target(struct auth_request *request,
				     const struct dms_master_login *login)
{
	return login->target != NULL ? login->target :
		request->fields.requested_login_user;
}

static void dms_master_audit_failure(struct auth_request *request,
				     const struct dms_master_login *login,
				     const char *result, const char *rule)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	struct dms_audit_record record = {
		.stage = "auth",
		.master = login->master,
		.target = dms_master_target(request, login),
		.result = result,
		.rule = rule,
	};

	(void)dms_master_audit(module, request, &record);
}

/* The master line's other extra fields, as Dovecot's passwd-file passdb
   applies them: %variables expanded, then each set as a passdb field
   (allow_nets=, nologin, reason=, userdb_*=, ...). Returns -1 when a
   value cannot be expanded. */
static int dms_master_extra_fields(struct auth_request *request,
				   const struct dms_store_entry *entry)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const struct var_expand_table *table;
	const char *const *fields, *key, *value, *error;
	unsigned int count = 0;
	string_t *str;

	if (entry->policy->extra_fields == NULL)
		return 0;
	str = t_str_new(256);
	table = dms_var_expand_table(request, request->fields.user, &count);
	fields = t_strsplit_spaces(entry->policy->extra_fields, " ");
	for (; *fields != NULL; fields++) {
		value = strchr(*fields, '=');
		if (value == NULL) {
			key = *fields;
			value = "";
		} else {
			key = t_strdup_until(*fields, value);
			str_truncate(str, 0);
			if (!DMS_EXPAND_OK(auth_request_var_expand_with_table(
					str, value + 1, request, table, NULL,
					&error))) {
				e_error(authdb_event(request), "%s: "
					"Failed to expand extra field %s: %s",
					dms_master_entry_origin(module, entry),
					*fields, error);
				return -1;
			}
			value = str_c(str);
		}
		auth_request_set_field(request, key, value, NULL);
	}
	return 0;
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
		.stage = "auth",
		.master = login->master,
		.target = target,
		.read_only = entry->policy->read_only,
	};
	enum dms_policy_rule rule;
	const char *grant_line;
	int access;

	if (dms_master_extra_fields(request, entry) < 0) {
		record.result = "tempfail";
		record.rule = "extra_fields";
		(void)dms_master_audit(module, request, &record);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (request->failed) {
		/* an extra field refused the login (allow_nets): as with
		   passwd-file a failure, but final, so that in the
		   self-splitting way the name goes to no other passdb */
		record.result = "refused";
		record.rule = "extra_fields";
		(void)dms_master_audit(module, request, &record);
		request->failed = FALSE;
		return PASSDB_RESULT_USER_DISABLED;
	}

	access = dms_master_access(module, request, login->master,
				   entry->policy, target, module->ldap == NULL ?
				   NULL : dms_ldap_store_grants(module->ldap),
				   &record, &rule, &grant_line);
	if (access < 0) {
		record.result = "tempfail";
		(void)dms_master_audit(module, request, &record);
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (access == 0 && !verified) {
		/* a credentials lookup: Dovecot has not checked the
		   password yet, so this says nothing about it, and the
		   client learns nothing */
		record.result = "refused_unverified";
		e_info(authdb_event(request), "Master %s refused by rule %s "
		       "before its password was checked (credentials "
		       "lookup): %s (target=%s service=%s)", login->master,
		       record.rule, dms_policy_refusal(rule),
		       target == NULL ? "" : target, DMS_REQUEST_SERVICE(request));
		(void)dms_master_audit(module, request, &record);
		return PASSDB_RESULT_USER_DISABLED;
	}
	if (access == 0) {
		/* the password was right, so the client may learn why.
		   Dovecot sends code=authz_fail only with a master_user,
		   which it keeps read-only for passdbs, so IMAP gets RFC
		   5530's code in the reason itself (imap-login passes a
		   reason starting with '[' as it is). */
		const char *reason = dms_policy_refusal(rule);

		record.result = "refused";
		e_info(authdb_event(request), "Master %s refused by rule %s: "
		       "%s (target=%s service=%s)", login->master, record.rule,
		       reason, target == NULL ? "" : target,
		       DMS_REQUEST_SERVICE(request));
		(void)dms_master_audit(module, request, &record);
		if (DMS_REQUEST_SERVICE(request) != NULL &&
		    strcmp(DMS_REQUEST_SERVICE(request), "imap") == 0)
			reason = t_strconcat("[AUTHORIZATIONFAILED] ", reason,
					     NULL);
		auth_request_set_field(request, "reason", reason, NULL);
		/* not "continue": a refused master is not tried in any
		   other passdb */
		return PASSDB_RESULT_USER_DISABLED;
	}

	/* not final: the dms_master userdb writes the session record once
	   the user whose mail is opened is known */
	record.result = verified ? "authenticated" : "credentials";
	if (dms_master_audit(module, request, &record) < 0)
		return PASSDB_RESULT_INTERNAL_FAILURE;
	dms_master_hand_over(request, login);
	/* for the dms_master userdb, which checks the policy again for the
	   user the session ends up with and sets the read-only fields last,
	   after every userdb that could change them */
	auth_request_set_field(request, "userdb_" DMS_FIELD_MASTER,
			       login->master, NULL);
	auth_request_set_field(request, "userdb_" DMS_FIELD_TARGET,
			       target, NULL);
	auth_request_set_field(request, "userdb_" DMS_FIELD_STORE,
			       module->path, NULL);
	if (module->ldap != NULL) {
		/* the userdb checks the policy found here: it runs in the
		   auth process, which must not wait for LDAP */
		char buf[4096];
		size_t len = dms_policy_format(entry->policy, buf,
					       sizeof(buf));

		if (len >= sizeof(buf)) {
			e_error(authdb_event(request), "master %s: policy "
				"too long to hand to the userdb", login->master);
			return PASSDB_RESULT_INTERNAL_FAILURE;
		}
		auth_request_set_field(request, "userdb_" DMS_FIELD_POLICY,
				       buf, NULL);
		if (grant_line != NULL) {
			auth_request_set_field(request,
					       "userdb_" DMS_FIELD_GRANT,
					       grant_line, NULL);
		}
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

/* The second factor of a master kept in LDAP: the secret and the last
   step are with its entry, so a code is spent once on every server that
   shares the directory. As dms_master_totp(). */
static int
dms_master_totp_ldap(struct dms_master_passdb_module *module,
		     struct event *event, const char *name, const char *code,
		     bool password_ok, const char **rule_r)
{
	char error[1024] = "";
	int ret;

	ret = dms_ldap_store_totp(module->ldap, name, code, ioloop_time,
				  password_ok, rule_r, error, sizeof(error));
	if (ret < 0) {
		e_error(event, "passdb dms_master: master %s: TOTP: %s "
			"(temporary failure; the module's bind DN must be "
			"able to write dmsTotpStep)", name, error);
	} else if (ret == 0 && strcmp(*rule_r, "totp_secret") == 0) {
		e_error(event, "passdb dms_master: master %s has "
			"dms_totp=yes: %s", name, error);
	}
	return ret;
}

/* The second factor of a master of the file store: its secret beside the
   store, the steps used in the host's state file. As dms_master_totp(). */
static int
dms_master_totp_file(struct dms_master_passdb_module *module,
		     struct event *event, const char *name, const char *code,
		     bool password_ok, const char **rule_r)
{
	const char *error;
	char *secret;
	int64_t step = 0;
	int ret;

	if (dms_trusted_file_refresh(&module->totp_secrets, &error) < 0) {
		e_error(event, "passdb dms_master: %s: masters with dms_totp "
			"fail until it can be read", error);
		return -1;
	}
	secret = module->totp_secrets.text == NULL ? NULL :
		dms_totp_secret_find(module->totp_secrets.text, name);
	if (secret == NULL) {
		e_error(event, "passdb dms_master: master %s has dms_totp=yes "
			"but no secret in %s (setup dovecot-master totp %s)",
			name, module->totp_secrets.path, name);
		*rule_r = "totp_secret";
		return 0;
	}
	ret = dms_totp_accept(secret, code, ioloop_time, password_ok, &step,
			      &error);
	dms_wipe(secret, strlen(secret));
	free(secret);
	if (ret < 0) {
		e_error(event, "passdb dms_master: master %s: TOTP secret in "
			"%s: %s", name, module->totp_secrets.path, error);
		*rule_r = "totp_secret";
		return 0;
	}
	if (ret == 0)
		return 0;
	ret = dms_totp_use_step(module->totp_state, &module->trust, name,
				step, &error);
	if (ret < 0) {
		e_error(event, "passdb dms_master: TOTP state: %s: masters "
			"with dms_totp fail until it can be written", error);
		return -1;
	}
	if (ret == 0)
		*rule_r = "totp_replay";
	return ret;
}

/* The second factor of master NAME: CODE (empty: none given) against its
   secret, and used at most once (dms-totp.h). PASSWORD_OK: the password
   was right (a code is spent only then). Returns 1 when accepted, 0 when
   not (*rule_r says why), -1 when the secrets or the record of the steps
   used cannot be used (logged). */
static int
dms_master_totp(struct dms_master_passdb_module *module,
		struct auth_request *request, const char *name,
		const char *code, bool password_ok, const char **rule_r)
{
	struct event *event = authdb_event(request);
	int ret;

	ret = module->ldap != NULL ?
		dms_master_totp_ldap(module, event, name, code, password_ok,
				     rule_r) :
		dms_master_totp_file(module, event, name, code, password_ok,
				     rule_r);
	if (ret == 0 && strcmp(*rule_r, "totp_replay") == 0) {
		e_info(event, "Master %s: TOTP code already used (replay)",
		       name);
	}
	return ret;
}

static enum passdb_result
dms_master_verify(struct auth_request *request, const char *password,
		  struct dms_master_login *login_r)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const struct dms_store_entry *entry;
	struct dms_master_login login;
	const char *error, *dummy, *pad;
	char code[DMS_TOTP_DIGITS + 1] = "";
	unsigned int pad_times;
	int ret;

	ret = dms_master_lookup(request, &login, &entry);
	*login_r = login;
	if (ret < 0) {
		if (login.master != NULL)
			dms_master_audit_failure(request, &login, "tempfail",
						 "store");
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (login.master != NULL && module->ldap_bind_problem != NULL) {
		/* refused before any passdb after this one could bind */
		e_error(authdb_event(request), "master login refused: %s, "
			"which would send the master's password to LDAP as "
			"the target's: use a DN lookup instead (no DN "
			"template)", module->ldap_bind_problem);
		dms_master_audit_failure(request, &login, "tempfail",
					 "ldap_bind");
		return PASSDB_RESULT_INTERNAL_FAILURE;
	}
	if (ret == 0) {
		if (login.master == NULL)
			return PASSDB_RESULT_USER_UNKNOWN;
		/* cost what a wrong password of the costliest master
		   costs */
		dummy = dms_master_dummy_hash(module);
		if (dummy != NULL)
			dms_password_verify_dummy_hash(password, dummy);
		else
			dms_password_verify_dummy(password, module->scheme);
		dms_log_unknown_user(request);
		dms_master_audit_failure(request, &login, "unknown_master",
					 "unknown_master");
		return PASSDB_RESULT_USER_UNKNOWN;
	}

	if (entry->policy->totp) {
		/* the password's last 6 characters are the code */
		size_t len;

		if (dms_totp_split(password, &len, code))
			password = t_strndup(password, len);
		else
			code[0] = '\0';
	}
	ret = dms_password_verify(password, entry->password, module->scheme,
				  &error);
	/* a master cheaper than the costliest would answer faster than an
	   unknown name, which would show that it exists */
	pad = dms_master_pad_hash(module, entry, &pad_times);
	for (unsigned int i = 0; pad != NULL && i < pad_times; i++)
		dms_password_verify_dummy_hash(password, pad);
	if (ret < 0) {
		e_error(authdb_event(request), "%s: master %s: %s",
			dms_master_entry_origin(module, entry), entry->name,
			error);
	} else if (ret == 0) {
		dms_log_password_mismatch(request);
	}
	if (entry->policy->totp) {
		/* after the password, whatever it was: a wrong password and
		   a wrong code cost the same and look the same */
		const char *rule = "totp";
		int totp = dms_master_totp(module, request, entry->name, code,
					   ret > 0, &rule);

		if (totp < 0) {
			dms_master_audit_failure(request, &login, "tempfail",
						 "totp");
			return PASSDB_RESULT_INTERNAL_FAILURE;
		}
		if (ret > 0 && totp == 0) {
			dms_log_password_mismatch(request);
			dms_master_audit_failure(request, &login,
						 "password_mismatch", rule);
			return PASSDB_RESULT_PASSWORD_MISMATCH;
		}
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
				dms_log_unknown_user(request);
				dms_master_audit_failure(request, &login,
							 "unknown_master",
							 "unknown_master");
			}
			result = PASSDB_RESULT_USER_UNKNOWN;
		} else if (entry->policy->totp) {
			/* the code is checked with the password, which a
			   credentials lookup never sees */
			e_info(authdb_event(request), "Master %s has dms_totp: "
			       "refused with a mechanism that does not send "
			       "the password (use PLAIN or LOGIN)",
			       entry->name);
			dms_master_audit_failure(request, &login,
						 "password_mismatch", "totp");
			result = PASSDB_RESULT_SCHEME_NOT_AVAILABLE;
		} else if (dms_password_parse(entry->password, module->scheme,
					      &scheme, &hash, &error) < 0) {
			e_error(authdb_event(request), "%s: master %s: %s",
				dms_master_entry_origin(module, entry),
				entry->name, error);
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
		dms_credentials_failed(callback, result, request);
		return;
	}
	/* Dovecot converts or refuses: CRAM-MD5 and the like get its usual
	   "Requested CRAM-MD5 scheme, but we have only SHA512-CRYPT" */
	passdb_handle_credentials(PASSDB_RESULT_OK, hash, scheme_name,
				  callback, request);
}

/* The module from its settings, whichever way Dovecot gave them. */
static struct dms_master_passdb_module *
dms_master_module_new(pool_t pool, const struct dms_args *parsed)
{
	struct dms_master_passdb_module *module;
	char ebuf[256];
	const char *error;

	module = p_new(pool, struct dms_master_passdb_module, 1);
	module->path = p_strdup(pool, parsed->path);
	module->username_format = p_strdup(pool, parsed->username_format);
	module->format_is_user = strcmp(parsed->username_format,
					 DMS_USERNAME_FORMAT_USER) == 0;
	if (parsed->audit_file != NULL)
		module->audit_file = p_strdup(pool, parsed->audit_file);
	module->totp_state = p_strdup(pool, parsed->totp_state != NULL ?
				      parsed->totp_state :
				      DMS_TOTP_STATE_DEFAULT);
	/* validated by the caller */
	module->site_text = p_strdup(pool, parsed->site);
	if (dms_policy_site_parse(p_strdup(pool, parsed->site),
				  &module->site, ebuf, sizeof(ebuf),
				  &error) < 0)
		i_fatal("passdb dms_master: %s", error);
	module->scheme = parsed->scheme;
	module->separator = parsed->separator;
	module->module.blocking = parsed->blocking;
	module->module.default_pass_scheme = dms_scheme_name(parsed->scheme);

	if (parsed->ldap) {
		/* as root: the bind password file is root's */
		dms_master_ldap_preinit(module);
		return module;
	}
	module->store = dms_store_new(module->path, module->scheme);
	if (module->store == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "passdb dms_master: Out of memory");
	return module;
}

#ifdef DMS_DOVECOT_24
static int
dms_master_preinit(pool_t pool, struct event *event,
		   DMS_PASSDB_PREINIT_PARAMS
		   struct passdb_module **module_r, const char **error_r)
{
	const struct dms_master_settings *set;
	struct dms_args parsed;
	int ret = -1;

	/* settings_get() runs dms_master_settings_check(), as the config
	   process did: only a missing path is left to refuse here */
	if (settings_get(event, &dms_master_setting_parser_info, 0, &set,
			 error_r) < 0)
		return -1;
	i_zero(&parsed);
	if (set->dms_master_path[0] == '\0') {
		*error_r = "dms_master_path is not set: name the master store";
	} else if (dms_master_settings_site(set, &parsed.site,
					    error_r) < 0) {
		/* the settings check refuses these first */
	} else {
		parsed.path = (char *)set->dms_master_path;
		parsed.separator = set->dms_master_separator[0];
		parsed.username_format =
			(char *)set->dms_master_username_format;
		parsed.audit_file = set->dms_master_audit_file[0] == '\0' ?
			NULL : (char *)set->dms_master_audit_file;
		parsed.totp_state = set->dms_master_totp_state[0] == '\0' ?
			NULL : (char *)set->dms_master_totp_state;
		parsed.ldap = strcmp(set->dms_master_store, "ldap") == 0;
		/* Dovecot sets default_password_scheme and use_worker after
		   preinit; init() takes the scheme from there */
		parsed.scheme = DMS_DEFAULT_SCHEME;
		*module_r = &dms_master_module_new(pool, &parsed)->module;
		free(parsed.site);
		ret = 0;
	}
	settings_free(set);
	return ret;
}

/* default_password_scheme as Dovecot set it after preinit. PLAIN, which
   the module never verifies, counts as unset: it is Dovecot's global
   default before 2.4.3, and from 2.4.3 on a configuration whose
   dovecot_config_version is older gets it in every passdb, whatever
   default the passdb's module declares. Stored values without a {SCHEME}
   are then read as SHA512-CRYPT, so plaintext ones are refused as
   malformed lines, logged: never compared as plaintext. */
static void dms_master_init_scheme(struct dms_master_passdb_module *module)
{
	const char *name = module->module.default_pass_scheme;
	enum dms_scheme scheme;

	scheme = name == NULL || strcasecmp(name, "PLAIN") == 0 ?
		DMS_DEFAULT_SCHEME : dms_scheme_parse(name, strlen(name));
	if (scheme == DMS_SCHEME_INVALID) {
		i_fatal("passdb dms_master: default_password_scheme %s: the "
			"module verifies SHA512-CRYPT, SHA256-CRYPT, "
			"BLF-CRYPT, MD5-CRYPT and CRYPT", name);
	}
	if (scheme == module->scheme)
		return;
	module->scheme = scheme;
	if (module->store == NULL)
		return;
	dms_store_free(&module->store);
	module->store = dms_store_new(module->path, scheme);
	if (module->store == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "passdb dms_master: Out of memory");
}
#else
static struct passdb_module *
dms_master_preinit(pool_t pool, const char *args)
{
	struct dms_master_passdb_module *module;
	struct dms_args parsed;
	const char *error;

	if (dms_args_parse(args, &parsed, &error) < 0)
		i_fatal("passdb dms_master: %s", error);
	module = dms_master_module_new(pool, &parsed);
	/* as root: the ldap passdbs' args files may be root's only */
	module->ldap_bind_problem = dms_master_ldap_bind_problem();
	dms_args_free(&parsed);
	return &module->module;
}

static void
dms_master_init_scheme(struct dms_master_passdb_module *module ATTR_UNUSED)
{
	/* scheme= in args, set by preinit */
}
#endif

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
			dms_master_check_settings(DMS_AUTH_SETTINGS(auth),
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
	dms_master_init_scheme(module);
	dms_master_check_chain(_module);
#ifdef DMS_DOVECOT_24
	module->ldap_bind_problem = dms_master_ldap_bind_problem(_module);
#endif
	if (module->ldap_bind_problem != NULL) {
		i_warning("passdb dms_master: %s, which would send a master's "
			  "password to LDAP as its target's: master logins are "
			  "refused (use a DN lookup: no DN template)",
			  module->ldap_bind_problem);
	}
	dms_master_passdb_register(module);
	/* once, from the auth process: which build answers, in the log an
	   operator reads after an upgrade */
	if (!worker) {
		char uri[256];

		i_info("passdb dms_master: auth-master-dms %s (Dovecot ABI "
		       "%s), masters from %s%s", DMS_PACKAGE_VERSION,
		       DOVECOT_ABI_VERSION, module->ldap_config.uris != NULL ?
		       "the LDAP directory of " : "", module->path);
		if (module->ldap_config.uris != NULL &&
		    dms_ldap_config_cleartext_uri(&module->ldap_config, uri,
						  sizeof(uri)) != NULL) {
			i_warning("passdb dms_master: %s: %s without starttls "
				  "= yes: the bind password and every master's "
				  "hash cross the network in clear, and anyone "
				  "on the way can answer with masters of their "
				  "own (use ldaps://, starttls = yes or "
				  "ldapi://)", module->path, uri);
		}
	}
	/* after preinit: the auth process no longer runs as root here */
	dms_master_trust(&module->trust);
	if (module->ldap_config.uris != NULL) {
		/* grants are kept beside a file store only */
		module->grants = dms_grants_from_buffer("", 0);
		if (module->grants == NULL)
			i_fatal_status(FATAL_OUTOFMEM, "passdb dms_master: "
				       "Out of memory");
		dms_master_ldap_init(module);
		return;
	}
	dms_store_set_trust(module->store, &module->trust);
	char *grants_path = dms_grants_path(module->path);
	module->grants = grants_path == NULL ? NULL :
		dms_grants_new(grants_path, &module->trust);
	free(grants_path);
	if (module->grants == NULL ||
	    dms_trusted_file_init(&module->totp_secrets, t_strconcat(
			module->path, ".totp", NULL), &module->trust) < 0)
		i_fatal_status(FATAL_OUTOFMEM, "passdb dms_master: Out of memory");
	/* a missing store is not fatal: master logins fail as temporary
	   failures until it is there, everything else works */
	(void)dms_master_store_refresh(module, auth_event);
}

static void dms_master_deinit(struct passdb_module *_module)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)_module;

	dms_master_passdb_unregister(module);
	dms_store_free(&module->store);
	dms_grants_free(&module->grants);
	dms_trusted_file_deinit(&module->totp_secrets);
	dms_ldap_store_free(&module->ldap);
	dms_ldap_config_free(&module->ldap_config);
	i_free(module->ldap_bind_problem);
}

struct passdb_module_interface passdb_dms_master = {
	.name = "dms_master",

	.preinit = dms_master_preinit,
	.init = dms_master_init,
	.deinit = dms_master_deinit,

	.verify_plain = dms_master_verify_plain,
	.lookup_credentials = dms_master_lookup_credentials,
};
