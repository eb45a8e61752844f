/* A synchronous libldap connection to the directory of masters. */

#include "dms-ldap-conn.h"
#include "dms-password.h"
#include "dms-ldap-schema.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dms_ldap_conn {
	const struct dms_ldap_config *config;
	char *bind_dn;
	char *password;
	LDAP *ld;
};

struct dms_ldap_result {
	LDAPMessage *msg;
	unsigned int count;
	struct dms_ldap_entry *entries;
	/* libldap's values, by entry and attribute, freed with the result */
	struct berval ***bvals;
	char **dns;
};


struct dms_ldap_conn *dms_ldap_conn_new(const struct dms_ldap_config *config,
					const char *bind_dn,
					const char *password)
{
	struct dms_ldap_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return NULL;
	conn->config = config;
	if ((bind_dn != NULL && (conn->bind_dn = strdup(bind_dn)) == NULL) ||
	    (password != NULL && (conn->password = strdup(password)) == NULL)) {
		dms_ldap_conn_free(&conn);
		return NULL;
	}
	return conn;
}

static void conn_close(struct dms_ldap_conn *conn)
{
	if (conn->ld != NULL) {
		ldap_unbind_ext_s(conn->ld, NULL, NULL);
		conn->ld = NULL;
	}
}

void dms_ldap_conn_free(struct dms_ldap_conn **_conn)
{
	struct dms_ldap_conn *conn = *_conn;

	if (conn == NULL)
		return;
	*_conn = NULL;
	conn_close(conn);
	if (conn->password != NULL) {
		dms_wipe(conn->password, strlen(conn->password));
		free(conn->password);
	}
	free(conn->bind_dn);
	free(conn);
}

/* The whole of one lookup or write, connecting included, is bounded by
   the configured timeout: a deadline on the monotonic clock. */
static struct timespec deadline_new(const struct dms_ldap_config *config)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)config->timeout_secs;
	return ts;
}

/* The time left until DEADLINE into *TV (at least 1 ms); false when it
   has passed. */
static bool time_left(const struct timespec *deadline, struct timeval *tv)
{
	struct timespec now;
	long long msec;

	clock_gettime(CLOCK_MONOTONIC, &now);
	msec = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
		(deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (msec <= 0)
		return false;
	tv->tv_sec = (time_t)(msec / 1000);
	tv->tv_usec = (suseconds_t)(msec % 1000) * 1000;
	return true;
}

/* Bound the next synchronous operation by what is left of DEADLINE. */
static int conn_bound(struct dms_ldap_conn *conn,
		      const struct timespec *deadline, struct timeval *tv,
		      char *error, size_t error_size)
{
	if (!time_left(deadline, tv)) {
		dms_ldap_error(error, error_size, "LDAP (%s): no answer within %u "
			  "s", conn->config->uris, conn->config->timeout_secs);
		return -1;
	}
	if (conn->ld != NULL &&
	    (ldap_set_option(conn->ld, LDAP_OPT_NETWORK_TIMEOUT, tv) !=
	     LDAP_OPT_SUCCESS ||
	     ldap_set_option(conn->ld, LDAP_OPT_TIMEOUT, tv) !=
	     LDAP_OPT_SUCCESS)) {
		dms_ldap_error(error, error_size, "LDAP timeout option refused");
		return -1;
	}
	return 0;
}

/* LDAP's message for RC, with the server's diagnostic when it sent one. */
static void conn_error(struct dms_ldap_conn *conn, const char *what, int rc,
		       char *error, size_t error_size)
{
	char *diag = NULL;

	if (conn->ld != NULL)
		(void)ldap_get_option(conn->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE,
				      &diag);
	dms_ldap_error(error, error_size, "LDAP %s failed (%s): %s%s%s", what,
		  conn->config->uris, ldap_err2string(rc),
		  diag != NULL && *diag != '\0' ? ": " : "",
		  diag != NULL ? diag : "");
	ldap_memfree(diag);
}

/* The values of ATTR in the entry DN (a base search), into *values_r,
   with the message they live in; -1 with ERROR when there are none. */
static int conn_read_base(struct dms_ldap_conn *conn, const char *dn,
			  const char *filter, char *attr, struct timeval *tv,
			  LDAPMessage **msg_r, struct berval ***values_r,
			  char *error, size_t error_size)
{
	char *attrs[] = { attr, NULL };
	LDAPMessage *entry;
	int rc;

	*msg_r = NULL;
	*values_r = NULL;
	rc = ldap_search_ext_s(conn->ld, dn, LDAP_SCOPE_BASE, filter, attrs, 0,
			       NULL, NULL, tv, 1, msg_r);
	if (rc != LDAP_SUCCESS) {
		char what[512];

		snprintf(what, sizeof(what), "read of the schema (%s of \"%s\")",
			 attr, dn);
		conn_error(conn, what, rc, error, error_size);
		return -1;
	}
	entry = ldap_first_entry(conn->ld, *msg_r);
	if (entry != NULL)
		*values_r = ldap_get_values_len(conn->ld, entry, attr);
	if (*values_r == NULL) {
		dms_ldap_error(error, error_size, "LDAP (%s): no %s in \"%s\" "
			       "for %s: the schema cannot be checked (the "
			       "reader needs read access to it)",
			       conn->config->uris, attr, dn,
			       conn->bind_dn != NULL ? conn->bind_dn :
			       "anonymous");
		return -1;
	}
	return 0;
}

/* Every required attribute the settings file names must be in the
   directory's schema: a misspelt attr_* name would read as an attribute
   no entry has, and a policy attribute no entry has refuses every master
   with a line that names the entry, not the typo. (The optional ones,
   dmsRecord and dmsNotifyOwner, limit nothing.) */
static int conn_check_schema(struct dms_ldap_conn *conn,
			     const struct timespec *deadline,
			     char *error, size_t error_size)
{
	const struct dms_ldap_config *config = conn->config;
	struct berval **dns, **types;
	LDAPMessage *root_msg = NULL, *schema_msg = NULL;
	struct timeval tv;
	char *dn;
	int ret = 0;

	if (conn_bound(conn, deadline, &tv, error, error_size) < 0 ||
	    conn_read_base(conn, "", "(objectClass=*)",
			   (char *)"subschemaSubentry", &tv, &root_msg, &dns,
			   error, error_size) < 0) {
		if (root_msg != NULL)
			ldap_msgfree(root_msg);
		return -1;
	}
	dn = strndup(dns[0]->bv_val, dns[0]->bv_len);
	ldap_value_free_len(dns);
	ldap_msgfree(root_msg);
	if (dn == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		return -1;
	}
	if (conn_bound(conn, deadline, &tv, error, error_size) < 0 ||
	    conn_read_base(conn, dn, "(objectClass=subschema)",
			   (char *)"attributeTypes", &tv, &schema_msg, &types,
			   error, error_size) < 0) {
		if (schema_msg != NULL)
			ldap_msgfree(schema_msg);
		free(dn);
		return -1;
	}
	for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT && ret == 0; i++) {
		bool found = false;

		for (unsigned int j = 0; types[j] != NULL && !found; j++) {
			found = dms_ldap_schema_names(types[j]->bv_val,
						      types[j]->bv_len,
						      config->attrs[i]);
		}
		/* an optional attribute a directory with 0.2.0's schema
		   lacks: no master has it, the site's settings apply */
		if (!found && i < DMS_LDAP_ATTR_REQUIRED_END) {
			dms_ldap_error(error, error_size, "LDAP (%s): attr_%s "
				       "= %s: no such attribute type in the "
				       "directory's schema (%s)", config->uris,
				       dms_ldap_attr_keys[i], config->attrs[i],
				       dn);
			ret = -1;
		}
	}
	ldap_value_free_len(types);
	ldap_msgfree(schema_msg);
	free(dn);
	return ret;
}

static int conn_connect(struct dms_ldap_conn *conn,
			const struct timespec *deadline, char *error,
			size_t error_size)
{
	const struct dms_ldap_config *config = conn->config;
	struct timeval tv;
	int version = LDAP_VERSION3, zero = 0, rc;
	int require = config->tls_verify ? LDAP_OPT_X_TLS_DEMAND :
		LDAP_OPT_X_TLS_NEVER;
	struct berval cred;

	if (conn->ld != NULL)
		return 0;
	if (!time_left(deadline, &tv))
		return conn_bound(conn, deadline, &tv, error, error_size);
	/* read by libldap now: checked now, as they are */
	if (dms_ldap_config_paths_check(config, error, error_size) < 0)
		return -1;
	rc = ldap_initialize(&conn->ld, config->uris);
	if (rc != LDAP_SUCCESS) {
		conn_error(conn, "initialize", rc, error, error_size);
		conn->ld = NULL;
		return -1;
	}
	if ((rc = ldap_set_option(conn->ld, LDAP_OPT_PROTOCOL_VERSION,
				  &version)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(conn->ld, LDAP_OPT_NETWORK_TIMEOUT,
				  &tv)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(conn->ld, LDAP_OPT_TIMEOUT,
				  &tv)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(conn->ld, LDAP_OPT_REFERRALS,
				  LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(conn->ld, LDAP_OPT_X_TLS_REQUIRE_CERT,
				  &require)) != LDAP_OPT_SUCCESS ||
	    (config->tls_ca_file != NULL &&
	     (rc = ldap_set_option(conn->ld, LDAP_OPT_X_TLS_CACERTFILE,
				   config->tls_ca_file)) != LDAP_OPT_SUCCESS) ||
	    /* the options above apply to a new TLS context only */
	    (rc = ldap_set_option(conn->ld, LDAP_OPT_X_TLS_NEWCTX,
				  &zero)) != LDAP_OPT_SUCCESS) {
		dms_ldap_error(error, error_size, "LDAP options refused (%s): %s",
			  config->uris, ldap_err2string(rc));
		conn_close(conn);
		return -1;
	}
	if (config->starttls &&
	    conn_bound(conn, deadline, &tv, error, error_size) < 0) {
		conn_close(conn);
		return -1;
	}
	if (config->starttls &&
	    (rc = ldap_start_tls_s(conn->ld, NULL, NULL)) != LDAP_SUCCESS) {
		conn_error(conn, "StartTLS", rc, error, error_size);
		conn_close(conn);
		return -1;
	}
	if (conn->bind_dn != NULL) {
		if (conn_bound(conn, deadline, &tv, error, error_size) < 0) {
			conn_close(conn);
			return -1;
		}
		cred.bv_val = conn->password;
		cred.bv_len = strlen(conn->password);
		rc = ldap_sasl_bind_s(conn->ld, conn->bind_dn, LDAP_SASL_SIMPLE,
				      &cred, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			char what[512];

			snprintf(what, sizeof(what), "bind as %s",
				 conn->bind_dn);
			conn_error(conn, what, rc, error, error_size);
			conn_close(conn);
			return -1;
		}
	}
	if (conn_check_schema(conn, deadline, error, error_size) < 0) {
		conn_close(conn);
		return -1;
	}
	return 0;
}

/* Whether RC says the connection is gone, so a new one may work. */
static bool conn_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

unsigned int dms_ldap_result_count(const struct dms_ldap_result *result)
{
	return result->count;
}

const struct dms_ldap_entry *
dms_ldap_result_entry(const struct dms_ldap_result *result, unsigned int idx)
{
	return idx < result->count ? &result->entries[idx] : NULL;
}

void dms_ldap_result_free(struct dms_ldap_result **_result)
{
	struct dms_ldap_result *result = *_result;

	if (result == NULL)
		return;
	*_result = NULL;
	for (unsigned int i = 0; i < result->count; i++) {
		for (unsigned int j = 0; j < DMS_LDAP_ATTR_COUNT; j++) {
			if (result->bvals[i * DMS_LDAP_ATTR_COUNT + j] != NULL)
				ldap_value_free_len(result->bvals[
					i * DMS_LDAP_ATTR_COUNT + j]);
			free((void *)result->entries[i].attrs[j].values);
		}
		ldap_memfree(result->dns[i]);
	}
	free(result->bvals);
	free(result->dns);
	free(result->entries);
	if (result->msg != NULL)
		ldap_msgfree(result->msg);
	free(result);
}

static int result_fill(struct dms_ldap_conn *conn,
		       struct dms_ldap_result *result)
{
	LDAPMessage *e;
	unsigned int n, i = 0;

	n = (unsigned int)ldap_count_entries(conn->ld, result->msg);
	result->entries = calloc(n + 1, sizeof(*result->entries));
	result->bvals = calloc((size_t)(n + 1) * DMS_LDAP_ATTR_COUNT,
			       sizeof(*result->bvals));
	result->dns = calloc(n + 1, sizeof(*result->dns));
	if (result->entries == NULL || result->bvals == NULL ||
	    result->dns == NULL)
		return -1;
	for (e = ldap_first_entry(conn->ld, result->msg); e != NULL && i < n;
	     e = ldap_next_entry(conn->ld, e), i++) {
		result->count = i + 1;
		result->dns[i] = ldap_get_dn(conn->ld, e);
		result->entries[i].dn = result->dns[i] != NULL ?
			result->dns[i] : "";
		for (unsigned int j = 0; j < DMS_LDAP_ATTR_COUNT; j++) {
			struct berval **bv = ldap_get_values_len(conn->ld, e,
				conn->config->attrs[j]);
			struct dms_ldap_value *values;
			unsigned int count;

			result->bvals[i * DMS_LDAP_ATTR_COUNT + j] = bv;
			if (bv == NULL)
				continue;
			count = (unsigned int)ldap_count_values_len(bv);
			values = calloc(count + 1, sizeof(*values));
			if (values == NULL)
				return -1;
			for (unsigned int k = 0; k < count; k++) {
				values[k].data = bv[k]->bv_val;
				values[k].len = bv[k]->bv_len;
			}
			result->entries[i].attrs[j].values = values;
			result->entries[i].attrs[j].count = count;
		}
	}
	return 0;
}

int dms_ldap_conn_search(struct dms_ldap_conn *conn, const char *filter,
			 unsigned int size_limit,
			 struct dms_ldap_result **result_r,
			 char *error, size_t error_size)
{
	static const int scopes[] = {
		[DMS_LDAP_SCOPE_SUBTREE] = LDAP_SCOPE_SUBTREE,
		[DMS_LDAP_SCOPE_ONELEVEL] = LDAP_SCOPE_ONELEVEL,
		[DMS_LDAP_SCOPE_BASE] = LDAP_SCOPE_BASE,
	};
	const struct dms_ldap_config *config = conn->config;
	struct timespec deadline = deadline_new(config);
	struct timeval tv;
	char *attrs[DMS_LDAP_ATTR_COUNT + 1];
	struct dms_ldap_result *result;
	bool reused = conn->ld != NULL;
	int rc;

	for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT; i++)
		attrs[i] = config->attrs[i];
	attrs[DMS_LDAP_ATTR_COUNT] = NULL;
	if ((result = calloc(1, sizeof(*result))) == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		return -1;
	}
	for (;;) {
		if (conn_connect(conn, &deadline, error, error_size) < 0 ||
		    conn_bound(conn, &deadline, &tv, error, error_size) < 0) {
			dms_ldap_result_free(&result);
			return -1;
		}
		rc = ldap_search_ext_s(conn->ld, config->base,
				       scopes[config->scope], filter, attrs, 0,
				       NULL, NULL, &tv, (int)size_limit,
				       &result->msg);
		if (!conn_lost(rc) || !reused)
			break;
		/* the server closed a connection kept from earlier (a
		   restart, an idle timeout): once more on a new one */
		if (result->msg != NULL) {
			ldap_msgfree(result->msg);
			result->msg = NULL;
		}
		conn_close(conn);
		reused = false;
	}
	if (rc == LDAP_SIZELIMIT_EXCEEDED) {
		dms_ldap_error(error, error_size, "LDAP search %s under %s: more "
			  "than %u entries", filter, config->base, size_limit);
		dms_ldap_result_free(&result);
		return -1;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		conn_error(conn, "search", rc, error, error_size);
		if (conn_lost(rc) || rc == LDAP_TIMEOUT)
			conn_close(conn);
		dms_ldap_result_free(&result);
		return -1;
	}
	if (result->msg != NULL && result_fill(conn, result) < 0) {
		dms_ldap_error(error, error_size, "out of memory");
		dms_ldap_result_free(&result);
		return -1;
	}
	*result_r = result;
	return 0;
}

/* The LDAPMod list of VALUES (and, for an add, the object classes). */
int dms_ldap_conn_search_name(struct dms_ldap_conn *conn, const char *name,
			      struct dms_ldap_result **result_r,
			      char *filter_buf, size_t filter_size,
			      char *error, size_t error_size)
{
	const char *err;
	char *filter;
	int ret;

	filter = dms_ldap_filter_expand(conn->config->filter, name, false,
					&err);
	if (filter == NULL) {
		dms_ldap_error(error, error_size, "%s", err);
		return -1;
	}
	if (filter_buf != NULL)
		snprintf(filter_buf, filter_size, "%s", filter);
	ret = dms_ldap_conn_search(conn, filter, 2, result_r, error,
				   error_size);
	free(filter);
	return ret;
}

static LDAPMod **mods_new(struct dms_ldap_conn *conn,
			  const char *const *values[DMS_LDAP_ATTR_COUNT],
			  int op, char **classes)
{
	LDAPMod **mods = calloc(DMS_LDAP_ATTR_COUNT + 2, sizeof(*mods));
	unsigned int n = 0;

	if (mods == NULL)
		return NULL;
	if (classes != NULL) {
		if ((mods[n] = calloc(1, sizeof(**mods))) == NULL)
			goto fail;
		mods[n]->mod_op = LDAP_MOD_ADD;
		mods[n]->mod_type = (char *)"objectClass";
		mods[n++]->mod_values = classes;
	}
	for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT; i++) {
		if (values[i] == NULL || (op == LDAP_MOD_ADD &&
					  values[i][0] == NULL))
			continue;
		if ((mods[n] = calloc(1, sizeof(**mods))) == NULL)
			goto fail;
		mods[n]->mod_op = op;
		mods[n]->mod_type = conn->config->attrs[i];
		/* an empty list with REPLACE removes the attribute, and is
		   no error when it is not there */
		mods[n++]->mod_values = (char **)values[i];
	}
	return mods;
fail:
	for (unsigned int i = 0; i < n; i++)
		free(mods[i]);
	free(mods);
	return NULL;
}

static void mods_free(LDAPMod **mods)
{
	for (unsigned int i = 0; mods[i] != NULL; i++)
		free(mods[i]);
	free(mods);
}

enum conn_write_kind { CONN_WRITE_ADD, CONN_WRITE_MODIFY, CONN_WRITE_DELETE };

/* Run one write, retrying once on a new connection when an old one was
   lost (as a search does). */
static int conn_write(struct dms_ldap_conn *conn, const char *what,
		      const char *dn, LDAPMod **mods,
		      enum conn_write_kind kind,
		      int *ldap_error_r, char *error, size_t error_size)
{
	struct timespec deadline = deadline_new(conn->config);
	struct timeval tv;
	bool reused = conn->ld != NULL;
	int rc;

	*ldap_error_r = 0;
	for (;;) {
		if (conn_connect(conn, &deadline, error, error_size) < 0 ||
		    conn_bound(conn, &deadline, &tv, error, error_size) < 0)
			return -1;
		switch (kind) {
		case CONN_WRITE_ADD:
			rc = ldap_add_ext_s(conn->ld, dn, mods, NULL, NULL);
			break;
		case CONN_WRITE_MODIFY:
			rc = ldap_modify_ext_s(conn->ld, dn, mods, NULL, NULL);
			break;
		default:
			rc = ldap_delete_ext_s(conn->ld, dn, NULL, NULL);
			break;
		}
		if (!conn_lost(rc) || !reused)
			break;
		conn_close(conn);
		reused = false;
	}
	if (rc != LDAP_SUCCESS) {
		char buf[1024];

		*ldap_error_r = rc;
		snprintf(buf, sizeof(buf), "%s of %s", what, dn);
		conn_error(conn, buf, rc, error, error_size);
		return -1;
	}
	return 0;
}

int dms_ldap_conn_add(struct dms_ldap_conn *conn, const char *dn,
		      const char *const *values[DMS_LDAP_ATTR_COUNT],
		      int *ldap_error_r, char *error, size_t error_size)
{
	char *classes_buf, *classes[16], *save = NULL, *p;
	unsigned int n = 0;
	LDAPMod **mods;
	int ret;

	if ((classes_buf = strdup(conn->config->object_classes)) == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		return -1;
	}
	for (p = strtok_r(classes_buf, " \t,", &save); p != NULL && n < 15;
	     p = strtok_r(NULL, " \t,", &save))
		classes[n++] = p;
	classes[n] = NULL;
	if ((mods = mods_new(conn, values, LDAP_MOD_ADD, classes)) == NULL) {
		free(classes_buf);
		dms_ldap_error(error, error_size, "out of memory");
		return -1;
	}
	ret = conn_write(conn, "add", dn, mods, CONN_WRITE_ADD, ldap_error_r,
			 error, error_size);
	mods_free(mods);
	free(classes_buf);
	return ret;
}

int dms_ldap_conn_modify(struct dms_ldap_conn *conn, const char *dn,
			 const char *const *values[DMS_LDAP_ATTR_COUNT],
			 int *ldap_error_r, char *error, size_t error_size)
{
	LDAPMod **mods;
	int ret;

	if ((mods = mods_new(conn, values, LDAP_MOD_REPLACE, NULL)) == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		return -1;
	}
	ret = conn_write(conn, "modify", dn, mods, CONN_WRITE_MODIFY,
			 ldap_error_r, error, error_size);
	mods_free(mods);
	return ret;
}

int dms_ldap_conn_replace_value(struct dms_ldap_conn *conn, const char *dn,
				enum dms_ldap_attr attr, const char *old,
				const char *new_value, int *ldap_error_r,
				char *error, size_t error_size)
{
	char *old_values[] = { (char *)old, NULL };
	char *new_values[] = { (char *)new_value, NULL };
	LDAPMod del = {
		.mod_op = LDAP_MOD_DELETE,
		.mod_type = conn->config->attrs[attr],
		.mod_values = old_values,
	};
	LDAPMod add = {
		.mod_op = LDAP_MOD_ADD,
		.mod_type = conn->config->attrs[attr],
		.mod_values = new_values,
	};
	LDAPMod *mods[3] = { NULL, NULL, NULL };
	unsigned int n = 0;

	/* one operation: the delete of the value read fails when another
	   writer changed it first, and then nothing is written */
	if (old != NULL)
		mods[n++] = &del;
	if (new_value != NULL)
		mods[n++] = &add;
	return conn_write(conn, "modify", dn, mods, CONN_WRITE_MODIFY,
			  ldap_error_r, error, error_size);
}

int dms_ldap_conn_delete(struct dms_ldap_conn *conn, const char *dn,
			 int *ldap_error_r, char *error, size_t error_size)
{
	return conn_write(conn, "delete", dn, NULL, CONN_WRITE_DELETE,
			  ldap_error_r, error, error_size);
}
