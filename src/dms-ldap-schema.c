/* Attribute type names in the directory's schema. */

#include "dms-ldap-schema.h"

#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One qdescr, 'name', at *P (END bounds it): compared with NAME, and *P
   moved past it. false when there is none. */
static bool qdescr(const char **p, const char *end, const char *name,
		   bool *match)
{
	const char *start, *q = *p;
	size_t name_len = strlen(name);

	if (q >= end || *q != '\'')
		return false;
	start = ++q;
	while (q < end && *q != '\'')
		q++;
	if (q >= end)
		return false;
	if ((size_t)(q - start) == name_len &&
	    strncasecmp(start, name, name_len) == 0)
		*match = true;
	*p = q + 1;
	return true;
}

bool dms_ldap_schema_names(const char *def, size_t len, const char *name)
{
	const char *p = def, *end = def + len;
	bool match = false;

	/* NAME is a keyword of the description, after the OID: look for it
	   as a word outside quotes */
	while (p < end) {
		if (*p == '\'') {
			/* a quoted string (DESC, another NAME): skip it */
			for (p++; p < end && *p != '\''; p++) ;
			p++;
			continue;
		}
		if (end - p >= 4 && strncmp(p, "NAME", 4) == 0 &&
		    (p == def || is_space(p[-1])) &&
		    (end - p == 4 || is_space(p[4]) || p[4] == '\'' ||
		     p[4] == '('))
			break;
		p++;
	}
	if (p >= end)
		return false;
	p += 4;
	while (p < end && is_space(*p))
		p++;
	if (p < end && *p == '(') {
		/* NAME ( 'a' 'b' ... ) */
		for (p++;;) {
			while (p < end && is_space(*p))
				p++;
			if (p >= end || *p == ')')
				break;
			if (!qdescr(&p, end, name, &match))
				return false;
		}
		return match;
	}
	return qdescr(&p, end, name, &match) && match;
}
