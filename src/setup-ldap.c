/* The setup CLI's master commands against masters kept in LDAP. */

#include "setup-ldap.h"
#include "dms-ldap-config.h"
#include "dms-ldap-conn.h"
#include "dms-ldap-entry.h"
#include "dms-password.h"
#include "dms-policy.h"
#include "dms-store.h"

#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct setup_ldap {
	const char *prog;
	const char *path;
	struct dms_ldap_config config;
	struct dms_ldap_conn *conn;
};

static void ldap_error(struct setup_ldap *ldap, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ldap_error(struct setup_ldap *ldap, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "%s: ", ldap->prog);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

/* Root, and the user Dovecot's auth process runs as (it may own the
   files the module reads, as it may own the file store). */
static void setup_ldap_trust(struct dms_path_trust *trust_r)
{
	struct passwd *pw = getpwnam("dovecot");

	trust_r->uid = pw != NULL ? pw->pw_uid : 0;
	trust_r->gid = pw != NULL ? pw->pw_gid : 0;
}

struct setup_ldap *setup_ldap_open(const char *prog, const char *path)
{
	struct setup_ldap *ldap = calloc(1, sizeof(*ldap));
	struct dms_path_trust trust;
	const char *dn, *pwfile;
	char error[1024], *password = NULL;

	if (ldap == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return NULL;
	}
	ldap->prog = prog;
	ldap->path = path;
	/* a closed connection must not kill the CLI */
	signal(SIGPIPE, SIG_IGN);
	/* the settings file names the server root sends the admin's
	   password to: trusted as the module trusts it */
	setup_ldap_trust(&trust);
	if (dms_ldap_config_read(path, &trust, &ldap->config, error,
				 sizeof(error)) < 0) {
		ldap_error(ldap, "%s", error);
		free(ldap);
		return NULL;
	}
	dn = ldap->config.admin_bind_dn != NULL ?
		ldap->config.admin_bind_dn : ldap->config.bind_dn;
	pwfile = ldap->config.admin_bind_dn != NULL ?
		ldap->config.admin_bind_password_file :
		ldap->config.bind_password_file;
	if (pwfile != NULL &&
	    dms_ldap_password_read(pwfile, &trust, &password, error,
				   sizeof(error)) < 0) {
		ldap_error(ldap, "%s", error);
		setup_ldap_close(&ldap);
		return NULL;
	}
	ldap->conn = dms_ldap_conn_new(&ldap->config, dn, password);
	if (password != NULL) {
		dms_wipe(password, strlen(password));
		free(password);
	}
	if (ldap->conn == NULL) {
		ldap_error(ldap, "out of memory");
		setup_ldap_close(&ldap);
	}
	return ldap;
}

void setup_ldap_close(struct setup_ldap **_ldap)
{
	struct setup_ldap *ldap = *_ldap;

	if (ldap == NULL)
		return;
	*_ldap = NULL;
	dms_ldap_conn_free(&ldap->conn);
	dms_ldap_config_free(&ldap->config);
	free(ldap);
}

/* The DN of NAME's entry: 1 with *dn_r (malloc()ed) and a bit a policy
   attribute it has in *present_r, 0 for none, -1 (printed) for an error
   or several entries. */
static int find_dn(struct setup_ldap *ldap, const char *name, char **dn_r,
		   unsigned int *present_r)
{
	struct dms_ldap_result *result;
	const struct dms_ldap_entry *entry;
	char error[1024];
	int ret = 0;

	*dn_r = NULL;
	*present_r = 0;
	if (dms_ldap_conn_search_name(ldap->conn, name, &result, NULL, 0,
				      error, sizeof(error)) < 0) {
		ldap_error(ldap, "%s", error);
		return -1;
	}
	if (dms_ldap_result_count(result) > 1) {
		ldap_error(ldap, "master account '%s': %u LDAP entries (%s, "
			   "%s): the module refuses it until one is left",
			   name, dms_ldap_result_count(result),
			   dms_ldap_result_entry(result, 0)->dn,
			   dms_ldap_result_entry(result, 1)->dn);
		ret = -1;
	} else if (dms_ldap_result_count(result) == 1) {
		entry = dms_ldap_result_entry(result, 0);
		for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT; i++) {
			if (entry->attrs[i].count > 0)
				*present_r |= 1U << i;
		}
		if ((*dn_r = strdup(entry->dn)) == NULL) {
			ldap_error(ldap, "out of memory");
			ret = -1;
		} else {
			ret = 1;
		}
	}
	dms_ldap_result_free(&result);
	return ret;
}

/* Up to DMS_POLICY_LIST_MAX values of a list, NULL-terminated. */
struct value_list {
	const char *values[DMS_POLICY_LIST_MAX + 1];
};

static void list_values(const struct dms_policy_list *list,
			struct value_list *out)
{
	const char *item = list->items;
	unsigned int i;

	for (i = 0; i < list->count && i < DMS_POLICY_LIST_MAX; i++) {
		out->values[i] = item;
		item += strlen(item) + 1;
	}
	out->values[i] = NULL;
}

int setup_ldap_totp(struct setup_ldap *ldap, const char *name,
		    const char *secret)
{
	static const char *const yes[] = { "TRUE", NULL };
	static const char *const none[] = { NULL };
	const char *secret_values[] = { secret, NULL };
	const char *const *values[DMS_LDAP_ATTR_COUNT];
	char *dn = NULL, error[1024];
	unsigned int present;
	int ldap_rc, ret;

	ret = find_dn(ldap, name, &dn, &present);
	if (ret <= 0) {
		if (ret == 0)
			ldap_error(ldap, "master account '%s' does not exist "
				   "in LDAP (%s)", name, ldap->path);
		free(dn);
		return EXIT_FAILURE;
	}
	memset(values, 0, sizeof(values));
	/* the secret, the option, and no step used yet: one modify */
	values[DMS_LDAP_ATTR_TOTP_SECRET] = secret_values;
	values[DMS_LDAP_ATTR_TOTP] = yes;
	values[DMS_LDAP_ATTR_TOTP_STEP] = none;
	ret = dms_ldap_conn_modify(ldap->conn, dn, values, &ldap_rc, error,
				   sizeof(error));
	if (ret < 0)
		ldap_error(ldap, "%s", error);
	free(dn);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int setup_ldap_set(struct setup_ldap *ldap, bool add, const char *name,
		   const char *hash, const struct setup_options *opts)
{
	/* every policy attribute is written, "no limit" as a value: the
	   module refuses an entry that lacks one (it may be hidden from its
	   reader) */
	static const char *const any[] = { DMS_LDAP_ANY_TARGET, NULL };
	static const char *const default_services[] = {
		DMS_LDAP_DEFAULT_SERVICES, NULL };
	static const char *const never[] = { DMS_LDAP_NEVER, NULL };
	static const char *const no_deny[] = { DMS_LDAP_NO_DENY, NULL };
	static const char *const any_port[] = { DMS_LDAP_ANY_PORT, NULL };
	static const char *const yes[] = { "TRUE", NULL };
	static const char *const no[] = { "FALSE", NULL };
	static const char *const *const neutral[DMS_LDAP_ATTR_COUNT] = {
		[DMS_LDAP_ATTR_ALLOW] = any,
		[DMS_LDAP_ATTR_SERVICES] = default_services,
		[DMS_LDAP_ATTR_READ_ONLY] = no,
		[DMS_LDAP_ATTR_EXPIRES] = never,
		[DMS_LDAP_ATTR_DISABLED] = no,
		[DMS_LDAP_ATTR_DENY] = no_deny,
		[DMS_LDAP_ATTR_PORTS] = any_port,
		[DMS_LDAP_ATTR_TOTP] = no,
		[DMS_LDAP_ATTR_REQUIRE_GRANT] = no,
		[DMS_LDAP_ATTR_GRANT_APPROVAL] = no,
	};
	const char *const *values[DMS_LDAP_ATTR_COUNT];
	const char *name_values[] = { name, NULL };
	const char *hash_values[] = { hash, NULL };
	const char *expires_values[2] = { NULL, NULL };
	struct value_list allow, services, deny, ports;
	struct dms_policy policy;
	char *text, *dn = NULL, expires[32], error[1024];
	unsigned int present;
	const char *err;
	int ldap_rc, ret;

	/* the options as the file store would write them, parsed back:
	   the same checks, and the values to write */
	if ((text = setup_options_apply(opts, NULL, 0, &err)) == NULL) {
		ldap_error(ldap, "master account '%s': %s", name, err);
		return EXIT_FAILURE;
	}
	if (dms_policy_parse(text, true, &policy, error, sizeof(error),
			     &err) < 0) {
		ldap_error(ldap, "master account '%s': %s", name, err);
		free(text);
		return EXIT_FAILURE;
	}
	memset(values, 0, sizeof(values));
	list_values(&policy.allow, &allow);
	list_values(&policy.services, &services);
	list_values(&policy.deny, &deny);
	list_values(&policy.ports, &ports);
	if (policy.has_expires) {
		time_t t = (time_t)policy.expires;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(expires, sizeof(expires), "%Y%m%d%H%M%SZ", &tm);
		expires_values[0] = expires;
	}
#define CHANGE(attr, flag, set_values) \
	values[attr] = (flag) == SETUP_FLAG_SET ? (set_values) : \
		(flag) == SETUP_FLAG_CLEAR ? neutral[attr] : NULL
	CHANGE(DMS_LDAP_ATTR_ALLOW, opts->allow_flag, allow.values);
	CHANGE(DMS_LDAP_ATTR_SERVICES, opts->services_flag, services.values);
	CHANGE(DMS_LDAP_ATTR_EXPIRES, opts->expires_flag, expires_values);
	CHANGE(DMS_LDAP_ATTR_READ_ONLY, opts->read_only, yes);
	CHANGE(DMS_LDAP_ATTR_DISABLED, opts->disabled, yes);
	CHANGE(DMS_LDAP_ATTR_DENY, opts->deny_flag, deny.values);
	CHANGE(DMS_LDAP_ATTR_PORTS, opts->ports_flag, ports.values);
	CHANGE(DMS_LDAP_ATTR_TOTP, opts->totp, yes);
	CHANGE(DMS_LDAP_ATTR_REQUIRE_GRANT, opts->require_grant, yes);
	CHANGE(DMS_LDAP_ATTR_GRANT_APPROVAL, opts->grant_approval, yes);
#undef CHANGE
	/* the optional choices: set, or removed (an empty REPLACE) for the
	   site's default */
	static const char *const none[] = { NULL };
	const char *record_values[] = {
		dms_policy_record_name(policy.record), NULL };
	if (opts->record_flag == SETUP_FLAG_SET)
		values[DMS_LDAP_ATTR_RECORD] = record_values;
	else if (opts->record_flag == SETUP_FLAG_CLEAR)
		values[DMS_LDAP_ATTR_RECORD] = none;
	if (opts->notify_owner == SETUP_NOTIFY_YES)
		values[DMS_LDAP_ATTR_NOTIFY_OWNER] = yes;
	else if (opts->notify_owner == SETUP_NOTIFY_NO)
		values[DMS_LDAP_ATTR_NOTIFY_OWNER] = no;
	else if (opts->notify_owner == SETUP_NOTIFY_DEFAULT)
		values[DMS_LDAP_ATTR_NOTIFY_OWNER] = none;
	if (hash != NULL)
		values[DMS_LDAP_ATTR_PASSWORD] = hash_values;

	ret = find_dn(ldap, name, &dn, &present);
	/* an entry written by 0.1.0, without some policy attributes: they
	   are filled in "no limit", which the module then reads as it did */
	for (unsigned int i = DMS_LDAP_ATTR_ALLOW; ret >= 0 &&
	     i < DMS_LDAP_ATTR_REQUIRED_END; i++) {
		if (values[i] != NULL || (!add && (present & (1U << i)) != 0))
			continue;
		values[i] = neutral[i];
		if (!add) {
			fprintf(stderr, "%s: master account '%s' had no %s: "
				"written as %s\n", ldap->prog, name,
				ldap->config.attrs[i], neutral[i][0]);
		}
	}
	if (ret < 0) {
		ret = EXIT_FAILURE;
	} else if (add && ret > 0) {
		ldap_error(ldap, "master account '%s' already exists in LDAP "
			   "(%s)", name, dn);
		ret = EXIT_FAILURE;
	} else if (!add && ret == 0) {
		ldap_error(ldap, "master account '%s' does not exist in LDAP "
			   "(%s)", name, ldap->path);
		ret = EXIT_FAILURE;
	} else if (add) {
		char *rdn = dms_ldap_dn_escape(name);

		values[DMS_LDAP_ATTR_NAME] = name_values;
		/* NAME=RDN,BASE: the attribute's name is the settings
		   file's, of any length */
		if (rdn == NULL || (dn = malloc(
				strlen(ldap->config.attrs[DMS_LDAP_ATTR_NAME]) +
				strlen(rdn) + strlen(ldap->config.base) + 3)) ==
		    NULL) {
			ldap_error(ldap, "out of memory");
			free(rdn);
			free(text);
			return EXIT_FAILURE;
		}
		sprintf(dn, "%s=%s,%s", ldap->config.attrs[DMS_LDAP_ATTR_NAME],
			rdn, ldap->config.base);
		free(rdn);
		ret = dms_ldap_conn_add(ldap->conn, dn, values, &ldap_rc,
					error, sizeof(error));
		if (ret < 0 && ldap_rc == DMS_LDAP_ALREADY_EXISTS)
			ldap_error(ldap, "master account '%s' already exists "
				   "in LDAP (%s)", name, dn);
		else if (ret < 0)
			ldap_error(ldap, "%s", error);
		ret = ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	} else {
		ret = dms_ldap_conn_modify(ldap->conn, dn, values, &ldap_rc,
					   error, sizeof(error));
		if (ret < 0 && ldap_rc == DMS_LDAP_NO_SUCH_OBJECT)
			ldap_error(ldap, "master account '%s' does not exist "
				   "in LDAP (%s)", name, dn);
		else if (ret < 0)
			ldap_error(ldap, "%s", error);
		ret = ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	free(dn);
	free(text);
	return ret;
}

int setup_ldap_del(struct setup_ldap *ldap, const char *name)
{
	char *dn, error[1024];
	unsigned int present;
	int ret, ldap_rc;

	ret = find_dn(ldap, name, &dn, &present);
	if (ret < 0)
		return EXIT_FAILURE;
	if (ret == 0) {
		ldap_error(ldap, "master account '%s' does not exist in LDAP "
			   "(%s)", name, ldap->path);
		return EXIT_FAILURE;
	}
	ret = dms_ldap_conn_delete(ldap->conn, dn, &ldap_rc, error,
				   sizeof(error));
	if (ret < 0 && ldap_rc == DMS_LDAP_NO_SUCH_OBJECT)
		ldap_error(ldap, "master account '%s' does not exist in LDAP "
			   "(%s)", name, dn);
	else if (ret < 0)
		ldap_error(ldap, "%s", error);
	free(dn);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* "* NAME [OPTIONS]" as for the file, from each entry's line. */
/* Each master name of ENTRY with its policy, as the module would read
   them; entries the module refuses are warned about and skipped. */
static void each_master(struct setup_ldap *ldap,
			const struct dms_ldap_entry *entry,
			setup_ldap_master_cb *callback, void *context)
{
	const struct dms_ldap_values *names =
		&entry->attrs[DMS_LDAP_ATTR_NAME];
	const struct dms_store_entry *master;
	struct dms_store *store;
	char name[256], *line, err[512];

	for (unsigned int i = 0; i < names->count; i++) {
		snprintf(name, sizeof(name), "%.*s", (int)names->values[i].len,
			 names->values[i].data);
		int ret = dms_ldap_entry_line(name, entry,
			(const char *const *)ldap->config.attrs,
			&line, err, sizeof(err));

		if (ret <= 0) {
			/* the module refuses such an entry too */
			ldap_error(ldap, "Warning: %s: %s", entry->dn,
				   ret < 0 ? err : "a name no master may have "
				   "(empty, a blank, a control character, ':' "
				   "or '|')");
			continue;
		}
		store = dms_store_new_from_buffer(line, strlen(line),
						  DMS_DEFAULT_SCHEME, NULL,
						  NULL);
		free(line);
		if (store == NULL ||
		    dms_store_lookup(store, name, &master) == 0) {
			ldap_error(ldap, "Warning: %s: the module refuses "
				   "this entry (a bad policy value)",
				   entry->dn);
			dms_store_free(&store);
			continue;
		}
		callback(context, name, master->policy);
		dms_store_free(&store);
	}
}

static void list_master(void *context, const char *name,
			const struct dms_policy *policy)
{
	char options[8192];

	(void)context;
	if (dms_policy_format(policy, options, sizeof(options)) == 0) {
		printf("* %s\n", name);
	} else {
		printf("* %s %s%s\n", name, options,
		       policy->has_expires &&
		       policy->expires <= (int64_t)time(NULL) ?
		       " (expired)" : "");
	}
}

/* Every master entry: a result to free, or NULL (printed). */
static struct dms_ldap_result *search_all(struct setup_ldap *ldap)
{
	struct dms_ldap_result *result;
	const char *err;
	char *filter, error[1024];
	int ret;

	if ((filter = dms_ldap_filter_expand(ldap->config.filter, "*", true,
					     &err)) == NULL) {
		ldap_error(ldap, "%s", err);
		return NULL;
	}
	ret = dms_ldap_conn_search(ldap->conn, filter, 0, &result, error,
				   sizeof(error));
	free(filter);
	if (ret < 0) {
		ldap_error(ldap, "%s", error);
		return NULL;
	}
	return result;
}

int setup_ldap_masters(struct setup_ldap *ldap,
		       setup_ldap_master_cb *callback, void *context)
{
	struct dms_ldap_result *result = search_all(ldap);
	unsigned int count;

	if (result == NULL)
		return -1;
	count = dms_ldap_result_count(result);
	for (unsigned int i = 0; i < count; i++) {
		each_master(ldap, dms_ldap_result_entry(result, i), callback,
			    context);
	}
	dms_ldap_result_free(&result);
	return (int)count;
}

struct dms_store *setup_ldap_master_store(struct setup_ldap *ldap,
					  const char *name, int *ret_r)
{
	struct dms_ldap_result *result;
	const struct dms_ldap_entry *entry;
	struct dms_store *store = NULL;
	char *line, error[1024];
	int ret;

	*ret_r = -1;
	if (dms_ldap_conn_search_name(ldap->conn, name, &result, NULL, 0,
				      error, sizeof(error)) < 0) {
		ldap_error(ldap, "%s", error);
		return NULL;
	}
	if (dms_ldap_result_count(result) != 1) {
		*ret_r = dms_ldap_result_count(result) == 0 ? 0 : -1;
		if (*ret_r < 0)
			ldap_error(ldap, "master account '%s': several LDAP "
				   "entries", name);
		dms_ldap_result_free(&result);
		return NULL;
	}
	entry = dms_ldap_result_entry(result, 0);
	ret = dms_ldap_entry_line(name, entry,
				  (const char *const *)ldap->config.attrs,
				  &line, error, sizeof(error));
	if (ret > 0) {
		store = dms_store_new_from_buffer(line, strlen(line),
						  DMS_DEFAULT_SCHEME, NULL,
						  NULL);
		free(line);
		*ret_r = store != NULL && dms_store_count(store) == 1 ? 1 : -1;
	} else {
		*ret_r = ret;
	}
	if (*ret_r < 0) {
		ldap_error(ldap, "%s: %s", entry->dn,
			   ret < 0 ? error : "malformed");
		dms_store_free(&store);
	}
	dms_ldap_result_free(&result);
	return store;
}

int setup_ldap_grants(struct setup_ldap *ldap, setup_ldap_grant_cb *callback,
		      void *context)
{
	struct dms_ldap_result *result = search_all(ldap);

	if (result == NULL)
		return -1;
	for (unsigned int i = 0; i < dms_ldap_result_count(result); i++) {
		const struct dms_ldap_entry *entry =
			dms_ldap_result_entry(result, i);
		const struct dms_ldap_values *v =
			&entry->attrs[DMS_LDAP_ATTR_GRANT];

		for (unsigned int j = 0; j < v->count; j++) {
			char *value = strndup(v->values[j].data,
					      v->values[j].len);

			if (value == NULL) {
				dms_ldap_result_free(&result);
				ldap_error(ldap, "out of memory");
				return -1;
			}
			callback(context, entry->dn, value);
			free(value);
		}
	}
	dms_ldap_result_free(&result);
	return 0;
}

int setup_ldap_grant_change(struct setup_ldap *ldap, const char *dn,
			    const char *name, const char *old,
			    const char *new_value)
{
	char *found_dn = NULL, error[1024];
	unsigned int present;
	int ldap_rc, ret;

	if (dn == NULL) {
		if (find_dn(ldap, name, &found_dn, &present) <= 0) {
			free(found_dn);
			ldap_error(ldap, "master account '%s' does not exist "
				   "in LDAP (%s)", name, ldap->path);
			return -1;
		}
		dn = found_dn;
	}
	ret = dms_ldap_conn_replace_value(ldap->conn, dn, DMS_LDAP_ATTR_GRANT,
					  old, new_value, &ldap_rc, error,
					  sizeof(error));
	if (ret < 0 && ldap_rc == DMS_LDAP_NO_SUCH_ATTRIBUTE)
		ldap_error(ldap, "the grant was changed meanwhile: try again");
	else if (ret < 0)
		ldap_error(ldap, "%s", error);
	free(found_dn);
	return ret;
}

int setup_ldap_list(struct setup_ldap *ldap)
{
	int count = setup_ldap_masters(ldap, list_master, NULL);

	if (count < 0)
		return EXIT_FAILURE;
	if (count == 0) {
		fprintf(stderr, "%s: no master accounts in LDAP (%s)\n",
			ldap->prog, ldap->path);
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
