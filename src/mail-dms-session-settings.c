/* Dovecot 2.4: the session-record plugin's settings
   (mail-dms-session-settings.h). */

#include "lib.h"
#include "settings-parser.h"
#include "mail-dms-session-settings.h"

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type(#name, name, struct dms_session_settings)

static const struct setting_define dms_session_setting_defines[] = {
	DEF(STR_NOVARS, dms_session_master),
	DEF(STR_NOVARS, dms_session_store),
	DEF(STR_NOVARS, dms_session_site),
	DEF(STR_NOVARS, dms_session_grant),
	DEF(STR_NOVARS, dms_session_grant_reason),
	DEF(STR_NOVARS, dms_session_notify),
	DEF(ENUM, dms_session_record),
	DEF(TIME, dms_session_flush_interval),
	SETTING_DEFINE_LIST_END
};

static const struct dms_session_settings dms_session_default_settings = {
	.dms_session_master = "",
	.dms_session_store = "",
	.dms_session_site = "",
	.dms_session_grant = "",
	.dms_session_grant_reason = "",
	.dms_session_notify = "",
	.dms_session_record = "summary:messages",
	.dms_session_flush_interval = 60,
};

const struct setting_parser_info dms_session_setting_parser_info = {
	.name = "dms_session",
	.defines = dms_session_setting_defines,
	.defaults = &dms_session_default_settings,
	.struct_size = sizeof(struct dms_session_settings),
	.pool_offset1 = 1 + offsetof(struct dms_session_settings, pool),
};
