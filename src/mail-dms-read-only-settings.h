#ifndef MAIL_DMS_READ_ONLY_SETTINGS_H
#define MAIL_DMS_READ_ONLY_SETTINGS_H

/* Dovecot 2.4: the userdb field dms_read_only=yes is a setting there, and
   a setting must be declared (to the config process by
   libauth_master_dms_settings.so, to the mail process by the plugin), or
   the session fails with "Unknown setting". */

#include "settings-parser.h"

struct dms_read_only_settings {
	pool_t pool;
	bool dms_read_only;
};

extern const struct setting_parser_info dms_read_only_setting_parser_info;

#endif
