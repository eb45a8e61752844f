/* Dovecot 2.4: the read-only mail plugin's setting
   (mail-dms-read-only-settings.h). */

#include "lib.h"
#include "settings-parser.h"
#include "mail-dms-read-only-settings.h"

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type(#name, name, struct dms_read_only_settings)

static const struct setting_define dms_read_only_setting_defines[] = {
	DEF(BOOL, dms_read_only),
	SETTING_DEFINE_LIST_END
};

static const struct dms_read_only_settings dms_read_only_default_settings = {
	.dms_read_only = FALSE,
};

const struct setting_parser_info dms_read_only_setting_parser_info = {
	.name = "dms_read_only",
	.defines = dms_read_only_setting_defines,
	.defaults = &dms_read_only_default_settings,
	.struct_size = sizeof(struct dms_read_only_settings),
	.pool_offset1 = 1 + offsetof(struct dms_read_only_settings, pool),
};
