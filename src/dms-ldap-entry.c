/* An LDAP master entry, made into a store line. */

#include "dms-ldap-entry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the options these attributes become, by enum dms_ldap_attr */
static const char *const option_keys[DMS_LDAP_ATTR_COUNT] = {
	NULL, NULL, "dms_allow", "dms_services", "dms_read_only",
	"dms_expires", "dms_disabled", "dms_deny", "dms_ports", "dms_totp",
	"dms_require_grant", "dms_grant_approval", "dms_record",
	"dms_notify_owner", NULL, NULL, NULL,
};

/* Bytes that could change how the line is read: field and option
   separators, list separators, anything not printable. */
static bool value_safe(const struct dms_ldap_value *value, bool list_item)
{
	if (value->len == 0)
		return false;
	for (size_t i = 0; i < value->len; i++) {
		unsigned char c = (unsigned char)value->data[i];

		if (c <= 0x20 || c >= 0x7f || c == '|' ||
		    (list_item && c == ','))
			return false;
	}
	return true;
}

int dms_ldap_time_to_store(const char *value, size_t len, char *buf)
{
	if (len != 15 || value[14] != 'Z')
		return -1;
	for (unsigned int i = 0; i < 14; i++) {
		if (value[i] < '0' || value[i] > '9')
			return -1;
	}
	snprintf(buf, 21, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", value, value + 4,
		 value + 6, value + 8, value + 10, value + 12);
	return 0;
}

/* Append LEN bytes to the line being built. */
struct line_buf {
	char *data;
	size_t len, size;
};

static int line_append(struct line_buf *line, const char *data, size_t len)
{
	if (line->len + len + 1 > line->size) {
		size_t size = (line->len + len + 1) * 2;
		char *data2 = realloc(line->data, size);

		if (data2 == NULL)
			return -1;
		line->data = data2;
		line->size = size;
	}
	memcpy(line->data + line->len, data, len);
	line->len += len;
	line->data[line->len] = '\0';
	return 0;
}

static int line_append_str(struct line_buf *line, const char *str)
{
	return line_append(line, str, strlen(str));
}

static bool value_is(const struct dms_ldap_value *v, const char *str)
{
	return v->len == strlen(str) && memcmp(v->data, str, v->len) == 0;
}

static int append_option(struct line_buf *line, enum dms_ldap_attr attr,
			 const struct dms_ldap_values *values,
			 const char **error_r)
{
	const struct dms_ldap_value *v = values->values;
	bool list = attr == DMS_LDAP_ATTR_ALLOW ||
		attr == DMS_LDAP_ATTR_SERVICES || attr == DMS_LDAP_ATTR_DENY ||
		attr == DMS_LDAP_ATTR_PORTS;
	char time_buf[24];
	int ret = 0;

	if (!list && values->count > 1) {
		*error_r = "a single-valued policy attribute has several values";
		return -1;
	}
	for (unsigned int i = 0; i < values->count; i++) {
		if (!value_safe(&v[i], list)) {
			*error_r = "a policy value is empty or has a blank, a "
				"control character, '|' or ','";
			return -1;
		}
		if (values->count > 1 &&
		    ((attr == DMS_LDAP_ATTR_SERVICES &&
		      value_is(&v[i], DMS_LDAP_DEFAULT_SERVICES)) ||
		     (attr == DMS_LDAP_ATTR_DENY &&
		      value_is(&v[i], DMS_LDAP_NO_DENY)) ||
		     (attr == DMS_LDAP_ATTR_PORTS &&
		      value_is(&v[i], DMS_LDAP_ANY_PORT)))) {
			*error_r = "the \"no limit\" value among others";
			return -1;
		}
	}
	/* the values that say "no limit" are no option at all, as in a
	   store line without it */
	if (values->count == 1 &&
	    ((attr == DMS_LDAP_ATTR_ALLOW &&
	      value_is(v, DMS_LDAP_ANY_TARGET)) ||
	     (attr == DMS_LDAP_ATTR_SERVICES &&
	      value_is(v, DMS_LDAP_DEFAULT_SERVICES)) ||
	     (attr == DMS_LDAP_ATTR_EXPIRES && value_is(v, DMS_LDAP_NEVER)) ||
	     (attr == DMS_LDAP_ATTR_DENY && value_is(v, DMS_LDAP_NO_DENY)) ||
	     (attr == DMS_LDAP_ATTR_PORTS && value_is(v, DMS_LDAP_ANY_PORT))))
		return 0;
	ret |= line_append_str(line, line->data[line->len - 1] == '|' ?
			       "" : " ");
	ret |= line_append_str(line, option_keys[attr]);
	ret |= line_append_str(line, "=");
	switch (attr) {
	case DMS_LDAP_ATTR_READ_ONLY:
	case DMS_LDAP_ATTR_DISABLED:
	case DMS_LDAP_ATTR_NOTIFY_OWNER:
	case DMS_LDAP_ATTR_TOTP:
	case DMS_LDAP_ATTR_REQUIRE_GRANT:
	case DMS_LDAP_ATTR_GRANT_APPROVAL:
		/* RFC 4517 Boolean */
		if (value_is(v, "TRUE"))
			ret |= line_append_str(line, "yes");
		else if (value_is(v, "FALSE"))
			ret |= line_append_str(line, "no");
		else {
			*error_r = "a Boolean policy attribute is not TRUE or "
				"FALSE";
			return -1;
		}
		break;
	case DMS_LDAP_ATTR_EXPIRES:
		/* GeneralizedTime, or what the store's line would say
		   (checked there) */
		if (dms_ldap_time_to_store(v->data, v->len, time_buf) == 0)
			ret |= line_append_str(line, time_buf);
		else if (memchr(v->data, 'Z', v->len) != NULL ||
			 v->len == 10)
			ret |= line_append(line, v->data, v->len);
		else {
			*error_r = "the expiry is not a UTC GeneralizedTime "
				"(YYYYMMDDHHMMSSZ)";
			return -1;
		}
		break;
	default:
		for (unsigned int i = 0; i < values->count; i++) {
			if (i > 0)
				ret |= line_append_str(line, ",");
			ret |= line_append(line, v[i].data, v[i].len);
		}
		break;
	}
	if (ret != 0) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}

int dms_ldap_entry_line(const char *name, const struct dms_ldap_entry *entry,
			const char *const attr_names[DMS_LDAP_ATTR_COUNT],
			char **line_r, char *error, size_t error_size)
{
	const struct dms_ldap_values *names = &entry->attrs[DMS_LDAP_ATTR_NAME];
	const struct dms_ldap_values *password =
		&entry->attrs[DMS_LDAP_ATTR_PASSWORD];
	struct line_buf line = { NULL, 0, 0 };
	size_t name_len = strlen(name);
	const char *err;
	unsigned int i;
	int ret = 0;

	/* a name the line could not carry is no master's */
	for (i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || c == ':' || c == '|')
			return 0;
	}
	for (i = 0; i < names->count; i++) {
		if (names->values[i].len == name_len &&
		    memcmp(names->values[i].data, name, name_len) == 0)
			break;
	}
	if (i == names->count)
		return 0;
	if (password->count != 1) {
		snprintf(error, error_size, "%s", password->count == 0 ?
			 "no password" : "several passwords");
		return -1;
	}
	if (!value_safe(&password->values[0], false)) {
		snprintf(error, error_size, "the password has a blank, a "
			 "control character or '|'");
		return -1;
	}
	for (i = DMS_LDAP_ATTR_ALLOW; i < DMS_LDAP_ATTR_REQUIRED_END; i++) {
		if (entry->attrs[i].count == 0) {
			/* absent, or hidden from the reader by an ACL: the
			   two look the same, so neither is "no limit" */
			snprintf(error, error_size, "no %s attribute (attr_%s): "
				 "every master entry must carry every policy "
				 "attribute, readable by the module's bind DN "
				 "(setup writes them; docs/ldap-masters.md)",
				 attr_names[i], dms_ldap_attr_keys[i]);
			return -1;
		}
	}
	ret |= line_append(&line, name, name_len);
	ret |= line_append_str(&line, "|");
	ret |= line_append(&line, password->values[0].data,
			   password->values[0].len);
	ret |= line_append_str(&line, "|");
	if (ret != 0) {
		free(line.data);
		snprintf(error, error_size, "out of memory");
		return -1;
	}
	for (i = DMS_LDAP_ATTR_ALLOW; i < DMS_LDAP_ATTR_OPTIONS_END; i++) {
		/* an optional attribute that is absent: the site's default */
		if (i >= DMS_LDAP_ATTR_REQUIRED_END &&
		    entry->attrs[i].count == 0)
			continue;
		if (append_option(&line, i, &entry->attrs[i], &err) < 0) {
			free(line.data);
			snprintf(error, error_size, "%s: %s", attr_names[i],
				 err);
			return -1;
		}
	}
	if (line.data[line.len - 1] == '|')
		line.data[--line.len] = '\0';
	*line_r = line.data;
	return 1;
}
