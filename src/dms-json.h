#ifndef DMS_JSON_H
#define DMS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing malloc()ed string for one record line, and the JSON parts the
   audit records share. Out of memory is remembered, not reported at each
   call: dms_buf_finish() returns NULL then. */
struct dms_buf {
	char *data;
	size_t len, size;
	bool failed;
};

void dms_buf_add(struct dms_buf *b, const char *data, size_t len);
void dms_buf_cat(struct dms_buf *b, const char *text);
/* The string (NUL-terminated; "" when nothing was added), or NULL when
   memory ran out (then freed). */
char *dms_buf_finish(struct dms_buf *b);

/* JSON object members, after dms_buf_cat(b, "{") (a comma goes before
   every member but one right after a "{"): "KEY":"VALUE" (null
   for NULL; control characters, '"', '\' and bytes that are not
   well-formed UTF-8 escaped, so the line stays valid JSON), "KEY":RAW
   (a number or true/false, written as given), and a time stamp
   "KEY":"YYYY-MM-DDTHH:MM:SS.uuuuuuZ" from microseconds since the
   epoch. */
void dms_json_string(struct dms_buf *b, const char *key, const char *value);
/* A string value alone ("VALUE", or null), for arrays. */
void dms_json_value(struct dms_buf *b, const char *value);
void dms_json_raw(struct dms_buf *b, const char *key, const char *raw);
void dms_json_time(struct dms_buf *b, const char *key, int64_t time_usec);

/* The value of one hexadecimal digit, or -1 (JSON's \uXXXX, LDAP URIs'
   %XX). */
int dms_hex_digit(char c);

#endif
