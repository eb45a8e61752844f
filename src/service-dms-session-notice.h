#ifndef SERVICE_DMS_SESSION_NOTICE_H
#define SERVICE_DMS_SESSION_NOTICE_H

/* The owner's notice of a master session, sent by the dms-session
   service when a session that read or changed something ends: saved into
   the owner's INBOX by Dovecot itself ("doveadm save", no MTA), and with
   a reviewer address, a second copy through the system's sendmail. */

struct dms_session_notice_settings {
	/* the template (dms-notice.h) */
	const char *template_path;
	/* From: of the notice */
	const char *from;
	/* a copy to this address; NULL: none */
	const char *reviewer;
	const char *sendmail_path;
	const char *doveadm_path;
};

/* Read and check the template; i_fatal() when it is bad. */
void dms_session_notice_init(const struct dms_session_notice_settings *set);
void dms_session_notice_deinit(void);

/* Send the notice of a session to USER, with the template's VARS (name,
   value, ..., NULL). Failures are logged (the session record has it
   all). */
void dms_session_notice_send(const char *user, const char *session,
			     const char *const *vars);

#endif
