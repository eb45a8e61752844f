/* Formatting and writing audit records. */

#include "dms-audit.h"
#include "dms-policy.h"
#include "dms-path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct str {
	char *data;
	size_t len, size;
	bool failed;
};

static void str_add(struct str *s, const char *data, size_t len)
{
	if (s->failed)
		return;
	if (s->len + len + 1 > s->size) {
		size_t size = s->size == 0 ? 256 : s->size;
		char *n;

		while (s->len + len + 1 > size)
			size *= 2;
		if ((n = realloc(s->data, size)) == NULL) {
			s->failed = true;
			return;
		}
		s->data = n;
		s->size = size;
	}
	memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

static void str_cat(struct str *s, const char *text)
{
	str_add(s, text, strlen(text));
}

static char *str_finish(struct str *s)
{
	if (s->failed) {
		free(s->data);
		return NULL;
	}
	return s->data;
}

static void add_hex(struct str *s, const char *prefix, unsigned char c)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%s%02x", prefix, c);
	str_cat(s, buf);
}

/* Bare when made of printable ASCII without '"' and '\', else in double
   quotes with \", \\ and \xHH. */
static void text_value(struct str *s, const char *value)
{
	const unsigned char *p;
	bool bare = value[0] != '\0';

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			bare = false;
	}
	if (bare) {
		str_cat(s, value);
		return;
	}
	str_add(s, "\"", 1);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			str_add(s, "\\", 1);
			str_add(s, (const char *)p, 1);
		} else if (*p < ' ' || *p >= 0x7f) {
			add_hex(s, "\\x", *p);
		} else {
			str_add(s, (const char *)p, 1);
		}
	}
	str_add(s, "\"", 1);
}

static void text_field(struct str *s, const char *key, const char *value)
{
	if (value == NULL)
		return;
	if (s->len > 0)
		str_add(s, " ", 1);
	str_cat(s, key);
	str_add(s, "=", 1);
	text_value(s, value);
}

/* The string fields of a record, in order, with their names in the log
   line and in JSON: one list for both formats. */
#define AUDIT_STRING_FIELDS 10
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
	};

	memcpy(fields_r, fields, sizeof(fields));
}

char *dms_audit_text(const struct dms_audit_record *r)
{
	struct audit_field fields[AUDIT_STRING_FIELDS];
	struct str s = { NULL, 0, 0, false };

	audit_fields(r, fields);
	str_add(&s, "", 0);
	for (unsigned int i = 0; i < AUDIT_STRING_FIELDS; i++)
		text_field(&s, fields[i].text_key, fields[i].value);
	text_field(&s, "read_only", r->read_only ? "yes" : "no");
	return str_finish(&s);
}

/* Length of the well-formed UTF-8 sequence at P (RFC 3629: no overlong
   forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned int cp, min;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2; cp = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3; cp = p[0] & 0x0f; min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4; cp = p[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void json_value(struct str *s, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	if (value == NULL) {
		str_cat(s, "null");
		return;
	}
	str_add(s, "\"", 1);
	while (*p != '\0') {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\') {
			str_add(s, "\\", 1);
			str_add(s, (const char *)p, 1);
		} else if (*p < 0x20 || *p == 0x7f || n == 0) {
			/* invalid UTF-8 bytes too: the line stays valid
			   JSON, the byte stays visible */
			add_hex(s, "\\u00", *p);
			n = 1;
		} else {
			str_add(s, (const char *)p, n);
		}
		p += n;
	}
	str_add(s, "\"", 1);
}

static void json_field(struct str *s, const char *key, const char *value)
{
	str_add(s, s->len > 1 ? ",\"" : "\"", s->len > 1 ? 2 : 1);
	str_cat(s, key);
	str_add(s, "\":", 2);
	json_value(s, value);
}

char *dms_audit_json(const struct dms_audit_record *r)
{
	struct audit_field fields[AUDIT_STRING_FIELDS];
	struct str s = { NULL, 0, 0, false };
	char tbuf[DMS_TIME_BUF], ts[DMS_TIME_BUF + 8];
	int64_t secs = r->time_usec / 1000000;
	long usec = (long)(r->time_usec % 1000000);

	/* YYYY-MM-DDTHH:MM:SSZ -> YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
	dms_time_format(secs, tbuf);
	tbuf[strlen(tbuf) - 1] = '\0';
	snprintf(ts, sizeof(ts), "%s.%06ldZ", tbuf, usec);

	audit_fields(r, fields);
	str_add(&s, "{", 1);
	json_field(&s, "time", ts);
	for (unsigned int i = 0; i < AUDIT_STRING_FIELDS; i++)
		json_field(&s, fields[i].json_key, fields[i].value);
	str_cat(&s, r->read_only ? ",\"read_only\":true}\n" :
		",\"read_only\":false}\n");
	return str_finish(&s);
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
