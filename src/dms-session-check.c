/* The revocation check of the dms-session service (dms-session-check.h).
   Plain C over the store and policy code the passdb uses. */

#include "dms-session-check.h"
#include "dms-ldap-config.h"
#include "dms-ldap-store.h"
#include "dms-grants.h"
#include "dms-password.h"
#include "dms-policy.h"
#include "dms-store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKER_STORES_MAX 16

struct checker_store {
	char *spec;
	struct dms_store *file;
	struct dms_ldap_store *ldap;
	/* the grants beside a file store; LDAP: none (empty) */
	struct dms_grants *grants;
	/* the LDAP settings could not be read: why */
	char *error;
};

struct dms_session_checker {
	struct dms_path_trust trust;
	struct checker_store stores[CHECKER_STORES_MAX];
	unsigned int count;
	char reason[1024];
	char ldap_error[512];
};

struct dms_session_checker *
dms_session_checker_new(const struct dms_path_trust *trust)
{
	struct dms_session_checker *checker = calloc(1, sizeof(*checker));

	if (checker != NULL)
		checker->trust = *trust;
	return checker;
}

void dms_session_checker_free(struct dms_session_checker **_checker)
{
	struct dms_session_checker *checker = *_checker;

	if (checker == NULL)
		return;
	*_checker = NULL;
	for (unsigned int i = 0; i < checker->count; i++) {
		struct checker_store *s = &checker->stores[i];

		free(s->spec);
		free(s->error);
		if (s->file != NULL)
			dms_store_free(&s->file);
		if (s->ldap != NULL)
			dms_ldap_store_free(&s->ldap);
		dms_grants_free(&s->grants);
	}
	free(checker);
}

static void ldap_open(struct dms_session_checker *checker,
		      struct checker_store *s, const char *path)
{
	struct dms_ldap_config config;
	char error[1024];
	char *password = NULL;

	if (dms_ldap_config_read(path, &checker->trust, &config, error,
				 sizeof(error)) < 0) {
		s->error = strdup(error);
		return;
	}
	if (config.bind_password_file != NULL &&
	    dms_ldap_password_read(config.bind_password_file,
				   &checker->trust, &password, error,
				   sizeof(error)) < 0) {
		dms_ldap_config_free(&config);
		s->error = strdup(error);
		return;
	}
	if (dms_ldap_config_paths_check(&config, error, sizeof(error)) < 0) {
		dms_ldap_config_free(&config);
		s->error = strdup(error);
	} else {
		s->ldap = dms_ldap_store_new(&config, password,
					     DMS_SCHEME_SHA512_CRYPT);
		if (s->ldap == NULL)
			s->error = strdup("out of memory");
	}
	if (password != NULL) {
		dms_wipe(password, strlen(password));
		free(password);
	}
}

/* The store named SPEC, opened at its first use and kept: a file is
   re-read when it changes, LDAP entries are looked up again past the
   cache bound. NULL with *error_r. */
static struct checker_store *
store_get(struct dms_session_checker *checker, const char *spec,
	  const char **error_r)
{
	struct checker_store *s;

	for (unsigned int i = 0; i < checker->count; i++) {
		if (strcmp(checker->stores[i].spec, spec) == 0)
			return &checker->stores[i];
	}
	if (strncmp(spec, "file:/", 6) != 0 &&
	    strncmp(spec, "ldap:/", 6) != 0) {
		*error_r = "no store named";
		return NULL;
	}
	if (checker->count == CHECKER_STORES_MAX) {
		*error_r = "too many stores";
		return NULL;
	}
	s = &checker->stores[checker->count];
	memset(s, 0, sizeof(*s));
	if ((s->spec = strdup(spec)) == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	checker->count++;
	if (spec[0] == 'f') {
		char *grants_path = dms_grants_path(spec + 5);

		s->file = dms_store_new(spec + 5, DMS_SCHEME_SHA512_CRYPT);
		if (grants_path != NULL)
			s->grants = dms_grants_new(grants_path,
						   &checker->trust);
		free(grants_path);
		if (s->file == NULL || s->grants == NULL)
			s->error = strdup("out of memory");
		else
			dms_store_set_trust(s->file, &checker->trust);
	} else {
		ldap_open(checker, s, spec + 5);
	}
	return s;
}

static void store_warning(void *context, unsigned int line,
			  const char *message)
{
	/* the passdb logs the store's malformed lines */
	(void)context;
	(void)line;
	(void)message;
}

int dms_session_check(struct dms_session_checker *checker,
		      const struct dms_session_subject *subject, int64_t now,
		      uint64_t now_msec, const char **reason_r)
{
	const struct dms_store_entry *entry;
	struct dms_policy_site site;
	struct dms_policy_login login;
	struct checker_store *s;
	enum dms_policy_rule rule;
	const char *error, *detail;
	char *site_text, ebuf[128];
	const struct dms_grant *grant;
	bool allowed;
	int ret;

	s = store_get(checker, subject->store, &error);
	if (s == NULL || s->error != NULL) {
		snprintf(checker->reason, sizeof(checker->reason),
			 "the store cannot confirm access: %s %s",
			 s == NULL ? error : s->error, subject->store);
		*reason_r = checker->reason;
		return 0;
	}
	if (s->file != NULL) {
		if (dms_store_refresh(s->file, store_warning, NULL,
				      &error) < 0) {
			snprintf(checker->reason, sizeof(checker->reason),
				 "the store cannot confirm access: %s", error);
			*reason_r = checker->reason;
			return 0;
		}
		ret = dms_store_lookup(s->file, subject->master, &entry);
	} else {
		ret = dms_ldap_store_lookup(s->ldap, subject->master,
					    now_msec, &entry,
					    checker->ldap_error,
					    sizeof(checker->ldap_error));
		if (ret < 0) {
			snprintf(checker->reason, sizeof(checker->reason),
				 "the store cannot confirm access: %s",
				 checker->ldap_error);
			*reason_r = checker->reason;
			return 0;
		}
	}
	if (ret == 0) {
		*reason_r = "deleted";
		return 0;
	}
	if ((site_text = strdup(subject->site)) == NULL) {
		*reason_r = "out of memory";
		return 0;
	}
	if (dms_policy_site_parse(site_text, &site, ebuf, sizeof(ebuf),
				  &error) < 0) {
		free(site_text);
		*reason_r = "invalid site settings";
		return 0;
	}
	login = (struct dms_policy_login){
		.target = subject->user,
		.service = subject->service,
		.local_ip = subject->local_ip,
		.local_port = subject->local_port,
		.now = now,
	};
	allowed = dms_policy_check(entry->policy, &site, &login, &rule,
				   &detail);
	free(site_text);
	if (!allowed && s->ldap != NULL) {
		/* the entry's own grants, as just looked up */
		const char *text = dms_ldap_store_grants(s->ldap);

		dms_grants_free(&s->grants);
		s->grants = dms_grants_from_buffer(text, strlen(text));
	}
	if (!allowed && s->file != NULL && s->grants != NULL &&
	    dms_grants_refresh(s->grants, &error) < 0) {
		/* a session a grant may have opened: the file must answer */
		snprintf(checker->reason, sizeof(checker->reason),
			 "the store cannot confirm access: %s", error);
		*reason_r = checker->reason;
		return 0;
	}
	if (dms_grant_check(entry->policy, allowed, s->grants,
			    subject->master, subject->user, now, &rule,
			    &grant) <= 0) {
		/* "grant": no grant covers it (any more) */
		*reason_r = dms_policy_rule_name(rule);
		return 0;
	}
	if (entry->policy->read_only && !subject->read_only) {
		/* a writable session of a master that is now read-only */
		*reason_r = "read_only";
		return 0;
	}
	return 1;
}
