/* setup dovecot-master grant | grants | revoke | approve. */

#include "setup-grants.h"
#include "setup-ldap.h"
#include "setup-password.h"
#include "dms-audit.h"
#include "dms-grants.h"
#include "dms-password.h"
#include "dms-pattern.h"
#include "dms-store.h"
#include "dms-store-write.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define GRANTS_HEADER "# auth_master_dms grants: written by setup " \
	"dovecot-master grant; ID|MASTER|TARGET|CREATED|UNTIL|STATE|" \
	"APPROVER|REASON\n"

struct grants_cmd {
	const struct setup_grants_settings *set;
	char *grants_path;
	int64_t now;
	/* masters kept in LDAP: grants are dmsGrant values of their
	   entries; NULL: the grants file */
	struct setup_ldap *ldap;
};

static void error_msg(const struct grants_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void error_msg(const struct grants_cmd *c, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "%s: ", c->set->prog);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

int setup_duration_parse(const char *text, int64_t *secs_r)
{
	int64_t total = 0;
	const char *p = text;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		int64_t n = 0, unit;

		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (*p - '0');
			if (n > 1000000)
				return -1;
		}
		switch (*p++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
		total += n * unit;
		if (total > 100LL * 365 * 86400)
			return -1;
	}
	*secs_r = total;
	return total > 0 ? 0 : -1;
}

/* The masters file, read as the module reads it. */
static struct dms_store *store_read(const struct grants_cmd *c)
{
	struct dms_store *store = dms_store_new(c->set->store_path,
						DMS_DEFAULT_SCHEME);
	const char *error;

	if (store == NULL || dms_store_refresh(store, NULL, NULL,
					       &error) < 0) {
		error_msg(c, "%s", store == NULL ? "out of memory" : error);
		dms_store_free(&store);
	}
	return store;
}

static struct dms_grants *grants_read(const struct grants_cmd *c)
{
	struct dms_path_trust trust = { geteuid(), getegid() };
	struct dms_grants *grants = dms_grants_new(c->grants_path, &trust);
	const char *error;

	if (grants == NULL || dms_grants_refresh(grants, &error) < 0) {
		error_msg(c, "%s", grants == NULL ? "out of memory" : error);
		dms_grants_free(&grants);
	}
	return grants;
}

/* One audit record per grant, approval and revocation, in the module's
   audit file, when there is one. */
static void audit(const struct grants_cmd *c, const struct dms_grant *g,
		  const char *result, const char *by)
{
	/* as the module trusts it: its directory is the dovecot user's
	   too (root:dovecot 0770) */
	struct passwd *pw = getpwnam("dovecot");
	struct dms_path_trust trust = {
		pw != NULL ? pw->pw_uid : geteuid(),
		pw != NULL ? pw->pw_gid : getegid(),
	};
	struct dms_audit_record r = {
		.stage = "grant", .master = g->master, .target = g->target,
		.user = by, .service = "setup", .result = result,
		.rule = "grant", .grant = g->id, .reason = g->reason,
	};
	struct timeval tv;
	const char *error;
	char *json;

	if (c->set->audit_file == NULL)
		return;
	if (access(c->set->audit_file, F_OK) < 0 && errno == ENOENT) {
		char *dir = strdup(c->set->audit_file), *slash;

		/* no audit file configured here: say so, once */
		if (dir != NULL && (slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if (access(dir[0] == '\0' ? "/" : dir, F_OK) < 0) {
				fprintf(stderr, "%s: Warning: not audited: %s "
					"does not exist\n", c->set->prog,
					c->set->audit_file);
				free(dir);
				return;
			}
		}
		free(dir);
	}
	gettimeofday(&tv, NULL);
	r.time_usec = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	if ((json = dms_audit_json(&r)) == NULL ||
	    dms_audit_append(c->set->audit_file, &trust, json, &error) < 0) {
		fprintf(stderr, "%s: Warning: not audited: %s\n",
			c->set->prog, json == NULL ? "out of memory" : error);
	}
	free(json);
}

static struct dms_store_write_settings write_settings(void)
{
	struct group *gr = getgrnam("dovecot");
	struct dms_store_write_settings set = {
		.format = DMS_STORE_FORMAT_PIPE,
		.new_mode = 0640,
		.new_gid = gr == NULL ? (gid_t)-1 : gr->gr_gid,
	};

	return set;
}

/* -- the file edits, under the store's lock (dms-store-write.h) -------- */

struct edit {
	/* add: the new grant */
	const struct dms_grant *add;
	/* change: the grant ID to change, and how */
	const char *id;
	enum { EDIT_ADD, EDIT_REVOKE, EDIT_APPROVE, EDIT_PRUNE } op;
	const char *approver;
	int64_t now;
	/* what was found or done */
	struct dms_grant found;
	char *found_line;
	bool id_found;
	unsigned int pruned;
	const char *refusal;
};

static int out_add(char **out, size_t *len, size_t *size, const char *s,
		   size_t n)
{
	if (*len + n + 1 > *size) {
		size_t new_size = (*len + n + 1) * 2;
		char *p = realloc(*out, new_size);

		if (p == NULL)
			return -1;
		*out = p;
		*size = new_size;
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
	return 0;
}

static bool grant_ended(const struct dms_grant *g, int64_t now)
{
	return g->state == DMS_GRANT_REVOKED || now >= g->until;
}

/* Revoke or approve G as E says: NULL, or why not. */
static const char *apply_change(const struct edit *e, struct dms_grant *g)
{
	if (e->op == EDIT_REVOKE) {
		if (g->state == DMS_GRANT_REVOKED)
			return "already revoked";
		g->state = DMS_GRANT_REVOKED;
		return NULL;
	}
	if (g->state != DMS_GRANT_PENDING)
		return "not waiting for an approval";
	if (grant_ended(g, e->now))
		return "ended";
	if (strcmp(g->master, e->approver) == 0)
		return "a master cannot approve its own grant";
	g->state = DMS_GRANT_ACTIVE;
	g->approver = e->approver;
	return NULL;
}

static enum dms_store_write_result
edit_grants(void *context, const char *old, size_t old_len, char **new_r,
	    size_t *new_len_r, const char **error_r)
{
	struct edit *e = context;
	char *out = NULL;
	size_t len = 0, size = 0;
	const char *line = old, *end = old + old_len;
	int ret = 0;

	*error_r = "out of memory";
	if (old_len == 0)
		ret = out_add(&out, &len, &size, GRANTS_HEADER,
			      strlen(GRANTS_HEADER));
	while (ret == 0 && line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((nl != NULL ? nl : end) - line);
		char *copy = strndup(line, n), *formatted = NULL;
		struct dms_grant g;
		const char *error;
		bool keep = true;

		if (copy == NULL) {
			ret = -1;
			break;
		}
		if (copy[0] != '#' && copy[0] != '\0' &&
		    dms_grant_parse(copy, &g, &error) == 0) {
			if (e->op == EDIT_ADD && strcmp(g.id, e->add->id) == 0) {
				e->refusal = "a grant with that ID exists";
			} else if (e->op == EDIT_PRUNE) {
				keep = !grant_ended(&g, e->now);
				e->pruned += keep ? 0 : 1;
			} else if (e->id != NULL && strcmp(g.id, e->id) == 0) {
				e->id_found = true;
				e->refusal = apply_change(e, &g);
				formatted = dms_grant_format(&g);
				e->found_line = formatted == NULL ? NULL :
					strdup(formatted);
				if (formatted == NULL ||
				    e->found_line == NULL)
					ret = -1;
			}
		}
		if (ret == 0 && keep) {
			if (formatted != NULL) {
				ret = out_add(&out, &len, &size, formatted,
					      strlen(formatted));
			} else {
				ret = out_add(&out, &len, &size, line, n);
				if (ret == 0)
					ret = out_add(&out, &len, &size,
						      "\n", 1);
			}
		}
		free(formatted);
		free(copy);
		line = nl != NULL ? nl + 1 : end;
	}
	if (ret == 0 && e->op == EDIT_ADD) {
		char *formatted = dms_grant_format(e->add);

		ret = formatted == NULL ? -1 :
			out_add(&out, &len, &size, formatted,
				strlen(formatted));
		free(formatted);
	}
	if (ret == 0 && e->id != NULL && !e->id_found)
		e->refusal = "no such grant";
	if (ret < 0 || e->refusal != NULL) {
		free(out);
		if (ret < 0)
			return DMS_STORE_WRITE_ERROR;
		*error_r = e->refusal;
		return DMS_STORE_WRITE_INVALID;
	}
	*new_r = out;
	*new_len_r = len;
	return DMS_STORE_WRITE_OK;
}

static int grants_edit(const struct grants_cmd *c, struct edit *e)
{
	struct dms_store_write_settings set = write_settings();
	enum dms_store_write_result ret;
	const char *error;

	e->now = c->now;
	ret = dms_store_write_file(c->grants_path, edit_grants, e, &set,
				   &error);
	if (ret == DMS_STORE_WRITE_OK)
		return 0;
	if (ret == DMS_STORE_WRITE_INVALID) {
		error_msg(c, "grant %s: %s", e->id != NULL ? e->id :
			  e->add != NULL ? e->add->id : "", error);
	} else {
		error_msg(c, "%s", error);
	}
	return -1;
}

/* -- masters kept in LDAP: grants are dmsGrant values ---------------- */

struct collect {
	char *text;
	size_t len;
	bool failed;
	/* find: the grant ID, and its entry's DN and value when found */
	const char *id;
	char *dn, *value;
	/* prune: the ended grants' DNs and values */
	int64_t now;
	bool prune;
	char **ended;
	unsigned int n_ended;
};

static void collect_grant(void *context, const char *dn, const char *value)
{
	struct collect *co = context;
	size_t len = strlen(value);
	char *n = realloc(co->text, co->len + len + 2), *copy;
	struct dms_grant g;
	const char *error;

	if (n == NULL) {
		co->failed = true;
		return;
	}
	co->text = n;
	memcpy(co->text + co->len, value, len);
	co->len += len;
	co->text[co->len++] = '\n';
	co->text[co->len] = '\0';
	if (co->id != NULL && co->dn == NULL &&
	    strncmp(value, co->id, strlen(co->id)) == 0 &&
	    value[strlen(co->id)] == '|') {
		co->dn = strdup(dn);
		co->value = strdup(value);
	}
	if (co->prune && (copy = strdup(value)) != NULL) {
		char **ended;

		if (dms_grant_parse(copy, &g, &error) == 0 &&
		    grant_ended(&g, co->now) &&
		    (ended = realloc(co->ended, (co->n_ended + 2) *
				     sizeof(*ended))) != NULL) {
			co->ended = ended;
			co->ended[co->n_ended++] = strdup(dn);
			co->ended[co->n_ended++] = strdup(value);
		}
		free(copy);
	}
}

static void collect_free(struct collect *co)
{
	for (unsigned int i = 0; i < co->n_ended; i++)
		free(co->ended[i]);
	free(co->ended);
	free(co->text);
	free(co->dn);
	free(co->value);
}

/* NAME's entry: 1 with *entry_r (in *store_r, to be freed), 0 when there
   is no such master, -1 (printed). */
static int master_find(const struct grants_cmd *c, const char *name,
		       struct dms_store **store_r,
		       const struct dms_store_entry **entry_r)
{
	int ret;

	if (c->ldap != NULL) {
		*store_r = setup_ldap_master_store(c->ldap, name, &ret);
		if (ret <= 0)
			return ret;
	} else if ((*store_r = store_read(c)) == NULL) {
		return -1;
	}
	return dms_store_lookup(*store_r, name, entry_r);
}

static struct dms_grants *grants_load(const struct grants_cmd *c)
{
	struct collect co = { .failed = false };
	struct dms_grants *grants;

	if (c->ldap == NULL)
		return grants_read(c);
	if (setup_ldap_grants(c->ldap, collect_grant, &co) < 0 || co.failed) {
		collect_free(&co);
		return NULL;
	}
	grants = dms_grants_from_buffer(co.text == NULL ? "" : co.text,
					co.len);
	collect_free(&co);
	return grants;
}

/* A new grant G, or a change of the grant E->id (revoke, approve) or a
   prune, in the grants file or in LDAP. Returns 0, or -1 (printed). */
static int grant_store(struct grants_cmd *c, struct edit *e)
{
	struct collect co = { .id = e->id, .prune = e->op == EDIT_PRUNE,
			      .now = c->now };
	struct dms_grant g;
	const char *error;
	char *copy, *line;
	int ret = -1;

	if (c->ldap == NULL)
		return grants_edit(c, e);
	e->now = c->now;
	if (e->op == EDIT_ADD) {
		if ((line = dms_grant_format(e->add)) == NULL)
			return -1;
		line[strlen(line) - 1] = '\0';
		ret = setup_ldap_grant_change(c->ldap, NULL, e->add->master,
					      NULL, line);
		free(line);
		return ret;
	}
	if (setup_ldap_grants(c->ldap, collect_grant, &co) < 0 || co.failed)
		goto out;
	if (e->op == EDIT_PRUNE) {
		ret = 0;
		for (unsigned int i = 0; ret == 0 && i + 1 < co.n_ended;
		     i += 2) {
			ret = setup_ldap_grant_change(c->ldap, co.ended[i],
						      NULL, co.ended[i + 1],
						      NULL);
			e->pruned += ret == 0 ? 1 : 0;
		}
		goto out;
	}
	if (co.dn == NULL || (copy = strdup(co.value)) == NULL) {
		error_msg(c, "grant %s: no such grant", e->id);
		goto out;
	}
	if (dms_grant_parse(copy, &g, &error) < 0) {
		error_msg(c, "grant %s: %s", e->id, error);
		free(copy);
		goto out;
	}
	if ((error = apply_change(e, &g)) != NULL) {
		error_msg(c, "grant %s: %s", e->id, error);
		free(copy);
		goto out;
	}
	line = dms_grant_format(&g);
	free(copy);
	if (line == NULL)
		goto out;
	e->found_line = strdup(line);
	line[strlen(line) - 1] = '\0';
	ret = setup_ldap_grant_change(c->ldap, co.dn, NULL, co.value, line);
	free(line);
out:
	collect_free(&co);
	return ret;
}

/* -- the commands ------------------------------------------------------ */

static int usage(const struct grants_cmd *c)
{
	const char *p = c->set->prog;

	fprintf(stderr,
		"Usage: %s dovecot-master grant NAME TARGET (--for DURATION | "
		"--until TIME) --reason TEXT\n"
		"       %s dovecot-master grants [NAME] [--prune]\n"
		"       %s dovecot-master revoke ID\n"
		"       %s dovecot-master approve ID --by OTHER "
		"[--password-stdin]\n", p, p, p, p);
	return EXIT_USAGE;
}

static const char *option_value(int argc, char **argv, int *i,
				const char *name)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len) != 0)
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static int cmd_grant(struct grants_cmd *c, int argc, char **argv)
{
	const char *name = NULL, *target = NULL, *reason = NULL, *error;
	const char *dur = NULL, *until_text = NULL;
	const struct dms_store_entry *entry;
	struct dms_store *store;
	struct dms_grant g;
	unsigned char rnd[DMS_GRANT_ID_LEN / 2];
	char id[DMS_GRANT_ID_LEN + 1], until_buf[DMS_TIME_BUF];
	int64_t until, secs;
	struct edit e;
	int ret;

	for (int i = 0; i < argc; i++) {
		const char *v;

		if ((v = option_value(argc, argv, &i, "--for")) != NULL)
			dur = v;
		else if ((v = option_value(argc, argv, &i, "--until")) != NULL)
			until_text = v;
		else if ((v = option_value(argc, argv, &i,
					   "--reason")) != NULL)
			reason = v;
		else if (strncmp(argv[i], "--", 2) == 0)
			return usage(c);
		else if (name == NULL)
			name = argv[i];
		else if (target == NULL)
			target = argv[i];
		else
			return usage(c);
	}
	if (name == NULL || target == NULL || reason == NULL ||
	    (dur == NULL) == (until_text == NULL))
		return usage(c);
	if (dur != NULL) {
		if (setup_duration_parse(dur, &secs) < 0) {
			error_msg(c, "--for %s: not a duration (e.g. 30m, 2h, "
				  "1d, 1h30m)", dur);
			return EXIT_USAGE;
		}
		until = c->now + secs;
	} else if (dms_time_parse(until_text, &until) < 0) {
		error_msg(c, "--until %s: not a UTC time (YYYY-MM-DD or "
			  "YYYY-MM-DDTHH:MM:SSZ)", until_text);
		return EXIT_USAGE;
	}
	if (until <= c->now) {
		error_msg(c, "the grant would end before it begins");
		return EXIT_FAILURE;
	}
	if (until - c->now > DMS_GRANT_MAX_SECS) {
		error_msg(c, "a grant runs at most 90 days");
		return EXIT_FAILURE;
	}
	if ((error = dms_pattern_check(target, strlen(target))) != NULL) {
		error_msg(c, "target '%s': %s", target, error);
		return EXIT_FAILURE;
	}
	if ((error = dms_grant_reason_check(reason)) != NULL) {
		error_msg(c, "--reason: %s", error);
		return EXIT_FAILURE;
	}
	if ((ret = master_find(c, name, &store, &entry)) <= 0) {
		if (ret == 0)
			error_msg(c, "master account '%s' does not exist in "
				  "%s", name, c->ldap != NULL ? "LDAP" :
				  c->set->store_path);
		dms_store_free(&store);
		return EXIT_FAILURE;
	}
	memset(&g, 0, sizeof(g));
	g.state = entry->policy->grant_approval ? DMS_GRANT_PENDING :
		DMS_GRANT_ACTIVE;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		error_msg(c, "getrandom() failed: %s", strerror(errno));
		dms_store_free(&store);
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	g.id = id;
	g.master = name;
	g.target = target;
	g.reason = reason;
	g.created = c->now;
	g.until = until;
	memset(&e, 0, sizeof(e));
	e.op = EDIT_ADD;
	e.add = &g;
	ret = grant_store(c, &e);
	dms_store_free(&store);
	if (ret < 0)
		return EXIT_FAILURE;
	audit(c, &g, g.state == DMS_GRANT_PENDING ? "requested" : "granted",
	      NULL);
	dms_time_format(until, until_buf);
	printf("%s\n", id);
	fprintf(stderr, "%s: grant %s: %s may open %s until %s%s\n",
		c->set->prog, id, name, target, until_buf,
		g.state == DMS_GRANT_PENDING ?
		" once another master approves it (setup dovecot-master "
		"approve ID --by OTHER)" : "");
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int cmd_grants(struct grants_cmd *c, int argc, char **argv)
{
	const char *name = NULL;
	bool prune = false;
	struct dms_grants *grants;
	const struct dms_grant *all;
	size_t count;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--prune") == 0)
			prune = true;
		else if (strncmp(argv[i], "--", 2) == 0 || name != NULL)
			return usage(c);
		else
			name = argv[i];
	}
	if (prune) {
		struct edit e;

		if (name != NULL)
			return usage(c);
		memset(&e, 0, sizeof(e));
		e.op = EDIT_PRUNE;
		if (grant_store(c, &e) < 0)
			return EXIT_FAILURE;
		printf("%u ended grant%s pruned\n", e.pruned,
		       e.pruned == 1 ? "" : "s");
		return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	if ((grants = grants_load(c)) == NULL)
		return EXIT_FAILURE;
	all = dms_grants_all(grants, &count);
	for (size_t i = 0; i < count; i++) {
		const struct dms_grant *g = &all[i];
		char until[DMS_TIME_BUF];
		const char *state = dms_grant_state_name(g->state);

		if (name != NULL && strcmp(g->master, name) != 0)
			continue;
		if (g->state != DMS_GRANT_REVOKED && c->now >= g->until)
			state = "expired";
		dms_time_format(g->until, until);
		printf("%s %s %s until %s %s%s%s: %s\n", g->id, g->master,
		       g->target, until, state,
		       g->approver != NULL ? " approved by " : "",
		       g->approver != NULL ? g->approver : "", g->reason);
	}
	if (dms_grants_skipped(grants) > 0) {
		fprintf(stderr, "%s: Warning: %u lines of %s are no grants\n",
			c->set->prog, dms_grants_skipped(grants),
			c->grants_path);
	}
	dms_grants_free(&grants);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Parse the changed grant's line back, for the audit record. */
static void audit_line(struct grants_cmd *c, char *line, const char *result,
		       const char *by)
{
	struct dms_grant g;
	const char *error;
	char *nl = strchr(line, '\n');

	if (nl != NULL)
		*nl = '\0';
	if (dms_grant_parse(line, &g, &error) == 0)
		audit(c, &g, result, by);
}

static int cmd_revoke(struct grants_cmd *c, int argc, char **argv)
{
	struct edit e;

	if (argc != 1)
		return usage(c);
	memset(&e, 0, sizeof(e));
	e.op = EDIT_REVOKE;
	e.id = argv[0];
	if (grant_store(c, &e) < 0) {
		free(e.found_line);
		return EXIT_FAILURE;
	}
	audit_line(c, e.found_line, "revoked", NULL);
	free(e.found_line);
	fprintf(stderr, "%s: grant %s revoked: its sessions end within "
		"seconds\n", c->set->prog, argv[0]);
	return EXIT_SUCCESS;
}

static int cmd_approve(struct grants_cmd *c, int argc, char **argv)
{
	const char *id = NULL, *by = NULL, *error;
	const struct dms_store_entry *entry;
	struct dms_store *store;
	bool from_stdin = c->set->password_stdin;
	char *password;
	struct edit e;
	int ok;

	for (int i = 0; i < argc; i++) {
		const char *v;

		if (strcmp(argv[i], "--password-stdin") == 0)
			from_stdin = true;
		else if ((v = option_value(argc, argv, &i, "--by")) != NULL)
			by = v;
		else if (strncmp(argv[i], "--", 2) == 0 || id != NULL)
			return usage(c);
		else
			id = argv[i];
	}
	if (id == NULL || by == NULL)
		return usage(c);
	password = from_stdin ? setup_password_read(true, &error) :
		setup_password_ask("Password of the approving master: ",
				   &error);
	if (password == NULL) {
		error_msg(c, "%s", error);
		return EXIT_FAILURE;
	}
	/* the approver is a master that may log in now */
	if (master_find(c, by, &store, &entry) <= 0) {
		dms_password_verify_dummy(password, DMS_DEFAULT_SCHEME);
		ok = 0;
	} else {
		ok = dms_password_verify(password, entry->password,
					 DMS_DEFAULT_SCHEME, &error) == 1 &&
			!entry->policy->disabled &&
			!(entry->policy->has_expires &&
			  c->now >= entry->policy->expires);
	}
	setup_password_free(password);
	dms_store_free(&store);
	if (!ok) {
		error_msg(c, "approve %s: not approved: %s is no master, is "
			  "disabled or expired, or the password is wrong",
			  id, by);
		return EXIT_FAILURE;
	}
	memset(&e, 0, sizeof(e));
	e.op = EDIT_APPROVE;
	e.id = id;
	e.approver = by;
	if (grant_store(c, &e) < 0) {
		free(e.found_line);
		return EXIT_FAILURE;
	}
	audit_line(c, e.found_line, "approved", by);
	free(e.found_line);
	fprintf(stderr, "%s: grant %s approved by %s\n", c->set->prog, id,
		by);
	return EXIT_SUCCESS;
}

int setup_grants_run(const struct setup_grants_settings *set,
		     const char *command, int argc, char **argv)
{
	struct grants_cmd c = { set, NULL, (int64_t)time(NULL), NULL };
	int ret;

	if (strcmp(command, "grant") != 0 && strcmp(command, "grants") != 0 &&
	    strcmp(command, "revoke") != 0 && strcmp(command, "approve") != 0)
		return -1;
	if ((c.grants_path = dms_grants_path(set->store_path)) == NULL) {
		error_msg(&c, "out of memory");
		return EXIT_FAILURE;
	}
	if (set->ldap_path != NULL &&
	    (c.ldap = setup_ldap_open(set->prog, set->ldap_path)) == NULL) {
		free(c.grants_path);
		return EXIT_FAILURE;
	}
	if (strcmp(command, "grant") == 0)
		ret = cmd_grant(&c, argc, argv);
	else if (strcmp(command, "grants") == 0)
		ret = cmd_grants(&c, argc, argv);
	else if (strcmp(command, "revoke") == 0)
		ret = cmd_revoke(&c, argc, argv);
	else
		ret = cmd_approve(&c, argc, argv);
	free(c.grants_path);
	setup_ldap_close(&c.ldap);
	return ret;
}
