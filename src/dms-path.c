/* Trusting a path: the file and every directory above it. */

#include "dms-path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *stat_untrusted(const struct stat *st,
				  const struct dms_path_trust *trust)
{
	bool sticky_dir = S_ISDIR(st->st_mode) &&
		(st->st_mode & S_ISVTX) != 0;

	if (S_ISLNK(st->st_mode))
		return "is a symbolic link";
	if (st->st_uid != 0 && st->st_uid != trust->uid)
		return "is not owned by root or the trusted user";
	if (sticky_dir)
		return NULL;
	if ((st->st_mode & S_IWOTH) != 0)
		return "is writable by others";
	if ((st->st_mode & S_IWGRP) != 0 && st->st_gid != 0 &&
	    st->st_gid != trust->gid)
		return "is writable by a group other than root's or the "
			"trusted group";
	return NULL;
}

static int path_fail(char *error, size_t error_size, const char *path,
		     const char *why)
{
	snprintf(error, error_size, "%s %s", path, why);
	return -1;
}

int dms_path_stat_check(const char *path, const struct stat *st,
			const struct dms_path_trust *trust,
			char *error, size_t error_size)
{
	const char *why;

	if (S_ISLNK(st->st_mode)) {
		/* a link decides where the path goes: made by the trusted
		   users only (in a sticky /tmp anyone can make one) */
		why = st->st_uid != 0 && st->st_uid != trust->uid ?
			"is a symbolic link not owned by root or the "
			"trusted user" : NULL;
	} else {
		why = stat_untrusted(st, trust);
	}
	if (why == NULL)
		return 0;
	snprintf(error, error_size, "untrusted path: %s %s (uid %u, gid %u, "
		 "mode %04o)", path, why, (unsigned int)st->st_uid,
		 (unsigned int)st->st_gid,
		 (unsigned int)(st->st_mode & 07777));
	return -1;
}

/* Links followed on the way, as the kernel's MAXSYMLINKS */
#define DMS_PATH_LINKS_MAX 40

int dms_path_check(const char *path, const struct dms_path_trust *trust,
		   bool may_be_missing, char *resolved, size_t resolved_size,
		   char *error, size_t error_size)
{
	/* todo: what is still to walk; cur: the trusted, resolved path so
	   far (without links), "" for "/" */
	char todo[PATH_MAX * 2], cur[PATH_MAX], next[PATH_MAX];
	char target[PATH_MAX];
	const char *final;
	unsigned int links = 0;
	bool missing = false;
	struct stat st;
	size_t pos = 0;

	if (path[0] == '\0')
		return path_fail(error, error_size, "\"\"", "is empty");
	if (path[0] != '/') {
		/* relative: the directories of the working directory too */
		if (getcwd(cur, sizeof(cur)) == NULL) {
			snprintf(error, error_size, "getcwd() failed: %s",
				 strerror(errno));
			return -1;
		}
		if ((size_t)snprintf(todo, sizeof(todo), "%s/%s", cur,
				     path) >= sizeof(todo))
			return path_fail(error, error_size, path,
					 "is too long");
	} else if (strlen(path) >= sizeof(todo)) {
		return path_fail(error, error_size, path, "is too long");
	} else {
		strcpy(todo, path);
	}
	cur[0] = '\0';
	if (lstat("/", &st) < 0 ||
	    dms_path_stat_check("/", &st, trust, error, error_size) < 0)
		return -1;

	/* every name on the way, and every directory a link leads to */
	while (todo[pos] != '\0') {
		size_t len, rest;
		bool last;

		while (todo[pos] == '/')
			pos++;
		len = strcspn(todo + pos, "/");
		if (len == 0)
			break;
		rest = pos + len;
		while (todo[rest] == '/')
			rest++;
		last = todo[rest] == '\0';
		if (len == 1 && todo[pos] == '.') {
			pos += len;
			continue;
		}
		if (len == 2 && todo[pos] == '.' && todo[pos + 1] == '.') {
			/* cur has no links: its parent is the real one */
			char *slash = strrchr(cur, '/');

			if (slash != NULL)
				*slash = '\0';
			pos += len;
			continue;
		}
		if ((size_t)snprintf(next, sizeof(next), "%s/%.*s", cur,
				     (int)len, todo + pos) >= sizeof(next))
			return path_fail(error, error_size, path,
					 "is too long");
		if (lstat(next, &st) < 0) {
			if (errno == ENOENT && last && may_be_missing) {
				missing = true;
				break;
			}
			snprintf(error, error_size, "lstat(%s) failed: %s",
				 next, strerror(errno));
			return -1;
		}
		if (dms_path_stat_check(next, &st, trust, error, error_size) < 0)
			return -1;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n;
			char tail[PATH_MAX * 2];

			if (++links > DMS_PATH_LINKS_MAX) {
				return path_fail(error, error_size, path,
						 "has too many symbolic links");
			}
			n = readlink(next, target, sizeof(target) - 1);
			if (n < 0) {
				snprintf(error, error_size, "readlink(%s) "
					 "failed: %s", next, strerror(errno));
				return -1;
			}
			target[n] = '\0';
			/* the link's target, then what was after it */
			if ((size_t)snprintf(tail, sizeof(tail), "%s/%s",
					     target, todo + pos + len) >=
			    sizeof(todo))
				return path_fail(error, error_size, path,
						 "is too long");
			strcpy(todo, tail);
			pos = 0;
			if (target[0] == '/')
				cur[0] = '\0';
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			snprintf(error, error_size, "%s: %s", next,
				 strerror(errno));
			return -1;
		}
		strcpy(cur, next);
		pos += len;
	}
	/* the walk ended with cur the resolved path, or with next a missing
	   last name in it */
	final = missing ? next : cur[0] == '\0' ? "/" : cur;
	if (strlen(final) >= resolved_size)
		return path_fail(error, error_size, path, "is too long");
	strcpy(resolved, final);
	return 0;
}

bool dms_path_stat_unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
		a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
		a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
		a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
