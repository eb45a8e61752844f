#ifndef DMS_SESSION_RECORD_H
#define DMS_SESSION_RECORD_H

#include <stdbool.h>
#include <stdint.h>

/* The records of what a master session did, as the dms-session service
   writes them to the audit file (one JSON object per line) from what the
   dms_session mail plugin sends it. The plugin runs as the mail user and
   is not trusted with the file: every field it sends is checked here
   against the table of known keys and types, so it can add records about
   its own session but neither forge a field (pid, uid: the service's
   own, from the socket's credentials) nor break a line.

   Events (the "event" key, also the names of the Dovecot events the
   plugin sends):
     dms_master_session_started   the session began (links to the login's
                                  audit records by "session")
     dms_master_session_mailbox   what the session did in one mailbox
                                  during one flush interval (counts)
     dms_master_session_message   one message read or changed (level
                                  "messages" only)
     dms_master_session_finished  the session ended, and how */

enum dms_session_field_type {
	DMS_SESSION_FIELD_STRING,
	DMS_SESSION_FIELD_NUMBER,
	DMS_SESSION_FIELD_BOOL,
};

/* The type of KEY in a record, or -1 for a key no record has. */
int dms_session_field_type(const char *key);

/* Whether EVENT is one of the four above. */
bool dms_session_event_valid(const char *event);

/* Longest string value accepted (a mailbox name, a Message-ID). */
#define DMS_SESSION_VALUE_MAX 1024

/* One JSON line for EVENT at TIME_USEC (microseconds since the epoch)
   from KV (key, value, key, value, ..., NULL): numbers are decimal
   digits, booleans "yes"/"no", strings any bytes (escaped as in
   dms_audit_json()). A key may appear once. Returns the malloc()ed line
   ending in '\n', or NULL with *error_r (static) for an unknown event or
   key, a repeated key, a bad value, or no memory. */
char *dms_session_json(int64_t time_usec, const char *event,
		       const char *const *kv, const char **error_r);

#endif
