#ifndef DMS_AUDIT_H
#define DMS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include "dms-path.h"

/* The audit record of one master login attempt, as one line of
   KEY=VALUE pairs for Dovecot's log and as one JSON object for the
   audit file (JSON lines). Values are escaped, so a hostile name can
   neither forge a field nor break a line. */

struct dms_audit_record {
	/* microseconds since the epoch */
	int64_t time_usec;
	/* NULL values are left out of the text and null in JSON */
	/* "auth": the master's password and policy for the target it asked
	   for (the passdb); "session": the user whose mail the session opens,
	   after every passdb and userdb (the dms_master userdb). An auth
	   record with result "authenticated" or "credentials" is completed by
	   the session record of the same session id. */
	const char *stage;
	const char *master;
	/* the target the master asked for */
	const char *target;
	/* session stage: the user whose mail is opened; differs from target
	   when a passdb or userdb renamed it */
	const char *user;
	const char *service;
	const char *remote_ip;
	/* auth: authenticated, refused, refused_unverified (a credentials
	   lookup refused before Dovecot checked the password),
	   unknown_master, password_mismatch, tempfail or credentials (a hash
	   handed to Dovecot to check); session: ok, refused or tempfail */
	const char *result;
	/* what decided: allow, disabled, expires, services, read_only,
	   ports, protected, deny, grant, password, unknown_master, store,
	   audit_file */
	const char *rule;
	/* the dms_allow pattern that matched, if any */
	const char *pattern;
	/* Dovecot's session id, which joins the two stages */
	const char *session;
	/* the grant that opened the target (rule grant), and its reason */
	const char *grant;
	const char *reason;
	bool read_only;
};

/* "master=admin target=user@example.com service=imap rip=127.0.0.1
   result=ok rule=allow pattern=*@example.com read_only=no": malloc()ed,
   NULL when out of memory. */
char *dms_audit_text(const struct dms_audit_record *record);
/* {"time":"2026-11-29T14:50:01.123456Z","master":"admin",...} and '\n':
   malloc()ed, NULL when out of memory. */
char *dms_audit_json(const struct dms_audit_record *record);

/* Append LINE with one write() to PATH (created 0660 with its
   directory's group, never through a symlink), so that lines from several
   auth processes do not mix. PATH must be trusted (dms-path.h).
   Returns 0, or -1 with *error_r (valid until the next call). */
int dms_audit_append(const char *path, const struct dms_path_trust *trust,
		     const char *line,
		     const char **error_r);

#endif
