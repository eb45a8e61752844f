/* libFuzzer target: what crosses the trust boundary of the session
   records. The dms-session service takes each record's fields from the
   mail process (the mail user's, driven by a master's client) and checks
   them with dms_session_json(); the report reads the audit file back with
   dms_audit_line_parse(); the notice template is expanded with values a
   session chose (mailbox names). Whatever comes in, a record is one line
   of valid JSON that the reader reads back with the same values, and a
   notice value never adds a line. */
#include "dms-audit-read.h"
#include "dms-notice.h"
#include "dms-session-record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *kv[MAX_FIELDS * 2 + 1], *error;
	struct dms_audit_line line;
	unsigned int n = 0;
	char *text, *p, *json;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	/* the reader on any bytes */
	(void)dms_audit_line_parse(text, size, &line);
	dms_audit_line_free(&line);

	/* a record from tab-separated KEY VALUE pairs, as the service gets
	   them (the first field is the event) */
	const char *event = text;
	p = strchr(text, '\t');
	if (p != NULL) {
		*p++ = '\0';
		while (p != NULL && n < MAX_FIELDS * 2) {
			kv[n++] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
	}
	if (n % 2 == 1)
		n--;
	kv[n] = NULL;
	json = dms_session_json(1798761600123456LL,
				event[0] == '\0' ? "dms_master_session_mailbox" :
				event, kv, &error);
	if (json != NULL) {
		size_t len = strlen(json);

		/* one line, read back with the same values */
		if (len == 0 || json[len - 1] != '\n' ||
		    memchr(json, '\n', len - 1) != NULL)
			abort();
		if (dms_audit_line_parse(json, len, &line) < 0)
			abort();
		for (unsigned int i = 0; i < n; i += 2) {
			const char *got = dms_audit_line_get(&line, kv[i]);

			if (got == NULL)
				abort();
			/* strings come back as they were (when valid
			   UTF-8 without control characters: else escaped) */
			if (dms_session_field_type(kv[i]) ==
			    DMS_SESSION_FIELD_NUMBER && strcmp(got, kv[i + 1]) != 0)
				abort();
		}
		dms_audit_line_free(&line);
		free(json);
	}

	/* a notice whose values are the input's fields */
	const char *vars[] = {
		"master", n > 0 ? kv[0] : "", "mailboxes", n > 1 ? kv[1] : "",
		NULL
	};
	char *notice = dms_notice_expand("Subject: %{master}\n\n%{mailboxes}\n",
					 vars, &error);
	if (notice != NULL) {
		/* the header is one line, the body one line */
		char *nl = strchr(notice, '\n');
		if (nl == NULL || nl[1] != '\n' ||
		    strchr(nl + 2, '\n') != notice + strlen(notice) - 1)
			abort();
		free(notice);
	}
	free(text);
	return 0;
}
