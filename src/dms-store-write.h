#ifndef DMS_STORE_WRITE_H
#define DMS_STORE_WRITE_H

#include <stdbool.h>
#include <sys/types.h>

/* Changing one name in a store file, safely: under an exclusive lock on
   PATH.lock, the new contents go to a temp file in the same directory,
   are fsync()ed, get the old file's owner, group and mode (a new file gets
   NEW_MODE and NEW_GID), and are rename()d over PATH, then the directory
   is fsync()ed. A reader (the auth process) sees the old or the new file,
   never a half-written one; other lines, comments included, are kept as
   they are. */

enum dms_store_op {
	DMS_STORE_ADD,
	DMS_STORE_UPDATE,
	DMS_STORE_DELETE,
};

enum dms_store_format {
	/* docker-mailserver's dovecot-masters.cf: NAME|{SCHEME}HASH */
	DMS_STORE_FORMAT_PIPE,
	/* Dovecot passwd-file: NAME:{SCHEME}HASH (later fields kept) */
	DMS_STORE_FORMAT_PASSWD,
};

enum dms_store_write_result {
	DMS_STORE_WRITE_OK = 0,
	DMS_STORE_WRITE_ERROR = -1,
	/* ADD of a name that is there */
	DMS_STORE_WRITE_EXISTS = -2,
	/* UPDATE or DELETE of a name that is not */
	DMS_STORE_WRITE_NOT_FOUND = -3,
	/* the options editor refused the change (*error_r says why) */
	DMS_STORE_WRITE_INVALID = -4,
};

struct dms_store_write_settings {
	enum dms_store_format format;
	mode_t new_mode;
	/* (gid_t)-1 keeps the creator's group */
	gid_t new_gid;
};

/* Returns the new options of a line (malloc()ed; "" for none) from its
   old ones (OLD_LEN bytes; NULL for a new line or one without an options
   field), or NULL with *error_r to refuse the change. Called under the
   lock, so that concurrent changes of other options are not lost. */
typedef char *dms_store_options_edit_t(void *context, const char *old,
				       size_t old_len, const char **error_r);

struct dms_store_change {
	/* the stored value ("{SCHEME}HASH"); NULL keeps the old one (UPDATE
	   only) */
	const char *password;
	/* NULL keeps the options as they are */
	dms_store_options_edit_t *edit_options;
	void *context;
};

/* ADD, UPDATE or DELETE (CHANGE unused) NAME's line. */
enum dms_store_write_result
dms_store_write_change(const char *path, enum dms_store_op op,
		       const char *name,
		       const struct dms_store_change *change,
		       const struct dms_store_write_settings *set,
		       const char **error_r);

/* PASSWORD is the stored value ("{SCHEME}HASH"), NULL for DELETE.
   *error_r is set for DMS_STORE_WRITE_ERROR, valid until the next call. */
enum dms_store_write_result
dms_store_write(const char *path, enum dms_store_op op, const char *name,
		const char *password,
		const struct dms_store_write_settings *set,
		const char **error_r);

/* Replace the whole contents of PATH under the same lock and with the
   same atomic rename: EDIT gets the old contents (OLD_LEN bytes, "" for
   a file that does not exist) and returns DMS_STORE_WRITE_OK with the new
   ones malloc()ed in *new_r (*new_len_r bytes), or another result (with
   *error_r) to leave the file as it is. */
typedef enum dms_store_write_result
dms_store_file_edit_t(void *context, const char *old, size_t old_len,
		      char **new_r, size_t *new_len_r, const char **error_r);
enum dms_store_write_result
dms_store_write_file(const char *path, dms_store_file_edit_t *edit,
		     void *context, const struct dms_store_write_settings *set,
		     const char **error_r);

#endif
