#ifndef DMS_AUDIT_READ_H
#define DMS_AUDIT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reading back the audit file's lines (dms-audit.h, dms-session-record.h):
   each is one flat JSON object whose values are strings, integers,
   true, false or null. Anything else (nested values, a line cut short,
   bytes after the object) makes the line invalid: the report counts and
   skips it rather than guess. */

#define DMS_AUDIT_FIELDS_MAX 48

struct dms_audit_field {
	/* NUL-terminated, unescaped, pointing into the parsed copy */
	const char *key;
	/* NULL for null; "true"/"false" for booleans; digits for numbers */
	const char *value;
};

struct dms_audit_line {
	char *buf;
	struct dms_audit_field fields[DMS_AUDIT_FIELDS_MAX];
	unsigned int count;
};

/* Parse LINE (LEN bytes, a trailing newline allowed) into *LINE_R.
   Returns 0, or -1 for an invalid line. Free with dms_audit_line_free()
   either way. */
int dms_audit_line_parse(const char *line, size_t len,
			 struct dms_audit_line *line_r);
void dms_audit_line_free(struct dms_audit_line *line);

/* The value of KEY (NULL when absent or null). */
const char *dms_audit_line_get(const struct dms_audit_line *line,
			       const char *key);
/* KEY's value as a number, or 0. */
uint64_t dms_audit_line_number(const struct dms_audit_line *line,
			       const char *key);

#endif
