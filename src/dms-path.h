#ifndef DMS_PATH_H
#define DMS_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Who may change a file decides what it says: the store decides who logs
   in as anyone, the audit file what was done. Like sshd's StrictModes, a
   path is trusted when the file and every directory on the way to it,
   after following links, are owned by root or the trusted user and
   writable by nobody else: not by others, and by a group only when it is
   root's or the trusted group. A sticky directory (/tmp) may be writable
   by others: they cannot replace what the trusted users put there. */
struct dms_path_trust {
	uid_t uid;
	gid_t gid;
};

/* Walk PATH name by name, following its links, and check every name on
   the way: the directories, each link (owned by root or the trusted
   user) and the directories and files it leads to, so that nothing on
   the way can be swapped by anyone else. The real path is left in
   RESOLVED. With MAY_BE_MISSING a missing last name is fine (a file still
   to be created). Returns 0, or -1 with a message naming the offending
   path in ERROR ("untrusted path: ..." when it is not trusted, else the
   failed system call). */
int dms_path_check(const char *path, const struct dms_path_trust *trust,
		   bool may_be_missing, char *resolved, size_t resolved_size,
		   char *error, size_t error_size);

/* The check of one name on the way, for a stat() result of PATH (an
   fstat() of what was opened, too): 0, or -1 with "untrusted path: PATH
   is ... (uid, gid, mode)" in ERROR. */
int dms_path_stat_check(const char *path, const struct stat *st,
			const struct dms_path_trust *trust,
			char *error, size_t error_size);

/* Whether two stat() results show the same file unchanged, as far as
   stat() tells: device, inode, size, mtime and ctime. A file replaced
   (rename) or written in place differs; the files read at every login
   (the store, grants, TOTP secrets) are read again only when it does. */
bool dms_path_stat_unchanged(const struct stat *a, const struct stat *b);

#endif
