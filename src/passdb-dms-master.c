/* The dms_master passdb: Dovecot glue around the pure dms-* code.

   Used two ways (see conf.d/):
   - as a master passdb (master = yes): Dovecot splits "target*master"
     itself at auth_master_user_separator and asks us about the master;
   - self-splitting (an ordinary passdb): we split the name, verify the
     master and hand Dovecot "user" = master and "login_user" = target,
     after which Dovecot finishes the master login as in the first way. */

#include "auth-common.h"
#include "passdb.h"
#include "str.h"
#include "module-dir.h"

#include "dms-args.h"
#include "dms-login.h"
#include "dms-password.h"
#include "dms-store.h"

struct dms_master_passdb_module {
	struct passdb_module module;

	struct dms_store *store;
	const char *path;
	const char *username_format;
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

static enum passdb_result
dms_master_verify(struct auth_request *request, const char *password)
{
	struct dms_master_passdb_module *module =
		(struct dms_master_passdb_module *)request->passdb->passdb;
	const struct dms_store_entry *entry;
	struct dms_master_login login;
	const char *error;
	int ret;

	ret = dms_master_lookup(request, &login, &entry);
	if (ret < 0)
		return PASSDB_RESULT_INTERNAL_FAILURE;
	if (ret == 0) {
		if (login.master == NULL)
			return PASSDB_RESULT_USER_UNKNOWN;
		/* cost what a wrong password costs */
		dms_password_verify_dummy(password, module->scheme);
		auth_request_log_unknown_user(request, AUTH_SUBSYS_DB);
		return PASSDB_RESULT_USER_UNKNOWN;
	}

	ret = dms_password_verify(password, entry->password, module->scheme,
				  &error);
	if (ret < 0) {
		e_error(authdb_event(request), "%s:%u: master %s: %s",
			module->path, entry->line, entry->name, error);
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	}
	if (ret == 0) {
		auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB);
		return PASSDB_RESULT_PASSWORD_MISMATCH;
	}
	dms_master_hand_over(request, &login);
	return PASSDB_RESULT_OK;
}

static void
dms_master_verify_plain(struct auth_request *request, const char *password,
			verify_plain_callback_t *callback)
{
	enum passdb_result result;

	T_BEGIN {
		result = dms_master_verify(request, password);
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
		if (ret < 0)
			result = PASSDB_RESULT_INTERNAL_FAILURE;
		else if (ret == 0) {
			if (login.master != NULL)
				auth_request_log_unknown_user(request,
							      AUTH_SUBSYS_DB);
			result = PASSDB_RESULT_USER_UNKNOWN;
		} else if (dms_password_parse(entry->password, module->scheme,
					      &scheme, &hash, &error) < 0) {
			e_error(authdb_event(request), "%s:%u: master %s: %s",
				module->path, entry->line, entry->name, error);
			result = PASSDB_RESULT_SCHEME_NOT_AVAILABLE;
		} else {
			/* the request's pool: the store may reload before
			   Dovecot is done with the credentials */
			hash = p_strdup(request->pool, hash);
			scheme_name = dms_scheme_name(scheme);
			dms_master_hand_over(request, &login);
		}
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
			if (passdb->passdb == _module) {
				dms_master_check_settings(auth->set,
							  module->separator);
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
