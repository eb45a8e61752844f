/* Dovecot 2.4: the dms_master passdb's settings (passdb-dms-master-settings.h).
   They mean what the 2.3 args did: dms_master_path was PATH,
   dms_master_separator separator=, dms_master_username_format
   username_format=, dms_master_default_services default_services=,
   dms_master_audit_file audit_file=; scheme= and blocking= are Dovecot's
   own default_password_scheme and use_worker. */

#include "lib.h"
#include "settings-parser.h"
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
	DEF(STR_NOVARS, dms_master_audit_file),
	SETTING_DEFINE_LIST_END
};

static const struct dms_master_settings dms_master_default_settings = {
	.dms_master_path = "",
	.dms_master_separator = "*",
	.dms_master_username_format = "%{user}",
	.dms_master_default_services = "imap pop3",
	.dms_master_audit_file = "",
};

static const struct setting_keyvalue dms_master_default_settings_keyvalue[] = {
	/* as docker-mailserver's setup writes them */
	{ "passdb_dms_master/passdb_default_password_scheme", "SHA512-CRYPT" },
	{ NULL, NULL }
};

const struct setting_parser_info dms_master_setting_parser_info = {
	.name = "dms_master",
	.defines = dms_master_setting_defines,
	.defaults = &dms_master_default_settings,
	.default_settings = dms_master_default_settings_keyvalue,
	.struct_size = sizeof(struct dms_master_settings),
	.pool_offset1 = 1 + offsetof(struct dms_master_settings, pool),
};
