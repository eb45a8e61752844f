/* Dovecot 2.4: the dms_master passdb's settings (passdb-dms-master-settings.h).
   They mean what the 2.3 args did: dms_master_path was PATH,
   dms_master_separator separator=, dms_master_username_format
   username_format=, dms_master_default_services default_services=,
   dms_master_audit_file audit_file=, dms_master_protected protected=,
   dms_master_ports ports=, dms_master_totp_state totp_state=; scheme= and blocking= are Dovecot's
   own default_password_scheme and use_worker. */

#include "lib.h"
#include "str.h"
#include "settings-parser.h"
#include "dms-args.h"
#include "dms-policy.h"
#include "passdb-dms-master-settings.h"

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type(#name, name, struct dms_master_settings)

static const struct setting_define dms_master_setting_defines[] = {
	{ .type = SET_FILTER_NAME, .key = "passdb_dms_master" },
	/* all without variables: the module expands the username format per
	   request itself */
	DEF(STR_NOVARS, dms_master_path),
	DEF(STR_NOVARS, dms_master_separator),
	DEF(STR_NOVARS, dms_master_username_format),
	DEF(STR_NOVARS, dms_master_default_services),
	DEF(STR_NOVARS, dms_master_protected),
	DEF(STR_NOVARS, dms_master_ports),
	DEF(STR_NOVARS, dms_master_totp_state),
	DEF(STR_NOVARS, dms_master_audit_file),
	DEF(ENUM, dms_master_store),
	SETTING_DEFINE_LIST_END
};

static const struct dms_master_settings dms_master_default_settings = {
	.dms_master_path = "",
	.dms_master_separator = "*",
	.dms_master_username_format = "%{user}",
	.dms_master_default_services = "imap pop3",
	.dms_master_protected = "",
	.dms_master_ports = "",
	.dms_master_totp_state = "",
	.dms_master_audit_file = "",
	.dms_master_store = "file:ldap",
};

static const struct setting_keyvalue dms_master_default_settings_keyvalue[] = {
	/* as docker-mailserver's setup writes them */
	{ "passdb_dms_master/passdb_default_password_scheme", "SHA512-CRYPT" },
	{ NULL, NULL }
};

/* 2.4 keeps 2.3's %u, %n, %Lu, ... literally, without an error: every
   master would then be "unknown", with nothing logged. */
static const char *dms_master_format_error(const char *format)
{
	for (const char *p = format; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == '{' || p[1] == '%')
			continue;
		return t_strdup_printf("dms_master_username_format %s: "
			"2.3's %%-variables are not expanded by Dovecot 2.4: "
			"write %%{user}, %%{user | username}, "
			"%%{user | domain} or %%{user | lower}", format);
	}
	return NULL;
}

int dms_master_settings_site(const struct dms_master_settings *set,
			     char **site_r, const char **error_r)
{
	const char *error;

	/* 2.4's lists may be space-separated */
	if (dms_args_site(t_str_replace(set->dms_master_default_services,
					' ', ','),
			  t_str_replace(set->dms_master_protected, ' ', ','),
			  t_str_replace(set->dms_master_ports, ' ', ','),
			  site_r, &error) < 0) {
		/* "Invalid protected=...": the 2.4 names */
		*error_r = t_strdup_printf("dms_master_%s",
			error + strlen("Invalid "));
		return -1;
	}
	return 0;
}

/* Run by the config process on every filter that sets one of these, so
   that a bad value stops Dovecot (and doveconf) at start-up, and again by
   settings_get() in the auth process. dms_master_path may be unset in a
   filter that sets others (e.g. at the top level); the module's preinit
   refuses a passdb without it. */
static bool
dms_master_settings_check(void *_set, pool_t pool ATTR_UNUSED,
			  const char **error_r)
{
	struct dms_master_settings *set = _set;
	struct dms_policy_list services;
	const char *error;
	char *site;

	if (set->dms_master_path[0] != '\0' &&
	    set->dms_master_path[0] != '/') {
		*error_r = t_strdup_printf("dms_master_path %s: not an "
			"absolute path", set->dms_master_path);
		return FALSE;
	}
	if (strlen(set->dms_master_separator) != 1 ||
	    !dms_separator_valid(set->dms_master_separator[0])) {
		*error_r = t_strdup_printf("dms_master_separator %s: one "
			"printable character that is not a letter, digit, "
			"'@', '.', ':', '|' or '%%'", set->dms_master_separator);
		return FALSE;
	}
	if ((error = dms_master_format_error(
			set->dms_master_username_format)) != NULL) {
		*error_r = error;
		return FALSE;
	}
	if (set->dms_master_audit_file[0] != '\0' &&
	    set->dms_master_audit_file[0] != '/') {
		*error_r = t_strdup_printf("dms_master_audit_file %s: not an "
			"absolute path", set->dms_master_audit_file);
		return FALSE;
	}
	if (set->dms_master_totp_state[0] != '\0' &&
	    set->dms_master_totp_state[0] != '/') {
		*error_r = t_strdup_printf("dms_master_totp_state %s: not an "
			"absolute path", set->dms_master_totp_state);
		return FALSE;
	}
	if (dms_policy_parse_services(t_strdup_noconst(t_str_replace(
			set->dms_master_default_services, ' ', ',')),
		&services, &error) < 0) {
		*error_r = t_strdup_printf("dms_master_default_services %s: %s",
			set->dms_master_default_services, error);
		return FALSE;
	}
	if (dms_master_settings_site(set, &site, error_r) < 0)
		return FALSE;
	free(site);
	return TRUE;
}

const struct setting_parser_info dms_master_setting_parser_info = {
	.name = "dms_master",
	.defines = dms_master_setting_defines,
	.defaults = &dms_master_default_settings,
	.default_settings = dms_master_default_settings_keyvalue,
	.struct_size = sizeof(struct dms_master_settings),
	.pool_offset1 = 1 + offsetof(struct dms_master_settings, pool),
	.check_func = dms_master_settings_check,
};
