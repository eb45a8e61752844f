/* libFuzzer target: the store parser (any bytes, NULs included). */
#include "dms-store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *context, unsigned int line, const char *message)
{
	(void)context; (void)line;
	if (message == NULL || strlen(message) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dms_store *store;
	const struct dms_store_entry *entries, *e;
	size_t count;

	store = dms_store_new_from_buffer((const char *)data, size,
					  DMS_DEFAULT_SCHEME, ignore, NULL);
	if (store == NULL)
		return 0;
	entries = dms_store_entries(store, &count);
	for (size_t i = 0; i < count; i++) {
		enum dms_scheme scheme;
		const char *hash, *error;

		/* every entry is found again, and is itself */
		if (dms_store_lookup(store, entries[i].name, &e) != 1 ||
		    e != &entries[i] || entries[i].name[0] == '\0' ||
		    strlen(entries[i].name) > DMS_STORE_NAME_MAX ||
		    entries[i].password[0] == '\0')
			abort();
		(void)dms_password_parse(entries[i].password,
					 DMS_DEFAULT_SCHEME, &scheme, &hash,
					 &error);
	}
	(void)dms_store_lookup(store, "admin", &e);
	dms_store_free(&store);
	return 0;
}
