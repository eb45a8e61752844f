#ifndef DMS_LDAP_SCHEMA_H
#define DMS_LDAP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

/* The directory's schema, as its subschema entry publishes it (RFC 4512
   attributeTypes values), checked against the attribute names of the
   settings file: a misspelt attr_* name would otherwise read as an
   attribute every entry lacks. Knows nothing of libldap. */

/* Whether the AttributeTypeDescription DEF (LEN bytes), e.g.
   "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )", names NAME (ASCII
   case ignored, as LDAP compares descriptors). */
bool dms_ldap_schema_names(const char *def, size_t len, const char *name);

#endif
