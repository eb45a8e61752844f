#ifndef DMS_STORE_H
#define DMS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include "dms-password.h"
#include "dms-policy.h"
#include "dms-path.h"

/* The master store: docker-mailserver's dovecot-masters.cf
   ("NAME|{SCHEME}HASH") and Dovecot passwd-file lines
   ("NAME:{SCHEME}HASH[:...]") in one file, '#' comments, blank lines and
   CRLF endings allowed. Names are looked up in O(1) through a hash table.
   The data layer never logs: warnings go to a callback, errors to error_r. */

/* Longest name and password field accepted; longer lines are skipped. */
#define DMS_STORE_NAME_MAX 255
#define DMS_STORE_PASSWORD_MAX 1024
/* A larger file is refused as a whole rather than read into memory. */
#define DMS_STORE_FILE_MAX (512UL * 1024 * 1024)
/* Malformed lines reported one by one; the rest only counted. */
#define DMS_STORE_WARNINGS_MAX 10

struct dms_store;

struct dms_store_entry {
	const char *name;
	/* "{SCHEME}HASH" or a bare hash, as in the file */
	const char *password;
	/* the line's dms_ options (dms-policy.h); never NULL. Held apart
	   from the entry: few masters have options, and the table should
	   stay small for the many that do not. */
	const struct dms_policy *policy;
	unsigned int line;
};

/* line is 0 for a summary about the whole file */
typedef void dms_store_warning_t(void *context, unsigned int line,
				 const char *message);

struct dms_store *dms_store_new(const char *path,
				enum dms_scheme default_scheme);
void dms_store_free(struct dms_store **store);

/* Who besides root may own and write the file and the directories above
   it (dms-path.h); by default this process's effective user and group. */
void dms_store_set_trust(struct dms_store *store,
			 const struct dms_path_trust *trust);

/* Parse TEXT (LEN bytes, NULs allowed) into a store that has no file
   behind it. Used by the unit tests and the fuzzer. */
struct dms_store *dms_store_new_from_buffer(const char *text, size_t len,
					    enum dms_scheme default_scheme,
					    dms_store_warning_t *warning,
					    void *context);

/* Bring the store in line with its file: stat() it and re-read it when
   its inode, size, mtime or ctime changed. Returns 1 when (re)loaded, 0
   when unchanged, -1 with *error_r (valid until the next call) when the
   file cannot be read or may not be trusted: the store is then empty, so
   no stale credentials are ever used, until a later refresh succeeds.
   Untrusted: the file or a directory on its path (links followed) owned
   by another user than root or the trusted one, or writable by others
   (dms-path.h). A file that changes while it is read is read again, and
   refused after DMS_STORE_READ_TRIES reads; one whose last line has no
   newline is refused while it may still be being written (changed in the
   last 2 s). A file readable by everyone loads with a warning. */
int dms_store_refresh(struct dms_store *store, dms_store_warning_t *warning,
		      void *context, const char **error_r);

/* A hash of the costliest scheme and cost among the masters' hashes, to
   verify unknown names against, so that a name's existence does not show
   in the time a wrong password takes. Made (by timing one verification
   per distinct scheme and cost) on the first call after a load; NULL
   when no master has a hash libxcrypt verifies. */
const char *dms_store_dummy_hash(struct dms_store *store);

/* For a master whose hash costs less than the costliest: a dummy hash of
   its own cost and *times_r, how often to verify against it as well, so
   that its passwords cost what an unknown name costs (within 0.75-1.5x)
   and its name does not show. NULL when no padding is needed. */
const char *dms_store_pad_hash(struct dms_store *store,
			       const struct dms_store_entry *entry,
			       unsigned int *times_r);

/* Returns 1 and *entry_r (valid until the next refresh), or 0. */
int dms_store_lookup(const struct dms_store *store, const char *name,
		     const struct dms_store_entry **entry_r);

size_t dms_store_count(const struct dms_store *store);
/* The entries in the order of the file. */
const struct dms_store_entry *
dms_store_entries(const struct dms_store *store, size_t *count_r);

/* Where a line's name is: the bytes before its first ':' or '|' after
   leading blanks (LINE is LEN bytes without its '\n'). Returns the
   delimiter with *name_r and *name_len_r, 0 for a comment or blank line,
   -1 for a line without a delimiter. The parser and the writer share it,
   so both see the same name in every line. */
int dms_store_line_name(const char *line, size_t len, const char **name_r,
			size_t *name_len_r);

/* The fields of a line, for the parser and the writer alike. LINE is LEN
   bytes without its '\n'; a trailing '\r' belongs to no field. */
struct dms_store_line {
	const char *name, *password;
	size_t name_len, password_len;
	/* passwd-file: from the ':' after the password up to and including
	   the ':' before the extra fields (or to the line end when there are
	   fewer fields); empty for docker-mailserver lines */
	const char *middle;
	size_t middle_len;
	/* the options: the extra fields of a passwd-file line, the third
	   field of a docker-mailserver line; NULL when there is no such
	   field */
	const char *options;
	size_t options_len;
	/* ':' or '|' */
	char delim;
	bool crlf;
};
/* Returns 1 with *fields_r, 0 for a comment or blank line, -1 for a line
   without a delimiter. */
int dms_store_line_fields(const char *line, size_t len,
			  struct dms_store_line *fields_r);
const char *dms_store_path(const struct dms_store *store);
/* Lines skipped as malformed or duplicate by the last load. */
unsigned int dms_store_skipped_lines(const struct dms_store *store);

#endif
