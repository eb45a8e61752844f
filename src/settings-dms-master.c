/* libauth_master_dms_settings.so (Dovecot 2.4): loaded by Dovecot's config
   process from $moduledir/settings, so that doveconf, the auth process
   and the mail processes know the dms_master_* settings, the read-only
   plugin's dms_read_only and the session-record plugin's dms_session_*.
   Without it Dovecot refuses them. */

#include "lib.h"
#include "settings-parser.h"
#include "passdb-dms-master-settings.h"
#include "mail-dms-read-only-settings.h"
#include "mail-dms-session-settings.h"

const char *auth_master_dms_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *auth_master_dms_settings_set_infos[] = {
	&dms_master_setting_parser_info,
	&dms_read_only_setting_parser_info,
	&dms_session_setting_parser_info,
	NULL
};
