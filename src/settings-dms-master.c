/* libauth_master_dms_settings.so (Dovecot 2.4): loaded by Dovecot's config
   process from $moduledir/settings, so that doveconf and the auth process
   know the dms_master_* settings. Without it Dovecot refuses them. */

#include "lib.h"
#include "settings-parser.h"
#include "passdb-dms-master-settings.h"

const char *auth_master_dms_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *auth_master_dms_settings_set_infos[] = {
	&dms_master_setting_parser_info,
	NULL
};
