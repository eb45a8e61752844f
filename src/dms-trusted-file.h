#ifndef DMS_TRUSTED_FILE_H
#define DMS_TRUSTED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "dms-path.h"

/* A small file the module reads beside the store (the grants, the TOTP
   secrets), re-read when it changes and trusted as the store is
   (dms-path.h): owned by root or the trusted user, writable by no one
   else, every directory on the way too. A missing file is empty. */

#define DMS_TRUSTED_FILE_MAX (16 * 1024 * 1024)

struct dms_trusted_file {
	char *path;
	struct dms_path_trust trust;
	/* the contents, NUL-terminated (NULL: none, or a missing file) */
	char *text;
	size_t len;
	/* false after a failed read: the contents are not to be used */
	bool usable;
	bool have_st;
	struct stat st;
	char error[4096 + 256];
};

/* Returns 0 with F unchanged on any error. */
int dms_trusted_file_init(struct dms_trusted_file *f, const char *path,
			  const struct dms_path_trust *trust);
void dms_trusted_file_deinit(struct dms_trusted_file *f);

/* stat() the file and read it again when its inode, size, mtime or ctime
   changed. Returns 1 when (re)read (or gone), 0 when unchanged, -1 with
   *error_r (valid until the next call) when it cannot be read or trusted:
   the contents are dropped and usable is false until a later refresh
   succeeds. */
int dms_trusted_file_refresh(struct dms_trusted_file *f,
			     const char **error_r);

#endif
