/* Matching login names against dms_allow= patterns. */

#include "dms-pattern.h"

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

bool dms_pattern_match(const char *pattern, const char *name)
{
	const unsigned char *p = (const unsigned char *)pattern;
	const unsigned char *n = (const unsigned char *)name;
	const unsigned char *star_p = NULL, *star_n = NULL;

	/* Greedy with one backtracking point, the last '*': a later '*'
	   makes earlier ones irrelevant, so no pattern costs more than
	   len(pattern) * len(name) steps (no exponential blow-up on
	   "*a*a*a*a*b"). */
	while (*n != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			star_p = p;
			star_n = n;
		} else if (*p != '\0' && (*p == '?' || lower(*p) == lower(*n))) {
			p++;
			n++;
		} else if (star_p != NULL) {
			/* let the last '*' swallow one more character */
			p = star_p;
			n = ++star_n;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

const char *dms_pattern_check(const char *pattern, size_t len)
{
	if (len == 0)
		return "empty pattern";
	if (len > DMS_PATTERN_MAX)
		return "pattern longer than 255 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pattern[i];

		if (c <= ' ' || c == 0x7f)
			return "white space or control character in a pattern";
		if (c == ',')
			return "',' in a pattern (it separates patterns)";
	}
	return NULL;
}
