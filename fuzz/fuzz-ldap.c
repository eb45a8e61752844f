/* libFuzzer target: what masters in LDAP take from outside: the settings
   file, names put into filters and DNs, and directory entries made into
   store lines. The first byte picks which. */
#include "dms-ldap-config.h"
#include "dms-ldap-entry.h"
#include "dms-store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_config(const uint8_t *data, size_t size)
{
	struct dms_ldap_config config;
	char error[256];

	if (dms_ldap_config_parse((const char *)data, size, &config, error,
				  sizeof(error)) == 0) {
		if (config.uris == NULL || config.base == NULL ||
		    strstr(config.filter, "%u") == NULL)
			abort();
		dms_ldap_config_free(&config);
	} else if (error[0] == '\0') {
		abort();
	}
}

/* The escaped name has no byte a filter or DN could read as syntax. */
static void fuzz_escape(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 1), *f, *dn;
	const char *error;

	memcpy(name, data, size);
	name[size] = '\0';
	f = dms_ldap_filter_escape((const char *)data, size);
	for (const char *p = f; *p != '\0'; p++) {
		if (*p == '*' || *p == '(' || *p == ')' ||
		    (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
		if (*p == '\\' && (p[1] == '\0' || p[2] == '\0'))
			abort();
		if (*p == '\\')
			p += 2;
	}
	free(f);
	f = dms_ldap_filter_expand("(uid=%u)", name, false, &error);
	if (f == NULL || f[0] != '(' || strchr(f + 1, '(') != NULL)
		abort();
	free(f);
	dn = dms_ldap_dn_escape(name);
	for (const char *p = dn; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				abort();
			p++;
		} else if (strchr(",+\"<>;=", *p) != NULL ||
			   (unsigned char)*p < 0x20) {
			abort();
		}
	}
	free(dn);
	free(name);
}

/* "NAME\nA:VALUE\nA:VALUE..." with A the attribute's index digit: an
   entry whose line, when there is one, the store reads as one master of
   that name, or not at all. */
static void fuzz_entry(const uint8_t *data, size_t size)
{
	struct dms_ldap_value values[DMS_LDAP_ATTR_COUNT][8];
	struct dms_ldap_entry entry = { .dn = "uid=x" };
	const struct dms_store_entry *found;
	const char *p = (const char *)data, *end = p + size, *nl;
	char name[64], *line, error[512];
	struct dms_store *store;
	size_t len;

	nl = memchr(p, '\n', size);
	len = nl == NULL ? size : (size_t)(nl - p);
	if (len >= sizeof(name) || memchr(p, '\0', len) != NULL)
		return;
	memcpy(name, p, len);
	name[len] = '\0';
	p = nl == NULL ? end : nl + 1;
	while (p < end) {
		unsigned int attr;

		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		if (len >= 2 && p[0] >= '0' &&
		    (attr = (unsigned int)(p[0] - '0')) < DMS_LDAP_ATTR_COUNT &&
		    entry.attrs[attr].count < 8) {
			values[attr][entry.attrs[attr].count].data = p + 2;
			values[attr][entry.attrs[attr].count].len = len - 2;
			entry.attrs[attr].values = values[attr];
			entry.attrs[attr].count++;
		}
		p = nl == NULL ? end : nl + 1;
	}
	if (dms_ldap_entry_line(name, &entry, dms_ldap_attr_defaults, &line,
				error, sizeof(error)) <= 0)
		return;
	if (strchr(line, '\n') != NULL || strchr(line, '\r') != NULL)
		abort();
	store = dms_store_new_from_buffer(line, strlen(line),
					  DMS_SCHEME_SHA512_CRYPT, NULL, NULL);
	if (store == NULL || dms_store_count(store) > 1)
		abort();
	if (dms_store_count(store) == 1 &&
	    dms_store_lookup(store, name, &found) != 1)
		abort();
	dms_store_free(&store);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_config(data + 1, size - 1);
		break;
	case 1:
		fuzz_escape(data + 1, size - 1);
		break;
	default:
		fuzz_entry(data + 1, size - 1);
		break;
	}
	return 0;
}
