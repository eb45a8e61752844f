#ifndef MAIL_DMS_SESSION_SETTINGS_H
#define MAIL_DMS_SESSION_SETTINGS_H

/* Dovecot 2.4: the session-record plugin's settings. dms_session_master
   is a userdb field of master sessions (the dms_master userdb sets it);
   dms_session_record and dms_session_flush_interval are the site's
   settings, which a userdb may override per session. */

#include "settings-parser.h"

struct dms_session_settings {
	pool_t pool;
	const char *dms_session_master;
	/* "file:PATH" or "ldap:PATH" and the passdb's default services, for
	   the dms-session service's checks (userdb fields too) */
	const char *dms_session_store;
	const char *dms_session_site;
	/* the grant that opened the mailbox and its reason; "": none */
	const char *dms_session_grant;
	const char *dms_session_grant_reason;
	/* the master's dms_notify_owner: yes, no, or "" for the site's */
	const char *dms_session_notify;
	/* summary or messages */
	const char *dms_session_record;
	unsigned int dms_session_flush_interval;
};

extern const struct setting_parser_info dms_session_setting_parser_info;

#endif
