/* Checking and formatting the records of master sessions
   (dms-session-record.h). */

#include "dms-session-record.h"
#include "dms-json.h"

#include <stdlib.h>
#include <string.h>

static const char *const session_events[] = {
	"dms_master_session_started",
	"dms_master_session_mailbox",
	"dms_master_session_message",
	"dms_master_session_finished",
};

/* Every key a record may have. The service sets session, master, user,
   service, remote_ip, pid and process_uid (the mail process) from what
   it knows; the plugin's lines may carry the rest. */
static const struct {
	const char *key;
	enum dms_session_field_type type;
} session_fields[] = {
	/* who and where */
	{ "session", DMS_SESSION_FIELD_STRING },
	{ "master", DMS_SESSION_FIELD_STRING },
	{ "user", DMS_SESSION_FIELD_STRING },
	{ "service", DMS_SESSION_FIELD_STRING },
	{ "remote_ip", DMS_SESSION_FIELD_STRING },
	{ "pid", DMS_SESSION_FIELD_NUMBER },
	{ "process_uid", DMS_SESSION_FIELD_NUMBER },
	/* started */
	{ "level", DMS_SESSION_FIELD_STRING },
	{ "read_only", DMS_SESSION_FIELD_BOOL },
	/* the grant that opened the mailbox, and its reason */
	{ "grant", DMS_SESSION_FIELD_STRING },
	{ "grant_reason", DMS_SESSION_FIELD_STRING },
	/* mailbox and message */
	{ "mailbox", DMS_SESSION_FIELD_STRING },
	/* select, examine, status or list: the most the session did to
	   the mailbox */
	{ "access", DMS_SESSION_FIELD_STRING },
	{ "read", DMS_SESSION_FIELD_NUMBER },
	{ "bytes", DMS_SESSION_FIELD_NUMBER },
	{ "searches", DMS_SESSION_FIELD_NUMBER },
	{ "appended", DMS_SESSION_FIELD_NUMBER },
	{ "copied", DMS_SESSION_FIELD_NUMBER },
	{ "expunged", DMS_SESSION_FIELD_NUMBER },
	{ "flags_changed", DMS_SESSION_FIELD_NUMBER },
	{ "metadata_changed", DMS_SESSION_FIELD_NUMBER },
	{ "created", DMS_SESSION_FIELD_NUMBER },
	{ "deleted", DMS_SESSION_FIELD_NUMBER },
	{ "renamed", DMS_SESSION_FIELD_NUMBER },
	{ "renamed_to", DMS_SESSION_FIELD_STRING },
	{ "subscribed", DMS_SESSION_FIELD_NUMBER },
	{ "unsubscribed", DMS_SESSION_FIELD_NUMBER },
	/* message: read_header, read_body, appended, copied, expunged,
	   flags_changed */
	{ "action", DMS_SESSION_FIELD_STRING },
	/* copied: the mailbox the copy went to */
	{ "to_mailbox", DMS_SESSION_FIELD_STRING },
	{ "uid", DMS_SESSION_FIELD_NUMBER },
	{ "message_id", DMS_SESSION_FIELD_STRING },
	{ "date", DMS_SESSION_FIELD_STRING },
	/* finished: logout, kicked, revoked or lost (the mail process
	   ended without saying so: killed or crashed) */
	{ "how", DMS_SESSION_FIELD_STRING },
	{ "reason", DMS_SESSION_FIELD_STRING },
	{ "seconds", DMS_SESSION_FIELD_NUMBER },
	{ "messages_read", DMS_SESSION_FIELD_NUMBER },
	{ "messages_changed", DMS_SESSION_FIELD_NUMBER },
	/* what Dovecot's logout line says the session sent its client */
	{ "bytes_out", DMS_SESSION_FIELD_NUMBER },
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

int dms_session_field_type(const char *key)
{
	for (size_t i = 0; i < N_ELEMENTS(session_fields); i++) {
		if (strcmp(session_fields[i].key, key) == 0)
			return (int)session_fields[i].type;
	}
	return -1;
}

bool dms_session_event_valid(const char *event)
{
	for (size_t i = 0; i < N_ELEMENTS(session_events); i++) {
		if (strcmp(session_events[i], event) == 0)
			return true;
	}
	return false;
}

static bool number_valid(const char *value)
{
	size_t len = strlen(value);

	/* up to 2^63: no sign, no leading zeros, no overflow */
	if (len == 0 || len > 18 || (value[0] == '0' && len > 1))
		return false;
	return strspn(value, "0123456789") == len;
}

static const char *field_error(const char *const *kv, size_t i)
{
	int type = dms_session_field_type(kv[i]);
	const char *value = kv[i + 1];

	if (type < 0)
		return "unknown key";
	for (size_t j = 0; j < i; j += 2) {
		if (strcmp(kv[j], kv[i]) == 0)
			return "repeated key";
	}
	switch ((enum dms_session_field_type)type) {
	case DMS_SESSION_FIELD_STRING:
		if (strlen(value) > DMS_SESSION_VALUE_MAX)
			return "value too long";
		break;
	case DMS_SESSION_FIELD_NUMBER:
		if (!number_valid(value))
			return "not a number";
		break;
	case DMS_SESSION_FIELD_BOOL:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return "not yes or no";
		break;
	}
	return NULL;
}

char *dms_session_json(int64_t time_usec, const char *event,
		       const char *const *kv, const char **error_r)
{
	struct dms_buf b = { NULL, 0, 0, false };
	const char *error;
	char *line;
	size_t i;

	if (!dms_session_event_valid(event)) {
		*error_r = "unknown event";
		return NULL;
	}
	for (i = 0; kv[i] != NULL; i += 2) {
		if (kv[i + 1] == NULL) {
			*error_r = "key without a value";
			return NULL;
		}
		if ((error = field_error(kv, i)) != NULL) {
			*error_r = error;
			return NULL;
		}
	}
	dms_buf_cat(&b, "{");
	dms_json_time(&b, "time", time_usec);
	dms_json_string(&b, "event", event);
	for (i = 0; kv[i] != NULL; i += 2) {
		int type = dms_session_field_type(kv[i]);

		switch ((enum dms_session_field_type)type) {
		case DMS_SESSION_FIELD_STRING:
			dms_json_string(&b, kv[i], kv[i + 1]);
			break;
		case DMS_SESSION_FIELD_NUMBER:
			dms_json_raw(&b, kv[i], kv[i + 1]);
			break;
		case DMS_SESSION_FIELD_BOOL:
			dms_json_raw(&b, kv[i], kv[i + 1][0] == 'y' ?
				     "true" : "false");
			break;
		}
	}
	dms_buf_cat(&b, "}\n");
	if ((line = dms_buf_finish(&b)) == NULL)
		*error_r = "out of memory";
	return line;
}
