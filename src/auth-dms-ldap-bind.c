/* Finding the ldap passdbs that would bind to LDAP as a master login's
   target with the master's password.

   After a master login Dovecot asks the ordinary passdbs for the target
   with the password the client sent, the master's, and tells them not to
   check it. An ldap passdb with auth_bind = yes and a DN template
   (auth_bind_userdn; 2.4: passdb_ldap_bind_userdn) binds anyway: the
   master's password goes to LDAP as the target's, the login fails, and a
   password policy may count it against the target. With a DN lookup
   (no template) Dovecot only searches. The module refuses master logins
   when such a passdb is configured (auth-dms-master.h). */

#include "auth-common.h"
#include "array.h"
#include "str.h"
#include "passdb.h"
#include "auth.h"
#include "auth-settings.h"

#include <dlfcn.h>
#include <stdio.h>

#include "auth-dms-master.h"

#ifdef DMS_DOVECOT_24
#include "settings.h"
#include "db-ldap-settings.h"

static const char *
dms_ldap_passdb_bind_problem(const struct auth *auth,
			     const struct auth_passdb *passdb)
{
	/* libauthdb_ldap.so's, loaded RTLD_GLOBAL before any passdb's
	   init when an ldap passdb is configured */
	const struct setting_parser_info *info =
		dlsym(RTLD_DEFAULT, "ldap_pre_setting_parser_info");
	const struct ldap_pre_settings *set;
	const char *error, *problem = NULL;
	struct event *event;

	if (info == NULL) {
		return t_strdup_printf("passdb %s: cannot read its bind "
			"settings (%s)", passdb->name, dlerror());
	}
	/* the filters Dovecot's auth.c looks the passdb's settings up in */
	event = event_create(auth_event);
	event_add_str(event, "protocol", auth->protocol);
	event_add_str(event, "passdb", passdb->set->name);
	settings_event_add_filter_name(event,
		t_strconcat("passdb_", passdb->set->driver, NULL));
	settings_event_add_list_filter_name(event, "passdb",
					    passdb->set->name);
	if (settings_get(event, info, SETTINGS_GET_FLAG_NO_CHECK |
			 SETTINGS_GET_FLAG_NO_EXPAND, &set, &error) < 0) {
		problem = t_strdup_printf("passdb %s: cannot read its bind "
					  "settings (%s)", passdb->name, error);
	} else {
		if (set->passdb_ldap_bind &&
		    set->passdb_ldap_bind_userdn[0] != '\0') {
			problem = t_strdup_printf("passdb %s binds with "
				"passdb_ldap_bind_userdn", passdb->name);
		}
		settings_free(set);
	}
	event_unref(&event);
	return problem;
}

char *dms_master_ldap_bind_problem(const struct passdb_module *module)
{
	const struct auth_passdb *passdb;
	struct auth *auth;
	char *result = NULL;

	array_foreach_elem(&auths, auth) {
		if (!dms_auth_uses_passdb(auth, module))
			continue;
		for (passdb = auth->passdbs;
		     passdb != NULL && result == NULL;
		     passdb = passdb->next) {
			if (strcmp(passdb->set->driver, "ldap") != 0)
				continue;
			T_BEGIN {
				result = i_strdup(dms_ldap_passdb_bind_problem(
					auth, passdb));
			} T_END;
		}
	}
	return result;
}
#else
/* 2.3: the ldap passdb's args file. Read at preinit, while the auth
   process still runs as root: it holds the LDAP password and is often
   readable by root only. */
static bool dms_ldap_bool(const char *value)
{
	return strcasecmp(value, "yes") == 0 || strcasecmp(value, "y") == 0 ||
		strcmp(value, "1") == 0;
}

static const char *dms_ldap_args_bind_problem(const char *path)
{
	char line[4096];
	bool bind = FALSE, userdn = FALSE;
	FILE *file;

	file = fopen(path, "r");
	if (file == NULL) {
		return t_strdup_printf("passdb ldap: cannot read %s: %m",
				       path);
	}
	while (fgets(line, sizeof(line), file) != NULL) {
		const char *text, *key, *value, *p;

		text = t_str_trim(line, " \t\r\n");
		if (text[0] == '#' || (p = strchr(text, '=')) == NULL)
			continue;
		key = t_str_trim(t_strdup_until(text, p), " \t");
		value = t_str_trim(p + 1, " \t\"");
		if (strcmp(key, "auth_bind") == 0)
			bind = dms_ldap_bool(value);
		else if (strcmp(key, "auth_bind_userdn") == 0)
			userdn = value[0] != '\0';
	}
	fclose(file);
	if (bind && userdn) {
		return t_strdup_printf("passdb ldap (%s) binds with "
				       "auth_bind_userdn", path);
	}
	return NULL;
}

char *dms_master_ldap_bind_problem(void)
{
	struct auth_passdb_settings *const *passdbs;
	unsigned int i, count;
	char *result = NULL;

	if (global_auth_settings == NULL ||
	    !array_is_created(&global_auth_settings->passdbs))
		return NULL;
	passdbs = array_get(&global_auth_settings->passdbs, &count);
	for (i = 0; i < count && result == NULL; i++) {
		if (strcmp(passdbs[i]->driver, "ldap") != 0 ||
		    passdbs[i]->master || passdbs[i]->args[0] == '\0')
			continue;
		T_BEGIN {
			result = i_strdup(
				dms_ldap_args_bind_problem(passdbs[i]->args));
		} T_END;
	}
	return result;
}
#endif
