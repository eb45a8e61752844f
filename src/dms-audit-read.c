/* Reading audit lines back (dms-audit-read.h). */

#include "dms-audit-read.h"
#include "dms-json.h"

#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}


/* A JSON string at *P (after its opening quote), unescaped in place into
   OUT (which never runs ahead of the input). Returns the start, or NULL.
   \uXXXX above 0x7f is written as UTF-8. */
static char *parse_string(char **p)
{
	char *in = *p, *out = *p, *start = *p;

	for (;;) {
		unsigned char c = (unsigned char)*in;

		if (c == '\0' || c < 0x20)
			return NULL;
		if (c == '"')
			break;
		if (c != '\\') {
			*out++ = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case '"': case '\\': case '/':
			*out++ = *in++;
			break;
		case 'n': *out++ = '\n'; in++; break;
		case 't': *out++ = '\t'; in++; break;
		case 'r': *out++ = '\r'; in++; break;
		case 'b': *out++ = '\b'; in++; break;
		case 'f': *out++ = '\f'; in++; break;
		case 'u': {
			unsigned int cp = 0;

			for (int i = 1; i <= 4; i++) {
				int h = dms_hex_digit(in[i]);

				if (h < 0)
					return NULL;
				cp = cp * 16 + (unsigned int)h;
			}
			/* six input bytes make at most three */
			if (cp == 0)
				return NULL;
			if (cp < 0x80) {
				*out++ = (char)cp;
			} else if (cp < 0x800) {
				*out++ = (char)(0xc0 | (cp >> 6));
				*out++ = (char)(0x80 | (cp & 0x3f));
			} else {
				*out++ = (char)(0xe0 | (cp >> 12));
				*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
				*out++ = (char)(0x80 | (cp & 0x3f));
			}
			in += 5;
			break;
		}
		default:
			return NULL;
		}
	}
	*out = '\0';
	*p = in + 1;
	return start;
}

int dms_audit_line_parse(const char *line, size_t len,
			 struct dms_audit_line *line_r)
{
	char *p;

	memset(line_r, 0, sizeof(*line_r));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (memchr(line, '\0', len) != NULL ||
	    (line_r->buf = malloc(len + 1)) == NULL)
		return -1;
	memcpy(line_r->buf, line, len);
	line_r->buf[len] = '\0';
	p = (char *)skip_ws(line_r->buf);
	if (*p++ != '{')
		return -1;
	p = (char *)skip_ws(p);
	if (*p == '}')
		return *skip_ws(p + 1) == '\0' ? 0 : -1;
	for (;;) {
		struct dms_audit_field *f;
		char *end, next;

		if (line_r->count == DMS_AUDIT_FIELDS_MAX || *p++ != '"')
			return -1;
		f = &line_r->fields[line_r->count];
		if ((f->key = parse_string(&p)) == NULL)
			return -1;
		p = (char *)skip_ws(p);
		if (*p++ != ':')
			return -1;
		p = (char *)skip_ws(p);
		if (*p == '"') {
			p++;
			if ((f->value = parse_string(&p)) == NULL)
				return -1;
			p = (char *)skip_ws(p);
			next = *p;
		} else {
			/* null, true, false or a non-negative integer */
			for (end = p; (*end >= 'a' && *end <= 'z') ||
				      (*end >= '0' && *end <= '9'); end++) ;
			if (end - p == 4 && strncmp(p, "null", 4) == 0)
				f->value = NULL;
			else if ((end - p == 4 && strncmp(p, "true", 4) == 0) ||
				 (end - p == 5 && strncmp(p, "false", 5) == 0) ||
				 (end > p && strspn(p, "0123456789") ==
				  (size_t)(end - p)))
				f->value = p;
			else
				return -1;
			/* the token ends here: terminate it, keeping what
			   came after it */
			next = *end;
			*end = '\0';
			p = end;
			if (next == ' ' || next == '\t') {
				p = (char *)skip_ws(p + 1);
				next = *p;
			}
		}
		line_r->count++;
		if (next == ',') {
			p = (char *)skip_ws(p + 1);
			continue;
		}
		if (next == '}')
			return *skip_ws(p + 1) == '\0' ? 0 : -1;
		return -1;
	}
}

void dms_audit_line_free(struct dms_audit_line *line)
{
	free(line->buf);
	line->buf = NULL;
	line->count = 0;
}

const char *dms_audit_line_get(const struct dms_audit_line *line,
			       const char *key)
{
	for (unsigned int i = 0; i < line->count; i++) {
		if (strcmp(line->fields[i].key, key) == 0)
			return line->fields[i].value;
	}
	return NULL;
}

uint64_t dms_audit_line_number(const struct dms_audit_line *line,
			       const char *key)
{
	const char *value = dms_audit_line_get(line, key);
	uint64_t n = 0;

	if (value == NULL)
		return 0;
	for (; *value >= '0' && *value <= '9'; value++) {
		if (n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*value - '0');
	}
	return n;
}
