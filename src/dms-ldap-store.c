/* Masters looked up in LDAP, with a cache bounded in time. */

#include "dms-ldap-store.h"
#include "dms-ldap-conn.h"
#include "dms-ldap-entry.h"
#include "dms-password.h"
#include "dms-totp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Names remembered at most: masters are few, and the names clients try
   that are no master's must not grow the process without bound. */
#define DMS_LDAP_CACHE_MAX 256
/* Distinct hash costs seen (as DMS_STORE_DUMMY_COSTS_MAX) */
#define DMS_LDAP_COSTS_MAX 16

struct dms_ldap_cache_slot {
	char *name;
	uint64_t expires_msec;
	/* a one-line store with the master; NULL: no such master */
	struct dms_store *store;
	/* its dmsGrant values, one a line ("" for none) */
	char *grants;
};

struct dms_ldap_store {
	struct dms_ldap_config config;
	enum dms_scheme default_scheme;
	struct dms_ldap_conn *conn;
	struct dms_ldap_cache_slot cache[DMS_LDAP_CACHE_MAX];
	/* without a cache: the last master looked up, and its grants */
	struct dms_store *last;
	char *last_grants;
	/* the grants of the last lookup's answer */
	const char *grants;

	/* "{SCHEME}HASH", one per distinct cost seen, and the store made
	   of them that times the dummy and padding hashes */
	char *cost_hashes[DMS_LDAP_COSTS_MAX];
	size_t cost_prefix_len[DMS_LDAP_COSTS_MAX];
	unsigned int n_costs;
	struct dms_store *costs;
};


static int costs_rebuild(struct dms_ldap_store *store)
{
	size_t len = 0;
	char *buf, *p;

	for (unsigned int i = 0; i < store->n_costs; i++)
		len += strlen(store->cost_hashes[i]) + 8;
	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	p = buf;
	for (unsigned int i = 0; i < store->n_costs; i++)
		p += sprintf(p, "c%u|%s\n", i, store->cost_hashes[i]);
	dms_store_free(&store->costs);
	store->costs = dms_store_new_from_buffer(buf, (size_t)(p - buf),
						 store->default_scheme,
						 NULL, NULL);
	free(buf);
	return store->costs == NULL ? -1 : 0;
}

/* Remember HASH's cost ("{SCHEME}HASH" or bare) if it is a new one. */
static void costs_add(struct dms_ldap_store *store, const char *stored)
{
	enum dms_scheme scheme;
	const char *hash, *error;
	size_t prefix_len;
	char *line;

	if (dms_password_parse(stored, store->default_scheme, &scheme, &hash,
			       &error) < 0)
		return;
	prefix_len = dms_password_cost_prefix_len(hash);
	for (unsigned int i = 0; i < store->n_costs; i++) {
		const char *seen = strchr(store->cost_hashes[i], '}') + 1;

		if (store->cost_prefix_len[i] == prefix_len &&
		    strncmp(seen, hash, prefix_len) == 0)
			return;
	}
	if (store->n_costs == DMS_LDAP_COSTS_MAX)
		return;
	line = malloc(strlen(dms_scheme_name(scheme)) + strlen(hash) + 3);
	if (line == NULL)
		return;
	sprintf(line, "{%s}%s", dms_scheme_name(scheme), hash);
	store->cost_hashes[store->n_costs] = line;
	store->cost_prefix_len[store->n_costs++] = prefix_len;
	/* rare: once per new scheme or cost; the next dummy_hash() call
	   times them all again */
	(void)costs_rebuild(store);
}

struct dms_ldap_store *dms_ldap_store_new(struct dms_ldap_config *config,
					  const char *password,
					  enum dms_scheme default_scheme)
{
	struct dms_ldap_store *store = calloc(1, sizeof(*store));
	char floor[DMS_PASSWORD_HASH_MAX], plain[32];
	const char *error;

	if (store == NULL)
		return NULL;
	store->config = *config;
	memset(config, 0, sizeof(*config));
	store->default_scheme = default_scheme;
	store->conn = dms_ldap_conn_new(&store->config, store->config.bind_dn,
					password);
	if (store->conn == NULL) {
		dms_ldap_store_free(&store);
		return NULL;
	}
	/* unknown names cost at least a default SHA512-CRYPT hash, the
	   scheme setup and docker-mailserver write, before any master's
	   own hash has been seen */
	snprintf(plain, sizeof(plain), "dms-floor-%ld", (long)time(NULL));
	if (dms_password_hash(plain, "SHA512-CRYPT", floor, sizeof(floor),
			      &error) == 0)
		costs_add(store, floor);
	return store;
}

static void slot_clear(struct dms_ldap_cache_slot *slot)
{
	free(slot->name);
	dms_store_free(&slot->store);
	free(slot->grants);
	memset(slot, 0, sizeof(*slot));
}

void dms_ldap_store_free(struct dms_ldap_store **_store)
{
	struct dms_ldap_store *store = *_store;

	if (store == NULL)
		return;
	*_store = NULL;
	for (unsigned int i = 0; i < DMS_LDAP_CACHE_MAX; i++)
		slot_clear(&store->cache[i]);
	dms_store_free(&store->last);
	free(store->last_grants);
	for (unsigned int i = 0; i < store->n_costs; i++)
		free(store->cost_hashes[i]);
	dms_store_free(&store->costs);
	dms_ldap_conn_free(&store->conn);
	dms_ldap_config_free(&store->config);
	free(store);
}

const struct dms_ldap_config *
dms_ldap_store_config(const struct dms_ldap_store *store)
{
	return &store->config;
}

struct parse_warning {
	char *error;
	size_t size;
	bool warned;
};

static void parse_warning(void *context, unsigned int line,
			  const char *message)
{
	struct parse_warning *w = context;

	(void)line;
	if (!w->warned)
		snprintf(w->error, w->size, "%s", message);
	w->warned = true;
}

/* Ask the directory about NAME. Returns 1 with *store_r (a store with
   the one master), 0 for no such master, -1 with ERROR. */
/* ENTRY's grants, one a line (malloc()ed; "" for none), NULL when out
   of memory. A value with a newline would be two lines: none is taken
   then (fail closed: no grant). */
static char *entry_grants(const struct dms_ldap_entry *entry)
{
	const struct dms_ldap_values *v = &entry->attrs[DMS_LDAP_ATTR_GRANT];
	size_t len = 0;
	char *text, *p;

	for (unsigned int i = 0; i < v->count; i++) {
		if (memchr(v->values[i].data, '\n', v->values[i].len) != NULL ||
		    memchr(v->values[i].data, '\0', v->values[i].len) != NULL)
			return strdup("");
		len += v->values[i].len + 1;
	}
	if ((text = malloc(len + 1)) == NULL)
		return NULL;
	p = text;
	for (unsigned int i = 0; i < v->count; i++) {
		memcpy(p, v->values[i].data, v->values[i].len);
		p += v->values[i].len;
		*p++ = '\n';
	}
	*p = '\0';
	return text;
}

static int directory_lookup(struct dms_ldap_store *store, const char *name,
			    struct dms_store **store_r, char **grants_r,
			    char *error, size_t error_size)
{
	struct dms_ldap_result *result;
	const struct dms_ldap_entry *entry;
	struct parse_warning warning = { NULL, 0, false };
	char *line, msg[512], filter_text[256];
	int ret;

	*store_r = NULL;
	*grants_r = NULL;
	if (dms_ldap_conn_search_name(store->conn, name, &result, filter_text,
				      sizeof(filter_text), error,
				      error_size) < 0)
		return -1;
	if (dms_ldap_result_count(result) == 0) {
		dms_ldap_result_free(&result);
		return 0;
	}
	if (dms_ldap_result_count(result) > 1) {
		/* which one would be a guess: refuse both */
		dms_ldap_error(error, error_size, "LDAP search %s under %s: %u "
			  "entries for one master (%s, %s)", filter_text,
			  store->config.base, dms_ldap_result_count(result),
			  dms_ldap_result_entry(result, 0)->dn,
			  dms_ldap_result_entry(result, 1)->dn);
		dms_ldap_result_free(&result);
		return -1;
	}
	entry = dms_ldap_result_entry(result, 0);
	ret = dms_ldap_entry_line(name, entry,
				  (const char *const *)store->config.attrs,
				  &line, msg, sizeof(msg));
	if (ret <= 0) {
		if (ret < 0) {
			dms_ldap_error(error, error_size, "LDAP entry %s: %s",
				  entry->dn, msg);
		}
		dms_ldap_result_free(&result);
		return ret;
	}
	warning.error = msg;
	warning.size = sizeof(msg);
	*store_r = dms_store_new_from_buffer(line, strlen(line),
					     store->default_scheme,
					     parse_warning, &warning);
	free(line);
	if (*store_r == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		ret = -1;
	} else if (dms_store_count(*store_r) != 1) {
		/* the store's parser refused it: a bad policy value */
		dms_ldap_error(error, error_size, "LDAP entry %s: %s", entry->dn,
			  warning.warned ? msg : "malformed");
		dms_store_free(store_r);
		ret = -1;
	} else if ((*grants_r = entry_grants(entry)) == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		dms_store_free(store_r);
		ret = -1;
	}
	dms_ldap_result_free(&result);
	return ret;
}

static struct dms_ldap_cache_slot *
cache_slot(struct dms_ldap_store *store, const char *name, uint64_t now)
{
	struct dms_ldap_cache_slot *free_slot = NULL, *oldest = NULL;

	for (unsigned int i = 0; i < DMS_LDAP_CACHE_MAX; i++) {
		struct dms_ldap_cache_slot *slot = &store->cache[i];

		if (slot->name == NULL) {
			if (free_slot == NULL)
				free_slot = slot;
			continue;
		}
		if (slot->expires_msec <= now) {
			/* past the bound: never used again */
			slot_clear(slot);
			if (free_slot == NULL)
				free_slot = slot;
			continue;
		}
		if (strcmp(slot->name, name) == 0)
			return slot;
		if (oldest == NULL || slot->expires_msec < oldest->expires_msec)
			oldest = slot;
	}
	if (free_slot == NULL) {
		slot_clear(oldest);
		free_slot = oldest;
	}
	return free_slot;
}

int dms_ldap_store_lookup(struct dms_ldap_store *store, const char *name,
			  uint64_t now_msec,
			  const struct dms_store_entry **entry_r,
			  char *error, size_t error_size)
{
	struct dms_ldap_cache_slot *slot = NULL;
	struct dms_store *found;
	char *grants;
	int ret;

	store->grants = "";
	if (store->config.cache_ttl_secs > 0) {
		slot = cache_slot(store, name, now_msec);
		if (slot->name != NULL) {
			if (slot->store == NULL)
				return 0;
			store->grants = slot->grants;
			return dms_store_lookup(slot->store, name, entry_r);
		}
	}
	ret = directory_lookup(store, name, &found, &grants, error,
			       error_size);
	if (ret < 0)
		return -1;
	if (found != NULL) {
		if (dms_store_lookup(found, name, entry_r) <= 0) {
			/* the line read back under another name: cannot
			   happen for the names the entry code lets through;
			   refused all the same */
			dms_ldap_error(error, error_size, "LDAP entry for %s read "
				  "back under another name", name);
			dms_store_free(&found);
			free(grants);
			return -1;
		}
		costs_add(store, (*entry_r)->password);
	}
	if (slot == NULL || (slot->name = strdup(name)) == NULL) {
		/* not remembered (no cache, or no memory); still answered */
		dms_store_free(&store->last);
		free(store->last_grants);
		store->last = found;
		store->last_grants = grants;
	} else {
		slot->store = found;
		slot->grants = grants;
		slot->expires_msec = now_msec +
			(uint64_t)store->config.cache_ttl_secs * 1000;
	}
	store->grants = grants != NULL ? grants : "";
	return ret;
}

/* One value of ATTR of ENTRY as a string: 1 with *value_r (malloc()ed),
   0 when absent, -1 when it has several or holds a NUL. */
static int entry_value(const struct dms_ldap_entry *entry,
		       enum dms_ldap_attr attr, char **value_r)
{
	const struct dms_ldap_values *v = &entry->attrs[attr];

	*value_r = NULL;
	if (v->count == 0)
		return 0;
	if (v->count > 1 || memchr(v->values[0].data, '\0',
				   v->values[0].len) != NULL)
		return -1;
	*value_r = strndup(v->values[0].data, v->values[0].len);
	return *value_r == NULL ? -1 : 1;
}

int dms_ldap_store_totp(struct dms_ldap_store *store, const char *name,
			const char *code, int64_t now, bool password_ok,
			const char **rule_r, char *error, size_t error_size)
{
	for (unsigned int attempt = 0;; attempt++) {
		struct dms_ldap_result *result = NULL;
		const struct dms_ldap_entry *entry;
		const char *err;
		char *line = NULL, *secret = NULL, *last = NULL;
		char msg[512], new_step[24];
		long long last_step = -1;
		int64_t step = 0;
		int ret, ldap_rc;

		if (dms_ldap_conn_search_name(store->conn, name, &result, NULL,
					      0, error, error_size) < 0)
			return -1;
		if (dms_ldap_result_count(result) != 1) {
			dms_ldap_error(error, error_size, "LDAP: master %s: "
				       "not one entry for its TOTP secret",
				       name);
			dms_ldap_result_free(&result);
			return -1;
		}
		entry = dms_ldap_result_entry(result, 0);
		/* the master's own entry, as the lookup found it */
		ret = dms_ldap_entry_line(name, entry,
			(const char *const *)store->config.attrs, &line,
			msg, sizeof(msg));
		free(line);
		if (ret <= 0 ||
		    entry_value(entry, DMS_LDAP_ATTR_TOTP_SECRET,
				&secret) <= 0 ||
		    entry_value(entry, DMS_LDAP_ATTR_TOTP_STEP, &last) < 0) {
			dms_ldap_error(error, error_size, "LDAP entry %s: no "
				       "single %s (readable by the module's "
				       "bind DN) or a bad %s", entry->dn,
				       store->config.attrs[
					       DMS_LDAP_ATTR_TOTP_SECRET],
				       store->config.attrs[
					       DMS_LDAP_ATTR_TOTP_STEP]);
			*rule_r = "totp_secret";
			ret = 0;
			goto next;
		}
		if (last != NULL) {
			char *end;

			last_step = strtoll(last, &end, 10);
			if (*end != '\0' || end == last) {
				dms_ldap_error(error, error_size, "LDAP entry "
					       "%s: %s is not a number",
					       entry->dn, store->config.attrs[
						       DMS_LDAP_ATTR_TOTP_STEP]);
				*rule_r = "totp_secret";
				ret = 0;
				goto next;
			}
		}
		ret = dms_totp_accept(secret, code, now, password_ok, &step,
				      &err);
		if (ret < 0) {
			dms_ldap_error(error, error_size, "LDAP entry %s: %s",
				       entry->dn, err);
			*rule_r = "totp_secret";
			ret = 0;
			goto next;
		}
		*rule_r = "totp";
		if (ret == 0)
			goto next;
		if (step <= last_step) {
			*rule_r = "totp_replay";
			ret = 0;
			goto next;
		}
		snprintf(new_step, sizeof(new_step), "%lld", (long long)step);
		ret = dms_ldap_conn_replace_value(store->conn, entry->dn,
						  DMS_LDAP_ATTR_TOTP_STEP, last,
						  new_step, &ldap_rc, error,
						  error_size);
		if (ret == 0) {
			ret = 1;
		} else if (ldap_rc == DMS_LDAP_NO_SUCH_ATTRIBUTE ||
			   ldap_rc == DMS_LDAP_TYPE_OR_VALUE_EXISTS ||
			   ldap_rc == DMS_LDAP_CONSTRAINT) {
			/* another server wrote first: read it again, once;
			   then it is theirs */
			*rule_r = "totp_replay";
			ret = attempt == 0 ? 2 : 0;
		} else {
			ret = -1;
		}
next:
		if (secret != NULL) {
			dms_wipe(secret, strlen(secret));
			free(secret);
		}
		free(last);
		dms_ldap_result_free(&result);
		if (ret != 2)
			return ret;
	}
}

const char *dms_ldap_store_grants(const struct dms_ldap_store *store)
{
	return store->grants == NULL ? "" : store->grants;
}

const char *dms_ldap_store_dummy_hash(struct dms_ldap_store *store)
{
	return store->costs == NULL ? NULL :
		dms_store_dummy_hash(store->costs);
}

const char *dms_ldap_store_pad_hash(struct dms_ldap_store *store,
				    const struct dms_store_entry *entry,
				    unsigned int *times_r)
{
	return store->costs == NULL ? NULL :
		dms_store_pad_hash(store->costs, entry, times_r);
}
