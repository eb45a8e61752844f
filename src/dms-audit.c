/* Formatting and writing audit records. */

#include "dms-audit.h"
#include "dms-policy.h"
#include "dms-path.h"
#include "dms-json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void add_hex(struct dms_buf *s, const char *prefix, unsigned char c)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%s%02x", prefix, c);
	dms_buf_cat(s, buf);
}

/* Bare when made of printable ASCII without '"' and '\', else in double
   quotes with \", \\ and \xHH. */
static void text_value(struct dms_buf *s, const char *value)
{
	const unsigned char *p;
	bool bare = value[0] != '\0';

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			bare = false;
	}
	if (bare) {
		dms_buf_cat(s, value);
		return;
	}
	dms_buf_add(s, "\"", 1);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			dms_buf_add(s, "\\", 1);
			dms_buf_add(s, (const char *)p, 1);
		} else if (*p < ' ' || *p >= 0x7f) {
			add_hex(s, "\\x", *p);
		} else {
			dms_buf_add(s, (const char *)p, 1);
		}
	}
	dms_buf_add(s, "\"", 1);
}

static void text_field(struct dms_buf *s, const char *key, const char *value)
{
	if (value == NULL)
		return;
	if (s->len > 0)
		dms_buf_add(s, " ", 1);
	dms_buf_cat(s, key);
	dms_buf_add(s, "=", 1);
	text_value(s, value);
}

/* The string fields of a record, in order, with their names in the log
   line and in JSON: one list for both formats. */
#define AUDIT_STRING_FIELDS 12
struct audit_field {
	const char *text_key, *json_key, *value;
};

static void audit_fields(const struct dms_audit_record *r,
			 struct audit_field fields_r[AUDIT_STRING_FIELDS])
{
	const struct audit_field fields[AUDIT_STRING_FIELDS] = {
		{ "stage", "stage", r->stage },
		{ "master", "master", r->master },
		{ "target", "target", r->target },
		{ "user", "user", r->user },
		{ "service", "service", r->service },
		{ "rip", "remote_ip", r->remote_ip },
		{ "result", "result", r->result },
		{ "rule", "rule", r->rule },
		{ "pattern", "pattern", r->pattern },
		{ "session", "session", r->session },
		{ "grant", "grant", r->grant },
		{ "reason", "reason", r->reason },
	};

	memcpy(fields_r, fields, sizeof(fields));
}

char *dms_audit_text(const struct dms_audit_record *r)
{
	struct audit_field fields[AUDIT_STRING_FIELDS];
	struct dms_buf s = { NULL, 0, 0, false };

	audit_fields(r, fields);
	dms_buf_add(&s, "", 0);
	for (unsigned int i = 0; i < AUDIT_STRING_FIELDS; i++)
		text_field(&s, fields[i].text_key, fields[i].value);
	text_field(&s, "read_only", r->read_only ? "yes" : "no");
	return dms_buf_finish(&s);
}

char *dms_audit_json(const struct dms_audit_record *r)
{
	struct audit_field fields[AUDIT_STRING_FIELDS];
	struct dms_buf s = { NULL, 0, 0, false };

	audit_fields(r, fields);
	dms_buf_add(&s, "{", 1);
	dms_json_time(&s, "time", r->time_usec);
	for (unsigned int i = 0; i < AUDIT_STRING_FIELDS; i++)
		dms_json_string(&s, fields[i].json_key, fields[i].value);
	dms_json_raw(&s, "read_only", r->read_only ? "true" : "false");
	dms_buf_cat(&s, "}\n");
	return dms_buf_finish(&s);
}

/* The auth process (the dovecot user) and, with blocking=yes, the
   auth-workers (root) append to one file: a new file gets the group of
   its directory, as under a setgid directory, and mode 0660, so that
   whichever of them creates it, the other can still write. */
static int audit_open(const char *path)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY |
		O_CLOEXEC;
	char dir[4096];
	const char *slash;
	struct stat st;
	int fd;

	fd = open(path, flags);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	fd = open(path, flags | O_CREAT | O_EXCL, 0660);
	if (fd < 0) {
		/* created by another process meanwhile */
		return errno == EEXIST ? open(path, flags) : -1;
	}
	slash = strrchr(path, '/');
	if (slash == path) {
		strcpy(dir, "/");
	} else if (slash != NULL && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, slash - path);
		dir[slash - path] = '\0';
	} else {
		strcpy(dir, ".");
	}
	if (stat(dir, &st) == 0 && fchown(fd, (uid_t)-1, st.st_gid) < 0) {
		/* not root and not in that group: the file keeps ours */
	}
	(void)fchmod(fd, 0660);
	return fd;
}

int dms_audit_append(const char *path, const struct dms_path_trust *trust,
		     const char *line, const char **error_r)
{
	static char error_buf[PATH_MAX + 256];
	char resolved[PATH_MAX];
	size_t len = strlen(line);
	struct stat st;
	bool untrusted;
	ssize_t ret;
	int fd;

	/* never through a symlink, as O_NOFOLLOW below; and whoever can
	   swap a directory on the way could send the records (written by
	   root's auth-workers too) anywhere */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(error_buf, sizeof(error_buf), "untrusted path: %s %s",
			 path, "is a symbolic link");
		*error_r = error_buf;
		return -1;
	}
	if (dms_path_check(path, trust, true, resolved, sizeof(resolved),
			   error_buf, sizeof(error_buf)) < 0) {
		*error_r = error_buf;
		return -1;
	}
	fd = audit_open(resolved);
	if (fd < 0) {
		snprintf(error_buf, sizeof(error_buf), "open(%s) failed: %s",
			 resolved, strerror(errno));
		*error_r = error_buf;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(error_buf, sizeof(error_buf), "fstat(%s) failed: %s",
			 resolved, strerror(errno));
		*error_r = error_buf;
		(void)close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		untrusted = dms_path_stat_check(resolved, &st, trust,
						error_buf,
						sizeof(error_buf)) < 0;
	} else {
		snprintf(error_buf, sizeof(error_buf), "untrusted path: %s "
			 "is not a regular file", resolved);
		untrusted = true;
	}
	if (untrusted) {
		*error_r = error_buf;
		(void)close(fd);
		return -1;
	}
	/* one write(): O_APPEND places it at the end as a whole */
	do {
		ret = write(fd, line, len);
	} while (ret < 0 && errno == EINTR);
	if (ret != (ssize_t)len) {
		snprintf(error_buf, sizeof(error_buf), "write(%s) failed: %s",
			 path, ret < 0 ? strerror(errno) : "short write");
		*error_r = error_buf;
		(void)close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(error_buf, sizeof(error_buf), "close(%s) failed: %s",
			 path, strerror(errno));
		*error_r = error_buf;
		return -1;
	}
	return 0;
}
