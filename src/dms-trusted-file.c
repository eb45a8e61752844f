/* Reading a small trusted file beside the store (dms-trusted-file.h). */

#include "dms-trusted-file.h"
#include "dms-password.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dms_trusted_file_init(struct dms_trusted_file *f, const char *path,
			  const struct dms_path_trust *trust)
{
	memset(f, 0, sizeof(*f));
	if ((f->path = strdup(path)) == NULL)
		return -1;
	f->trust = *trust;
	return 0;
}

static void contents_drop(struct dms_trusted_file *f)
{
	/* TOTP secrets among them */
	if (f->text != NULL)
		dms_wipe(f->text, f->len);
	free(f->text);
	f->text = NULL;
	f->len = 0;
}

void dms_trusted_file_deinit(struct dms_trusted_file *f)
{
	contents_drop(f);
	free(f->path);
	f->path = NULL;
}

static int file_fail(struct dms_trusted_file *f, const char *what,
		     const char **error_r)
{
	if (what != NULL) {
		snprintf(f->error, sizeof(f->error), "%s(%s) failed: %s", what,
			 f->path, strerror(errno));
	}
	contents_drop(f);
	f->usable = false;
	f->have_st = false;
	*error_r = f->error;
	return -1;
}

int dms_trusted_file_refresh(struct dms_trusted_file *f,
			     const char **error_r)
{
	char resolved[PATH_MAX], why[PATH_MAX + 128];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	char *text;
	int fd;

	if (stat(f->path, &st) < 0) {
		if (errno != ENOENT)
			return file_fail(f, "stat", error_r);
		/* no file: empty */
		if (f->usable && !f->have_st && f->text == NULL)
			return 0;
		contents_drop(f);
		f->usable = true;
		f->have_st = false;
		return 1;
	}
	if (f->usable && f->have_st && dms_path_stat_unchanged(&st, &f->st))
		return 0;
	contents_drop(f);
	f->usable = false;
	/* at every read: a link swapped in changes what stat() sees */
	if (dms_path_check(f->path, &f->trust, false, resolved,
			   sizeof(resolved), why, sizeof(why)) < 0) {
		snprintf(f->error, sizeof(f->error), "%s: refusing to use %s",
			 why, f->path);
		return file_fail(f, NULL, error_r);
	}
	fd = open(resolved, O_RDONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return file_fail(f, "open", error_r);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return file_fail(f, "fstat", error_r);
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DMS_TRUSTED_FILE_MAX) {
		snprintf(f->error, sizeof(f->error), "%s: not a regular file "
			 "of at most 16 MiB", f->path);
		close(fd);
		return file_fail(f, NULL, error_r);
	}
	if (dms_path_stat_check(resolved, &st, &f->trust, why,
				sizeof(why)) < 0) {
		snprintf(f->error, sizeof(f->error), "%s: refusing to use %s",
			 why, f->path);
		close(fd);
		return file_fail(f, NULL, error_r);
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return file_fail(f, "malloc", error_r);
	}
	while (len < (size_t)st.st_size &&
	       (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			dms_wipe(text, len);
			free(text);
			close(fd);
			return file_fail(f, "read", error_r);
		}
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	f->text = text;
	f->len = len;
	f->usable = true;
	/* setup replaces these files whole (rename): a short read is a
	   file changed in between, read again at the next refresh */
	f->have_st = len == (size_t)st.st_size;
	f->st = st;
	return 1;
}
