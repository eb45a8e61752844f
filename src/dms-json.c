/* Record lines: the buffer and JSON's escaping. */

#include "dms-json.h"
#include "dms-policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dms_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void dms_buf_add(struct dms_buf *b, const char *data, size_t len)
{
	if (b->failed)
		return;
	if (b->len + len + 1 > b->size) {
		size_t size = b->size == 0 ? 256 : b->size;
		char *n;

		while (b->len + len + 1 > size)
			size *= 2;
		if ((n = realloc(b->data, size)) == NULL) {
			b->failed = true;
			return;
		}
		b->data = n;
		b->size = size;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void dms_buf_cat(struct dms_buf *b, const char *text)
{
	dms_buf_add(b, text, strlen(text));
}

char *dms_buf_finish(struct dms_buf *b)
{
	dms_buf_add(b, "", 0);
	if (b->failed) {
		free(b->data);
		return NULL;
	}
	return b->data;
}

/* Length of the well-formed UTF-8 sequence at P (RFC 3629: no overlong
   forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned int cp, min;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2; cp = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3; cp = p[0] & 0x0f; min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4; cp = p[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void dms_json_value(struct dms_buf *b, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	char hex[8];

	if (value == NULL) {
		dms_buf_cat(b, "null");
		return;
	}
	dms_buf_add(b, "\"", 1);
	while (*p != '\0') {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\') {
			dms_buf_add(b, "\\", 1);
			dms_buf_add(b, (const char *)p, 1);
		} else if (*p < 0x20 || *p == 0x7f || n == 0) {
			/* invalid UTF-8 bytes too: the line stays valid
			   JSON, the byte stays visible */
			snprintf(hex, sizeof(hex), "\\u00%02x", *p);
			dms_buf_cat(b, hex);
			n = 1;
		} else {
			dms_buf_add(b, (const char *)p, n);
		}
		p += n;
	}
	dms_buf_add(b, "\"", 1);
}

static void json_key(struct dms_buf *b, const char *key)
{
	/* no comma before an object's first member */
	bool first = b->len == 0 || b->data[b->len - 1] == '{';

	dms_buf_add(b, first ? "\"" : ",\"", first ? 1 : 2);
	dms_buf_cat(b, key);
	dms_buf_add(b, "\":", 2);
}

void dms_json_string(struct dms_buf *b, const char *key, const char *value)
{
	json_key(b, key);
	dms_json_value(b, value);
}

void dms_json_raw(struct dms_buf *b, const char *key, const char *raw)
{
	json_key(b, key);
	dms_buf_cat(b, raw);
}

void dms_json_time(struct dms_buf *b, const char *key, int64_t time_usec)
{
	char tbuf[DMS_TIME_BUF], ts[DMS_TIME_BUF + 8];
	int64_t secs = time_usec / 1000000;
	long usec = (long)(time_usec % 1000000);

	/* YYYY-MM-DDTHH:MM:SSZ -> YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
	dms_time_format(secs, tbuf);
	tbuf[strlen(tbuf) - 1] = '\0';
	snprintf(ts, sizeof(ts), "%s.%06ldZ", tbuf, usec);
	dms_json_string(b, key, ts);
}
