#ifndef DMS_LDAP_ENTRY_H
#define DMS_LDAP_ENTRY_H

#include <stddef.h>
#include "dms-ldap-config.h"

/* A master's LDAP entry as the store's own line, so that the one parser
   (dms-store.c, dms-policy.c) decides what a master may do whichever
   store it comes from. Knows nothing of libldap: values are bytes. */

struct dms_ldap_value {
	const char *data;
	size_t len;
};

struct dms_ldap_values {
	const struct dms_ldap_value *values;
	unsigned int count;
};

struct dms_ldap_entry {
	const char *dn;
	/* by enum dms_ldap_attr; count 0: the attribute is absent */
	struct dms_ldap_values attrs[DMS_LDAP_ATTR_COUNT];
};

/* The values by which an entry says "no limit" for an option: every
   master entry carries every policy attribute, since an attribute the
   reader may not read (an ACL) or that the settings file misnames looks
   absent, and absence must never mean "no limit". setup writes them. */
#define DMS_LDAP_ANY_TARGET "*"
#define DMS_LDAP_DEFAULT_SERVICES "default"
#define DMS_LDAP_NEVER "99991231235959Z"
/* dmsDeny's and dmsPorts' "no limit" (as the only value): none denied,
   the site's ports */
#define DMS_LDAP_NO_DENY "none"
#define DMS_LDAP_ANY_PORT "default"

/* The docker-mailserver line "NAME|PASSWORD[|dms_allow=... ...]" of the
   entry for the master NAME, malloc()ed into *line_r. ATTR_NAMES (by
   enum dms_ldap_attr) name the attributes in error messages. Returns 1,
   0 when no value of the name attribute is NAME byte for byte (LDAP
   matched it case-insensitively, or the entry is not that master's), or
   -1 with ERROR for an entry that may not be trusted: a policy attribute
   missing, no password or several, a value with a control character,
   blank, '|' or ',', several values of a single-valued option, a Boolean
   that is not TRUE or FALSE, a time that is not a GeneralizedTime or the
   store's own form, "default" among other services. */
int dms_ldap_entry_line(const char *name, const struct dms_ldap_entry *entry,
			const char *const attr_names[DMS_LDAP_ATTR_COUNT],
			char **line_r, char *error, size_t error_size);

/* LDAP's GeneralizedTime YYYYMMDDHHMMSSZ as the store's
   YYYY-MM-DDTHH:MM:SSZ into BUF (at least 21 bytes); -1 for another
   form. */
int dms_ldap_time_to_store(const char *value, size_t len, char *buf);

#endif
