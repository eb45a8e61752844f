/* The owner's notice template (dms-notice.h). */

#include "dms-notice.h"
#include "dms-json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const dms_notice_variables[] = {
	"master", "user", "service", "remote_ip", "session", "started",
	"ended", "how", "mailboxes", "read", "changed", "reason", NULL
};

static const char *var_value(const char *const *vars, const char *name,
			     size_t len)
{
	for (; vars[0] != NULL; vars += 2) {
		if (strlen(vars[0]) == len && strncmp(vars[0], name, len) == 0)
			return vars[1] == NULL ? "" : vars[1];
	}
	return NULL;
}

static bool is_known(const char *name, size_t len)
{
	for (const char *const *v = dms_notice_variables; *v != NULL; v++) {
		if (strlen(*v) == len && strncmp(*v, name, len) == 0)
			return true;
	}
	return false;
}

/* Whether the header (up to the first empty line) has a Subject:. */
static bool has_subject(const char *text)
{
	const char *line = text;

	while (*line != '\0' && *line != '\n') {
		if (strncasecmp(line, "Subject:", 8) == 0)
			return true;
		if ((line = strchr(line, '\n')) == NULL)
			return false;
		line++;
	}
	return false;
}

char *dms_notice_expand(const char *template_text, const char *const *vars,
			const char **error_r)
{
	static char error[128];
	struct dms_buf b = { NULL, 0, 0, false };
	const char *p = template_text, *end, *value;
	char *text;

	if (strstr(template_text, "\n\n") == NULL) {
		*error_r = "no empty line after the header";
		return NULL;
	}
	if (!has_subject(template_text)) {
		*error_r = "no Subject: header";
		return NULL;
	}
	while (*p != '\0') {
		const char *pct = strchr(p, '%');

		if (pct == NULL) {
			dms_buf_cat(&b, p);
			break;
		}
		dms_buf_add(&b, p, pct - p);
		if (pct[1] == '%') {
			dms_buf_add(&b, "%", 1);
			p = pct + 2;
			continue;
		}
		if (pct[1] != '{' || (end = strchr(pct, '}')) == NULL) {
			free(b.data);
			*error_r = "a '%' that is not %{name} or %%";
			return NULL;
		}
		if (!is_known(pct + 2, end - pct - 2)) {
			snprintf(error, sizeof(error), "unknown variable "
				 "%%{%.*s}", (int)(end - pct - 2 > 64 ? 64 :
						   end - pct - 2), pct + 2);
			free(b.data);
			*error_r = error;
			return NULL;
		}
		value = var_value(vars, pct + 2, end - pct - 2);
		if (value != NULL) {
			size_t len = 0;

			/* no line breaks or other control characters from
			   a value */
			while (value[len] != '\0' &&
			       (unsigned char)value[len] >= 0x20 &&
			       value[len] != 0x7f)
				len++;
			dms_buf_add(&b, value, len);
		}
		p = end + 1;
	}
	if (b.len > DMS_NOTICE_MAX) {
		free(b.data);
		*error_r = "the notice is too long";
		return NULL;
	}
	if ((text = dms_buf_finish(&b)) == NULL)
		*error_r = "out of memory";
	return text;
}
