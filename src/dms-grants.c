/* Just-in-time grants: the grants file, and what a grant adds to a
   master's policy. */

#include "dms-grants.h"
#include "dms-pattern.h"
#include "dms-trusted-file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct dms_grants {
	/* NULL: from a buffer */
	struct dms_trusted_file *file;
	/* a copy of the file's text, split in place; the grants point into
	   it */
	char *text;
	struct dms_grant *grants;
	size_t count;
	unsigned int skipped;
	bool usable;
};

static const char *const state_names[] = {
	[DMS_GRANT_PENDING] = "pending",
	[DMS_GRANT_ACTIVE] = "active",
	[DMS_GRANT_REVOKED] = "revoked",
};

const char *dms_grant_state_name(enum dms_grant_state state)
{
	return state_names[state];
}

const char *dms_grant_reason_check(const char *reason)
{
	size_t len = strlen(reason);

	if (len == 0)
		return "empty reason";
	if (len > DMS_GRANT_REASON_MAX)
		return "reason longer than 500 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)reason[i];

		if (c < 0x20 || c == 0x7f)
			return "control character in the reason";
	}
	return NULL;
}

static bool id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	}
	return i == DMS_GRANT_ID_LEN;
}

static bool name_valid(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 255)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || c == ':' || c == '*')
			return false;
	}
	return true;
}

int dms_grant_parse(char *line, struct dms_grant *g, const char **error_r)
{
	char *field[8], *p = line;
	unsigned int i;

	memset(g, 0, sizeof(*g));
	/* seven '|'-terminated fields, then the reason (which may hold '|') */
	for (i = 0; i < 7; i++) {
		char *bar = strchr(p, '|');

		if (bar == NULL) {
			*error_r = "not ID|MASTER|TARGET|CREATED|UNTIL|STATE|"
				"APPROVER|REASON";
			return -1;
		}
		*bar = '\0';
		field[i] = p;
		p = bar + 1;
	}
	field[7] = p;
	if (!id_valid(field[0])) {
		*error_r = "ID is not 16 hex digits";
		return -1;
	}
	if (!name_valid(field[1])) {
		*error_r = "invalid master name";
		return -1;
	}
	if (dms_pattern_check(field[2], strlen(field[2])) != NULL) {
		*error_r = "invalid target";
		return -1;
	}
	if (dms_time_parse(field[3], &g->created) < 0 ||
	    dms_time_parse(field[4], &g->until) < 0) {
		*error_r = "a time is not YYYY-MM-DDTHH:MM:SSZ";
		return -1;
	}
	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (strcmp(field[5], state_names[i]) == 0)
			break;
	}
	if (i == sizeof(state_names) / sizeof(state_names[0])) {
		*error_r = "STATE is not pending, active or revoked";
		return -1;
	}
	g->state = (enum dms_grant_state)i;
	if (strcmp(field[6], "-") != 0 && !name_valid(field[6])) {
		*error_r = "invalid approver";
		return -1;
	}
	if (dms_grant_reason_check(field[7]) != NULL) {
		*error_r = dms_grant_reason_check(field[7]);
		return -1;
	}
	g->id = field[0];
	g->master = field[1];
	g->target = field[2];
	g->approver = strcmp(field[6], "-") == 0 ? NULL : field[6];
	g->reason = field[7];
	return 0;
}

char *dms_grant_format(const struct dms_grant *g)
{
	char created[DMS_TIME_BUF], until[DMS_TIME_BUF], *line;
	size_t size;

	dms_time_format(g->created, created);
	dms_time_format(g->until, until);
	size = strlen(g->id) + strlen(g->master) + strlen(g->target) +
		strlen(created) + strlen(until) + 16 +
		(g->approver == NULL ? 1 : strlen(g->approver)) +
		strlen(g->reason) + 10;
	if ((line = malloc(size)) == NULL)
		return NULL;
	snprintf(line, size, "%s|%s|%s|%s|%s|%s|%s|%s\n", g->id, g->master,
		 g->target, created, until, state_names[g->state],
		 g->approver == NULL ? "-" : g->approver, g->reason);
	return line;
}

bool dms_grant_covers(const struct dms_grant *g, const char *master,
		      const char *target, int64_t now)
{
	return g->state == DMS_GRANT_ACTIVE && now >= g->created &&
		now < g->until && target != NULL &&
		strcmp(g->master, master) == 0 &&
		dms_pattern_match(g->target, target);
}

char *dms_grants_path(const char *store_path)
{
	size_t len = strlen(store_path);
	char *path = malloc(len + sizeof(".grants"));

	if (path != NULL) {
		memcpy(path, store_path, len);
		memcpy(path + len, ".grants", sizeof(".grants"));
	}
	return path;
}

static void grants_clear(struct dms_grants *g)
{
	free(g->text);
	free(g->grants);
	g->text = NULL;
	g->grants = NULL;
	g->count = 0;
	g->skipped = 0;
}

/* Parse TEXT (taken over) into G. */
static int grants_parse(struct dms_grants *g, char *text)
{
	size_t lines = 1;

	for (const char *p = text; *p != '\0'; p++)
		lines += *p == '\n';
	g->text = text;
	if ((g->grants = calloc(lines, sizeof(*g->grants))) == NULL)
		return -1;
	for (char *line = text, *next; line != NULL; line = next) {
		const char *error;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (dms_grant_parse(line, &g->grants[g->count], &error) < 0)
			g->skipped++;
		else
			g->count++;
	}
	return 0;
}

struct dms_grants *dms_grants_from_buffer(const char *text, size_t len)
{
	struct dms_grants *g = calloc(1, sizeof(*g));
	char *copy = malloc(len + 1);

	if (g == NULL || copy == NULL) {
		free(g);
		free(copy);
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* a NUL in the text ends it: what follows is no grant */
	if (grants_parse(g, copy) < 0) {
		dms_grants_free(&g);
		return NULL;
	}
	g->usable = true;
	return g;
}

struct dms_grants *dms_grants_new(const char *path,
				  const struct dms_path_trust *trust)
{
	struct dms_grants *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	if ((g->file = calloc(1, sizeof(*g->file))) == NULL ||
	    dms_trusted_file_init(g->file, path, trust) < 0) {
		free(g->file);
		free(g);
		return NULL;
	}
	return g;
}

void dms_grants_free(struct dms_grants **_g)
{
	struct dms_grants *g = *_g;

	if (g == NULL)
		return;
	*_g = NULL;
	grants_clear(g);
	if (g->file != NULL) {
		dms_trusted_file_deinit(g->file);
		free(g->file);
	}
	free(g);
}

int dms_grants_refresh(struct dms_grants *g, const char **error_r)
{
	char *copy;
	int ret;

	if (g->file == NULL)
		return 0;
	ret = dms_trusted_file_refresh(g->file, error_r);
	if (ret < 0) {
		grants_clear(g);
		g->usable = false;
		return -1;
	}
	if (ret == 0 && g->usable)
		return 0;
	grants_clear(g);
	g->usable = false;
	copy = strdup(g->file->text == NULL ? "" : g->file->text);
	if (copy == NULL || grants_parse(g, copy) < 0) {
		/* grants_parse() took COPY over */
		if (copy != NULL)
			grants_clear(g);
		*error_r = "out of memory";
		return -1;
	}
	g->usable = true;
	return 1;
}

bool dms_grants_usable(const struct dms_grants *g)
{
	return g != NULL && g->usable;
}

unsigned int dms_grants_skipped(const struct dms_grants *g)
{
	return g->skipped;
}

const struct dms_grant *
dms_grants_find(const struct dms_grants *g, const char *master,
		const char *target, int64_t now)
{
	for (size_t i = 0; g != NULL && i < g->count; i++) {
		if (dms_grant_covers(&g->grants[i], master, target, now))
			return &g->grants[i];
	}
	return NULL;
}

const struct dms_grant *dms_grants_all(const struct dms_grants *g,
				       size_t *count_r)
{
	*count_r = g->count;
	return g->grants;
}

int dms_grant_check(const struct dms_policy *policy, bool policy_allowed,
		    const struct dms_grants *grants, const char *master,
		    const char *target, int64_t now,
		    enum dms_policy_rule *rule_r,
		    const struct dms_grant **grant_r)
{
	const struct dms_grant *grant;

	*grant_r = NULL;
	if (policy_allowed)
		return 1;
	/* a grant opens only what dms_allow does not name, or what
	   dms_require_grant closed; every earlier rule (deny and protected
	   included) stands, and a master that needs grants stays within its
	   dms_allow */
	if (*rule_r != DMS_POLICY_RULE_GRANT &&
	    (*rule_r != DMS_POLICY_RULE_ALLOW || policy->require_grant))
		return 0;
	if (!dms_grants_usable(grants))
		return -1;
	grant = dms_grants_find(grants, master, target, now);
	if (grant == NULL)
		return 0;
	*rule_r = DMS_POLICY_RULE_GRANT;
	*grant_r = grant;
	return 1;
}
