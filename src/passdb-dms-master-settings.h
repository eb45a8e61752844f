#ifndef PASSDB_DMS_MASTER_SETTINGS_H
#define PASSDB_DMS_MASTER_SETTINGS_H

/* Dovecot 2.4: the dms_master passdb's settings, declared to Dovecot's
   config process by libauth_master_dms_settings.so and read by the
   module with settings_get(). Compiled into both, as the settings
   framework finds the info by name in each process. */

#include "settings-parser.h"

struct dms_master_settings {
	pool_t pool;
	const char *dms_master_path;
	const char *dms_master_separator;
	const char *dms_master_username_format;
	const char *dms_master_default_services;
	const char *dms_master_protected;
	const char *dms_master_ports;
	const char *dms_master_totp_state;
	const char *dms_master_audit_file;
	/* file or ldap */
	const char *dms_master_store;
};

extern const struct setting_parser_info dms_master_setting_parser_info;

/* The site's options text (dms_args_site()) of SET's default services,
   protected list and ports, malloc()ed in *site_r; or -1 with *error_r
   naming the 2.4 setting. */
int dms_master_settings_site(const struct dms_master_settings *set,
			     char **site_r, const char **error_r);

#endif
