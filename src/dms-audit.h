#ifndef DMS_AUDIT_H
#define DMS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

/* The audit record of one master login attempt, as one line of
   KEY=VALUE pairs for Dovecot's log and as one JSON object for the
   audit file (JSON lines). Values are escaped, so a hostile name can
   neither forge a field nor break a line. */

struct dms_audit_record {
	/* microseconds since the epoch */
	int64_t time_usec;
	/* NULL values are left out of the text and null in JSON */
	const char *master;
	const char *target;
	const char *service;
	const char *remote_ip;
	/* ok, refused, unknown_master, password_mismatch, tempfail or
	   credentials (a hash handed to Dovecot to check) */
	const char *result;
	/* what decided: allow, disabled, expires, services, password,
	   unknown_master, store or audit_file */
	const char *rule;
	/* the dms_allow pattern that matched, if any */
	const char *pattern;
	bool read_only;
};

/* "master=admin target=user@example.com service=imap rip=127.0.0.1
   result=ok rule=allow pattern=*@example.com read_only=no": malloc()ed,
   NULL when out of memory. */
char *dms_audit_text(const struct dms_audit_record *record);
/* {"time":"2026-11-29T14:50:01.123456Z","master":"admin",...} and '\n':
   malloc()ed, NULL when out of memory. */
char *dms_audit_json(const struct dms_audit_record *record);

/* Append LINE with one write() to PATH (created 0640, never through a
   symlink), so that lines from several auth processes do not mix.
   Returns 0, or -1 with *error_r (valid until the next call). */
int dms_audit_append(const char *path, const char *line,
		     const char **error_r);

#endif
