/* Adding, updating and deleting store lines: locked, atomic, durable. */

#include "dms-store-write.h"
#include "dms-store.h"
#include "dms-password.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char error_buf[8192];

static enum dms_store_write_result sys_error(const char *func,
					     const char *path,
					     const char **error_r)
{
	snprintf(error_buf, sizeof(error_buf), "%s(%s) failed: %s",
		 func, path, strerror(errno));
	*error_r = error_buf;
	return DMS_STORE_WRITE_ERROR;
}

struct buf {
	char *data;
	size_t len, size;
};

static int buf_append(struct buf *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->size) {
		size_t size = b->size == 0 ? 4096 : b->size;
		char *n;

		while (b->len + len + 1 > size)
			size *= 2;
		n = realloc(b->data, size);
		if (n == NULL)
			return -1;
		b->data = n;
		b->size = size;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

static void buf_free(struct buf *b)
{
	/* contents handed over by an edit callback: their length is known */
	if (b->data != NULL)
		dms_wipe(b->data, b->size != 0 ? b->size : b->len);
	free(b->data);
	b->data = NULL;
}

static int read_all(int fd, struct buf *b)
{
	char tmp[65536];
	ssize_t ret;

	while ((ret = read(fd, tmp, sizeof(tmp))) != 0) {
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (buf_append(b, tmp, (size_t)ret) < 0)
			return -1;
	}
	dms_wipe(tmp, sizeof(tmp));
	return 0;
}

static int count_colons(const char *p, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == ':';
	return n;
}

/* The line for NAME after CHANGE; OLD (the line it replaces, LEN bytes,
   or NULL for a new line) gives the delimiter, the password when the
   change keeps it, the fields between password and options, the options
   when the change keeps them, and a CRLF ending. */
static enum dms_store_write_result
append_entry(struct buf *out, enum dms_store_format format, const char *name,
	     const struct dms_store_change *change, const char *old,
	     size_t old_len, const char **error_r)
{
	struct dms_store_line f;
	const char *password = change->password, *options = NULL;
	size_t password_len, options_len = 0;
	char *new_options = NULL;
	int ret = 0;

	memset(&f, 0, sizeof(f));
	f.delim = format == DMS_STORE_FORMAT_PIPE ? '|' : ':';
	if (old != NULL && dms_store_line_fields(old, old_len, &f) <= 0)
		return DMS_STORE_WRITE_ERROR;
	if (old == NULL && f.delim == ':') {
		/* empty uid, gid, gecos, home, shell and extra fields: a line
		   with the password alone is "missing userdb info" to
		   Dovecot's passwd-file userdb */
		f.middle = "::::::";
		f.middle_len = 6;
	}
	if (password != NULL) {
		password_len = strlen(password);
	} else {
		password = f.password;
		password_len = f.password_len;
	}
	if (change->edit_options == NULL) {
		options = f.options;
		options_len = f.options_len;
	} else {
		new_options = change->edit_options(change->context, f.options,
						   f.options_len, error_r);
		if (new_options == NULL)
			return DMS_STORE_WRITE_INVALID;
		options = new_options;
		options_len = strlen(new_options);
	}

	if (buf_append(out, name, strlen(name)) < 0 ||
	    buf_append(out, &f.delim, 1) < 0 ||
	    buf_append(out, password, password_len) < 0 ||
	    buf_append(out, f.middle == NULL ? "" : f.middle,
		       f.middle_len) < 0)
		ret = -1;
	if (ret == 0 && options_len > 0) {
		if (f.delim == '|') {
			ret = buf_append(out, "|", 1);
		} else {
			/* up to the extra fields: a short passwd-file line
			   gets its missing empty fields */
			for (int n = count_colons(f.middle == NULL ? "" :
						  f.middle, f.middle_len);
			     ret == 0 && n < 6; n++)
				ret = buf_append(out, ":", 1);
		}
		if (ret == 0)
			ret = buf_append(out, options, options_len);
	}
	if (ret == 0 && f.crlf)
		ret = buf_append(out, "\r", 1);
	if (ret == 0)
		ret = buf_append(out, "\n", 1);
	free(new_options);
	return ret < 0 ? DMS_STORE_WRITE_ERROR : DMS_STORE_WRITE_OK;
}

/* Build the new contents from the old. Returns a dms_store_write_result. */
static enum dms_store_write_result
edit(const struct buf *in, struct buf *out, enum dms_store_op op,
     const char *name, const struct dms_store_change *change,
     const struct dms_store_write_settings *set, const char **error_r)
{
	enum dms_store_write_result ret;
	const char *line = in->data;
	const char *end = in->data == NULL ? NULL : in->data + in->len;
	bool found = false;
	size_t name_len = strlen(name);

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)((nl != NULL ? nl : end) - line);
		const char *lname;
		size_t lname_len;
		int delim = dms_store_line_name(line, len, &lname, &lname_len);
		bool match = delim > 0 && lname_len == name_len &&
			memcmp(lname, name, name_len) == 0;

		/* the first line of a name is the one the module uses */
		if (match && !found) {
			found = true;
			if (op == DMS_STORE_ADD)
				return DMS_STORE_WRITE_EXISTS;
			if (op == DMS_STORE_UPDATE &&
			    (ret = append_entry(out, set->format, name, change,
						line, len, error_r)) !=
			    DMS_STORE_WRITE_OK)
				return ret;
		} else if (!match || op != DMS_STORE_DELETE) {
			/* keep the line as it is; a last line without its
			   newline gets one, so that an appended line is
			   not glued to it */
			if (buf_append(out, line, len) < 0 ||
			    buf_append(out, "\n", 1) < 0)
				return DMS_STORE_WRITE_ERROR;
		}
		line = nl != NULL ? nl + 1 : end;
	}
	if (op == DMS_STORE_ADD)
		return append_entry(out, set->format, name, change, NULL, 0,
				    error_r);
	return found ? DMS_STORE_WRITE_OK : DMS_STORE_WRITE_NOT_FOUND;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t ret = write(fd, data, len);

		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += ret;
		len -= (size_t)ret;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

enum dms_store_write_result
dms_store_write(const char *path, enum dms_store_op op, const char *name,
		const char *password,
		const struct dms_store_write_settings *set,
		const char **error_r)
{
	struct dms_store_change change = { .password = password };

	return dms_store_write_change(path, op, name, &change, set, error_r);
}

struct line_edit {
	enum dms_store_op op;
	const char *name;
	const struct dms_store_change *change;
	const struct dms_store_write_settings *set;
};

static enum dms_store_write_result
line_edit(void *context, const char *old, size_t old_len, char **new_r,
	  size_t *new_len_r, const char **error_r)
{
	struct line_edit *le = context;
	struct buf in = { (char *)old, old_len, old_len }, out = { NULL, 0, 0 };
	enum dms_store_write_result ret;

	ret = edit(&in, &out, le->op, le->name, le->change, le->set, error_r);
	if (ret != DMS_STORE_WRITE_OK) {
		buf_free(&out);
		return ret;
	}
	*new_r = out.data;
	*new_len_r = out.len;
	return DMS_STORE_WRITE_OK;
}

enum dms_store_write_result
dms_store_write_change(const char *path, enum dms_store_op op,
		       const char *name,
		       const struct dms_store_change *change,
		       const struct dms_store_write_settings *set,
		       const char **error_r)
{
	struct line_edit le = { op, name, change, set };

	return dms_store_write_file(path, line_edit, &le, set, error_r);
}

enum dms_store_write_result
dms_store_write_file(const char *path, dms_store_file_edit_t *edit_file,
		     void *context, const struct dms_store_write_settings *set,
		     const char **error_r)
{
	char lock_path[4096], tmp_path[4096];
	struct buf in = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	enum dms_store_write_result ret;
	struct stat st;
	bool have_st = false;
	int lock_fd, fd = -1;

	if (snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >=
	    (int)sizeof(lock_path) ||
	    snprintf(tmp_path, sizeof(tmp_path), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp_path)) {
		errno = ENAMETOOLONG;
		return sys_error("open", path, error_r);
	}
	/* the lock file outlives renames of the store, unlike a lock on the
	   store itself */
	/* never through a link: O_CREAT would follow one to wherever a
	   user who may write the directory pointed it */
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY |
		       O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return sys_error("open", lock_path, error_r);
	if (fstat(lock_fd, &st) < 0) {
		ret = sys_error("fstat", lock_path, error_r);
		close(lock_fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(error_buf, sizeof(error_buf), "%s is not a regular "
			 "file", lock_path);
		*error_r = error_buf;
		close(lock_fd);
		return DMS_STORE_WRITE_ERROR;
	}
	if (flock(lock_fd, LOCK_EX) < 0) {
		ret = sys_error("flock", lock_path, error_r);
		close(lock_fd);
		return ret;
	}

	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) < 0 || read_all(fd, &in) < 0) {
			ret = sys_error("read", path, error_r);
			close(fd);
			goto out;
		}
		have_st = true;
		close(fd);
	} else if (errno != ENOENT) {
		ret = sys_error("open", path, error_r);
		goto out;
	} else if (buf_append(&in, "", 0) < 0) {
		ret = sys_error("malloc", path, error_r);
		goto out;
	}

	ret = edit_file(context, in.data == NULL ? "" : in.data, in.len,
			&out.data, &out.len, error_r);
	if (ret == DMS_STORE_WRITE_ERROR) {
		errno = ENOMEM;
		ret = sys_error("edit", path, error_r);
	}
	if (ret != DMS_STORE_WRITE_OK)
		goto out;

	fd = mkstemp(tmp_path);
	if (fd < 0) {
		ret = sys_error("mkstemp", tmp_path, error_r);
		goto out;
	}
	/* owner, group and mode before any secret is written */
	if ((have_st ? fchown(fd, st.st_uid, st.st_gid) :
	     (set->new_gid == (gid_t)-1 ? 0 :
	      fchown(fd, (uid_t)-1, set->new_gid))) < 0 ||
	    fchmod(fd, have_st ? (st.st_mode & 07777) : set->new_mode) < 0) {
		ret = sys_error("fchown/fchmod", tmp_path, error_r);
	} else if (write_all(fd, out.data == NULL ? "" : out.data,
			     out.len) < 0) {
		ret = sys_error("write", tmp_path, error_r);
	} else if (fsync(fd) < 0) {
		ret = sys_error("fsync", tmp_path, error_r);
	}
	if (close(fd) < 0 && ret == DMS_STORE_WRITE_OK)
		ret = sys_error("close", tmp_path, error_r);
	if (ret == DMS_STORE_WRITE_OK && rename(tmp_path, path) < 0)
		ret = sys_error("rename", path, error_r);
	if (ret != DMS_STORE_WRITE_OK)
		(void)unlink(tmp_path);
	else if (fsync_dir(path) < 0)
		ret = sys_error("fsync of the directory of", path, error_r);
out:
	buf_free(&in);
	buf_free(&out);
	close(lock_fd);
	return ret;
}
