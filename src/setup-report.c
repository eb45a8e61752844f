/* The access review (setup-report.h). */

#include "setup-report.h"
#include "dms-audit-read.h"
#include "dms-json.h"
#include "dms-policy.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* lines longer than this are not ours: counted as invalid */
#define REPORT_LINE_MAX 65536
/* distinct names kept; the records of more (a guessing attack's names)
   are counted under "(other names)" */
#define REPORT_MASTERS_MAX 10000
#define REPORT_MAILBOXES_MAX 1000
/* mailboxes shown per master in the text form */
#define REPORT_MAILBOXES_SHOWN 20
#define REPORT_OTHER_NAMES "(other names)"

struct counts {
	char **keys;
	uint64_t *n;
	size_t count;
};

struct master_stats {
	char *name;
	/* YYYY-MM-DDTHH:MM:SS.uuuuuuZ of the last accepted login in the
	   period, and in all the records read */
	char last_login[40], last_login_any[40];
	uint64_t accepted, refused, sessions, read, changed;
	struct counts refused_by, ended_by;
	char **mailboxes;
	size_t mailboxes_count, mailboxes_more;
};

struct report {
	struct master_stats *masters;
	size_t count;
	uint64_t lines, invalid;
	char since[32];
	bool failed;
};

static const char *const change_keys[] = {
	"appended", "copied", "expunged", "flags_changed", "metadata_changed",
	"created", "deleted", "renamed", "subscribed", "unsubscribed",
};

static void *grow(void *array, size_t count, size_t size, bool *failed)
{
	void *n;

	if (*failed)
		return NULL;
	if ((n = realloc(array, (count + 1) * size)) == NULL)
		*failed = true;
	return n;
}

static void counts_add(struct counts *c, const char *key, uint64_t n,
		       bool *failed)
{
	char **keys;
	uint64_t *ns;

	for (size_t i = 0; i < c->count; i++) {
		if (strcmp(c->keys[i], key) == 0) {
			c->n[i] += n;
			return;
		}
	}
	if ((keys = grow(c->keys, c->count, sizeof(*keys), failed)) == NULL)
		return;
	c->keys = keys;
	if ((ns = grow(c->n, c->count, sizeof(*ns), failed)) == NULL)
		return;
	c->n = ns;
	if ((c->keys[c->count] = strdup(key)) == NULL) {
		*failed = true;
		return;
	}
	c->n[c->count++] = n;
}

static void counts_free(struct counts *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->keys[i]);
	free(c->keys);
	free(c->n);
}

static struct master_stats *master_get(struct report *r, const char *name)
{
	struct master_stats *m;

	for (size_t i = 0; i < r->count; i++) {
		if (strcmp(r->masters[i].name, name) == 0)
			return &r->masters[i];
	}
	if (r->count == REPORT_MASTERS_MAX)
		return master_get(r, REPORT_OTHER_NAMES);
	if ((m = grow(r->masters, r->count, sizeof(*m), &r->failed)) == NULL)
		return NULL;
	r->masters = m;
	m = &r->masters[r->count];
	memset(m, 0, sizeof(*m));
	if ((m->name = strdup(name)) == NULL) {
		r->failed = true;
		return NULL;
	}
	r->count++;
	return m;
}

static void mailbox_add(struct report *r, struct master_stats *m,
			const char *user, const char *mailbox)
{
	size_t len = strlen(user) + strlen(mailbox) + 2;
	char *name, **boxes;

	if ((name = malloc(len)) == NULL) {
		r->failed = true;
		return;
	}
	snprintf(name, len, "%s %s", user, mailbox);
	for (size_t i = 0; i < m->mailboxes_count; i++) {
		if (strcmp(m->mailboxes[i], name) == 0) {
			free(name);
			return;
		}
	}
	if (m->mailboxes_count == REPORT_MAILBOXES_MAX) {
		m->mailboxes_more++;
		free(name);
		return;
	}
	boxes = grow(m->mailboxes, m->mailboxes_count, sizeof(*boxes),
		     &r->failed);
	if (boxes == NULL) {
		free(name);
		return;
	}
	m->mailboxes = boxes;
	m->mailboxes[m->mailboxes_count++] = name;
}

static bool is_accepted(const char *result)
{
	return strcmp(result, "ok") == 0 ||
		strcmp(result, "authenticated") == 0 ||
		strcmp(result, "credentials") == 0;
}

static void report_line(struct report *r, const struct dms_audit_line *line)
{
	const char *time = dms_audit_line_get(line, "time");
	const char *master = dms_audit_line_get(line, "master");
	const char *stage = dms_audit_line_get(line, "stage");
	const char *event = dms_audit_line_get(line, "event");
	const char *result = dms_audit_line_get(line, "result");
	struct master_stats *m;
	bool in_period;

	if (time == NULL || strlen(time) < 20 || master == NULL ||
	    (stage == NULL && event == NULL)) {
		r->invalid++;
		return;
	}
	/* grants given, approved and revoked (setup): no logins */
	if (stage != NULL && strcmp(stage, "grant") == 0)
		return;
	if ((m = master_get(r, master)) == NULL)
		return;
	/* YYYY-MM-DDTHH:MM:SS compared as text: the same form throughout */
	in_period = r->since[0] == '\0' || strncmp(time, r->since, 19) >= 0;
	if (stage != NULL && result != NULL) {
		if (strcmp(stage, "session") == 0 && strcmp(result, "ok") == 0) {
			/* a session opened: the login counts once, here */
			if (strncmp(time, m->last_login_any, 27) > 0)
				snprintf(m->last_login_any,
					 sizeof(m->last_login_any), "%s",
					 time);
			if (!in_period)
				return;
			m->accepted++;
			if (strncmp(time, m->last_login, 27) > 0)
				snprintf(m->last_login, sizeof(m->last_login),
					 "%s", time);
		} else if (in_period && !is_accepted(result)) {
			const char *rule = dms_audit_line_get(line, "rule");

			m->refused++;
			counts_add(&m->refused_by, rule != NULL ? rule : result,
				   1, &r->failed);
		}
		return;
	}
	if (event == NULL || !in_period)
		return;
	if (strcmp(event, "dms_master_session_started") == 0) {
		m->sessions++;
	} else if (strcmp(event, "dms_master_session_finished") == 0) {
		const char *how = dms_audit_line_get(line, "how");

		counts_add(&m->ended_by, how != NULL ? how : "?", 1,
			   &r->failed);
	} else if (strcmp(event, "dms_master_session_mailbox") == 0) {
		const char *access = dms_audit_line_get(line, "access");
		const char *user = dms_audit_line_get(line, "user");
		const char *mailbox = dms_audit_line_get(line, "mailbox");

		m->read += dms_audit_line_number(line, "read");
		for (size_t i = 0; i < sizeof(change_keys) /
			     sizeof(change_keys[0]); i++)
			m->changed += dms_audit_line_number(line,
							    change_keys[i]);
		if (access != NULL && user != NULL && mailbox != NULL &&
		    (strcmp(access, "select") == 0 ||
		     strcmp(access, "examine") == 0))
			mailbox_add(r, m, user, mailbox);
	}
}

static int report_file(struct report *r, const char *prog, const char *path)
{
	char *buf = malloc(REPORT_LINE_MAX);
	bool skipping = false;
	gzFile gz;

	if (buf == NULL) {
		r->failed = true;
		return -1;
	}
	/* plain files too: gzread passes them through */
	if ((gz = gzopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: report: open(%s) failed: %s\n", prog,
			path, strerror(errno));
		free(buf);
		return -1;
	}
	while (gzgets(gz, buf, REPORT_LINE_MAX) != NULL) {
		size_t len = strlen(buf);
		struct dms_audit_line line;

		if (len == 0 || buf[len - 1] != '\n') {
			/* too long, or cut short at the end: skip to the
			   next line */
			if (!skipping)
				r->invalid++;
			skipping = len == REPORT_LINE_MAX - 1;
			continue;
		}
		if (skipping) {
			skipping = false;
			continue;
		}
		r->lines++;
		if (dms_audit_line_parse(buf, len, &line) < 0)
			r->invalid++;
		else
			report_line(r, &line);
		dms_audit_line_free(&line);
	}
	int err;
	const char *msg = gzerror(gz, &err);
	bool failed = err != Z_OK && err != Z_STREAM_END;
	if (failed)
		fprintf(stderr, "%s: report: read(%s) failed: %s\n", prog,
			path, err == Z_ERRNO ? strerror(errno) : msg);
	gzclose(gz);
	free(buf);
	return failed ? -1 : 0;
}

/* FILE and its rotated copies: FILE.N[.gz], FILE-DATE[.gz]. */
static int report_files(struct report *r, const char *prog, const char *path,
			unsigned int *files_r)
{
	static const char *const suffixes[] = { ".[0-9]*", "-[0-9]*" };
	struct stat st;
	char pattern[4096];
	int ret = 0;

	*files_r = 0;
	if (stat(path, &st) == 0) {
		(*files_r)++;
		if (report_file(r, prog, path) < 0)
			ret = -1;
	} else if (errno != ENOENT) {
		fprintf(stderr, "%s: report: stat(%s) failed: %s\n", prog,
			path, strerror(errno));
		return -1;
	}
	for (size_t p = 0; p < sizeof(suffixes) / sizeof(suffixes[0]); p++) {
		glob_t g;

		snprintf(pattern, sizeof(pattern), "%s%s", path, suffixes[p]);
		if (glob(pattern, 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			if (stat(g.gl_pathv[i], &st) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			(*files_r)++;
			if (report_file(r, prog, g.gl_pathv[i]) < 0)
				ret = -1;
		}
		globfree(&g);
	}
	return ret;
}

static const struct master_stats *
report_find(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->count; i++) {
		if (strcmp(r->masters[i].name, name) == 0)
			return &r->masters[i];
	}
	return NULL;
}

/* The store's masters without a login since NOW - DAYS. */
static bool is_unused(const struct report *r,
		      const struct setup_report_settings *set,
		      const char *name)
{
	const struct master_stats *m = report_find(r, name);
	char limit[DMS_TIME_BUF];

	if (m == NULL || m->last_login_any[0] == '\0')
		return true;
	dms_time_format(set->now - (int64_t)set->unused_days * 86400, limit);
	return strncmp(m->last_login_any, limit, 19) < 0;
}

static void print_counts(FILE *out, const struct counts *c)
{
	for (size_t i = 0; i < c->count; i++)
		fprintf(out, "%s%s %llu", i == 0 ? " (" : ", ", c->keys[i],
			(unsigned long long)c->n[i]);
	if (c->count > 0)
		fputc(')', out);
}

static void report_text(FILE *out, const struct report *r,
			const struct setup_report_settings *set,
			unsigned int files)
{
	bool any = false;

	fprintf(out, "Access review of %s (%u file%s%s%s)\n",
		set->audit_file, files, files == 1 ? "" : "s",
		r->since[0] != '\0' ? ", since " : "", r->since);
	for (size_t i = 0; i < r->count; i++) {
		const struct master_stats *m = &r->masters[i];

		if (m->accepted + m->refused + m->sessions == 0)
			continue;
		fprintf(out, "\n%s\n  last login: %s\n", m->name,
			m->last_login[0] == '\0' ? "none" : m->last_login);
		fprintf(out, "  logins: %llu accepted, %llu refused",
			(unsigned long long)m->accepted,
			(unsigned long long)m->refused);
		print_counts(out, &m->refused_by);
		fprintf(out, "\n  sessions: %llu", (unsigned long long)
			m->sessions);
		print_counts(out, &m->ended_by);
		fprintf(out, "\n  mailboxes opened:");
		for (size_t j = 0; j < m->mailboxes_count &&
			     j < REPORT_MAILBOXES_SHOWN; j++)
			fprintf(out, "%s %s", j == 0 ? "" : ",",
				m->mailboxes[j]);
		if (m->mailboxes_count == 0)
			fprintf(out, " none");
		if (m->mailboxes_count + m->mailboxes_more >
		    REPORT_MAILBOXES_SHOWN)
			fprintf(out, " and %zu more", m->mailboxes_count +
				m->mailboxes_more - REPORT_MAILBOXES_SHOWN);
		fprintf(out, "\n  messages: %llu read, %llu changed\n",
			(unsigned long long)m->read,
			(unsigned long long)m->changed);
		any = true;
	}
	if (!any)
		fprintf(out, "\nNo master logins in the period.\n");
	fprintf(out, "\nUnused for %u days:", set->unused_days);
	any = false;
	for (size_t i = 0; i < set->masters_count; i++) {
		if (!is_unused(r, set, set->masters[i].name))
			continue;
		fprintf(out, "%s %s", any ? "," : "", set->masters[i].name);
		any = true;
	}
	fprintf(out, "%s\nWithout an expiry:", any ? "" : " none");
	any = false;
	for (size_t i = 0; i < set->masters_count; i++) {
		if (set->masters[i].has_expires)
			continue;
		fprintf(out, "%s %s", any ? "," : "", set->masters[i].name);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : " none");
	if (r->invalid > 0)
		fprintf(out, "Warning: %llu lines were not audit records\n",
			(unsigned long long)r->invalid);
}

static void json_number(struct dms_buf *b, const char *key, uint64_t n)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)n);
	dms_json_raw(b, key, num);
}

static void json_counts(struct dms_buf *b, const char *key,
			const struct counts *c)
{
	dms_json_raw(b, key, "{");
	for (size_t i = 0; i < c->count; i++) {
		if (i > 0)
			dms_buf_cat(b, ",");
		dms_json_value(b, c->keys[i]);
		dms_buf_cat(b, ":");
		char num[24];
		snprintf(num, sizeof(num), "%llu",
			 (unsigned long long)c->n[i]);
		dms_buf_cat(b, num);
	}
	dms_buf_cat(b, "}");
}

/* "KEY":[...] of the store's masters: unused ones (UNUSED), or those
   without an expiry. */
static void json_names(struct dms_buf *b, const char *key,
		       const struct report *r,
		       const struct setup_report_settings *set, bool unused)
{
	bool first = true;

	dms_json_raw(b, key, "[");
	for (size_t i = 0; i < set->masters_count; i++) {
		if (unused ? !is_unused(r, set, set->masters[i].name) :
		    set->masters[i].has_expires)
			continue;
		if (!first)
			dms_buf_cat(b, ",");
		first = false;
		dms_json_value(b, set->masters[i].name);
	}
	dms_buf_cat(b, "]");
}

static char *report_json(const struct report *r,
			 const struct setup_report_settings *set,
			 unsigned int files)
{
	struct dms_buf b = { NULL, 0, 0, false };
	char expires[DMS_TIME_BUF];
	bool first;

	dms_buf_cat(&b, "{");
	dms_json_string(&b, "audit_file", set->audit_file);
	json_number(&b, "files", files);
	dms_json_string(&b, "since", r->since[0] == '\0' ? NULL : r->since);
	json_number(&b, "unused_days", set->unused_days);
	json_number(&b, "invalid_lines", r->invalid);
	dms_json_raw(&b, "masters", "[");
	first = true;
	for (size_t i = 0; i < r->count; i++) {
		const struct master_stats *m = &r->masters[i];

		if (m->accepted + m->refused + m->sessions == 0)
			continue;
		dms_buf_cat(&b, first ? "{" : ",{");
		first = false;
		dms_json_string(&b, "name", m->name);
		dms_json_string(&b, "last_login", m->last_login[0] == '\0' ?
				NULL : m->last_login);
		json_number(&b, "logins_accepted", m->accepted);
		json_number(&b, "logins_refused", m->refused);
		json_counts(&b, "refused_by_rule", &m->refused_by);
		json_number(&b, "sessions", m->sessions);
		json_counts(&b, "sessions_ended", &m->ended_by);
		dms_json_raw(&b, "mailboxes", "[");
		for (size_t j = 0; j < m->mailboxes_count; j++) {
			if (j > 0)
				dms_buf_cat(&b, ",");
			dms_json_value(&b, m->mailboxes[j]);
		}
		dms_buf_cat(&b, "]");
		json_number(&b, "messages_read", m->read);
		json_number(&b, "messages_changed", m->changed);
		dms_buf_cat(&b, "}");
	}
	dms_buf_cat(&b, "]");
	json_names(&b, "unused", r, set, true);
	json_names(&b, "no_expiry", r, set, false);
	dms_json_raw(&b, "expires", "{");
	first = true;
	for (size_t i = 0; i < set->masters_count; i++) {
		if (!set->masters[i].has_expires)
			continue;
		if (!first)
			dms_buf_cat(&b, ",");
		first = false;
		dms_time_format(set->masters[i].expires, expires);
		dms_json_value(&b, set->masters[i].name);
		dms_buf_cat(&b, ":");
		dms_json_value(&b, expires);
	}
	dms_buf_cat(&b, "}}\n");
	return dms_buf_finish(&b);
}

int setup_report(FILE *out, const char *prog,
		 const struct setup_report_settings *set)
{
	struct report r;
	unsigned int files;
	bool review = false;
	int ret;

	memset(&r, 0, sizeof(r));
	if (set->since != 0) {
		dms_time_format(set->since, r.since);
		/* without the Z: compared with YYYY-MM-DDTHH:MM:SS */
		r.since[19] = '\0';
	}
	ret = report_files(&r, prog, set->audit_file, &files);
	if (ret == 0 && r.failed) {
		fprintf(stderr, "%s: report: out of memory\n", prog);
		ret = -1;
	}
	if (ret == 0) {
		for (size_t i = 0; i < set->masters_count; i++) {
			if (!set->masters[i].has_expires ||
			    is_unused(&r, set, set->masters[i].name))
				review = true;
		}
		if (set->json) {
			char *json = report_json(&r, set, files);

			if (json == NULL) {
				fprintf(stderr, "%s: report: out of memory\n",
					prog);
				ret = -1;
			} else {
				fputs(json, out);
				free(json);
			}
		} else {
			report_text(out, &r, set, files);
		}
	}
	for (size_t i = 0; i < r.count; i++) {
		free(r.masters[i].name);
		counts_free(&r.masters[i].refused_by);
		counts_free(&r.masters[i].ended_by);
		for (size_t j = 0; j < r.masters[i].mailboxes_count; j++)
			free(r.masters[i].mailboxes[j]);
		free(r.masters[i].mailboxes);
	}
	free(r.masters);
	if (ret < 0)
		return -1;
	return review ? SETUP_REPORT_EXIT_REVIEW : 0;
}
