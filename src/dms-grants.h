#ifndef DMS_GRANTS_H
#define DMS_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dms-path.h"
#include "dms-policy.h"

/* Just-in-time grants: master NAME may open TARGET (an address or a
   pattern as in dms_allow) until a time, for a reason. They live beside
   the file store, in STORE.grants, one per line:

     ID|MASTER|TARGET|CREATED|UNTIL|STATE|APPROVER|REASON

   ID is 16 lower-case hex digits; times are UTC (YYYY-MM-DDTHH:MM:SSZ);
   STATE is pending (waiting for a second master's approval), active or
   revoked; APPROVER is the approving master or '-'; REASON is the rest
   of the line. Lines starting with '#' are comments. A line that does not
   parse is no grant (fail closed). Ended grants stay, for the record,
   until pruned. The file is written like the store (dms-store-write.h)
   and trusted like it (dms-path.h). */

#define DMS_GRANT_ID_LEN 16
#define DMS_GRANT_REASON_MAX 500
/* the longest a grant may run */
#define DMS_GRANT_MAX_SECS (90 * 86400)

enum dms_grant_state {
	DMS_GRANT_PENDING,
	DMS_GRANT_ACTIVE,
	DMS_GRANT_REVOKED,
};

struct dms_grant {
	const char *id, *master, *target;
	/* NULL: none */
	const char *approver;
	const char *reason;
	int64_t created, until;
	enum dms_grant_state state;
};

/* Parse LINE (no newline; modified in place: GRANT_R points into it).
   Returns 0, or -1 with *error_r (static). */
int dms_grant_parse(char *line, struct dms_grant *grant_r,
		    const char **error_r);
/* The line of GRANT with its newline, malloc()ed; NULL when out of
   memory. */
char *dms_grant_format(const struct dms_grant *grant);
/* NULL when REASON may be stored: 1..DMS_GRANT_REASON_MAX bytes without
   control characters; else why not (static). */
const char *dms_grant_reason_check(const char *reason);
const char *dms_grant_state_name(enum dms_grant_state state);

/* Whether GRANT lets MASTER open TARGET at NOW: active, NOW within
   [CREATED, UNTIL), TARGET matching its pattern. */
bool dms_grant_covers(const struct dms_grant *grant, const char *master,
		      const char *target, int64_t now);

/* STORE_PATH.grants, malloc()ed. */
char *dms_grants_path(const char *store_path);

struct dms_grants;

/* The grants file PATH, trusted as TRUST says (owner root or the trusted
   user, writable by no one else). Read by dms_grants_refresh(). */
struct dms_grants *dms_grants_new(const char *path,
				  const struct dms_path_trust *trust);
/* Grants parsed from TEXT (LEN bytes): the CLI's and the tests'. */
struct dms_grants *dms_grants_from_buffer(const char *text, size_t len);
void dms_grants_free(struct dms_grants **grants);

/* Re-read the file when it changed (dms_trusted_file_refresh()). A
   missing file is no grants. Returns 1 when (re)read, 0 when unchanged,
   -1 with *error_r (valid until the next call) when it cannot be read or
   trusted: then it holds no grants until a later refresh succeeds, and
   dms_grants_usable() is false. */
int dms_grants_refresh(struct dms_grants *grants, const char **error_r);
bool dms_grants_usable(const struct dms_grants *grants);
/* Lines that did not parse at the last read. */
unsigned int dms_grants_skipped(const struct dms_grants *grants);

/* The first grant that covers MASTER opening TARGET at NOW, or NULL. */
const struct dms_grant *
dms_grants_find(const struct dms_grants *grants, const char *master,
		const char *target, int64_t now);
/* All grants in file order. */
const struct dms_grant *dms_grants_all(const struct dms_grants *grants,
				       size_t *count_r);

/* What grants add to a login dms_policy_check() judged: POLICY_ALLOWED
   and *rule_r are its answer. A master with dms_require_grant (refused
   there with rule GRANT) needs a grant that covers the target, within its
   dms_allow when set; any other master may open, beside what dms_allow
   lets it, what a grant covers. Deny, protected and every earlier rule
   win over grants. GRANTS is NULL or not usable when the file cannot be
   read. Returns 1 (allowed; when by a grant, *rule_r is GRANT and
   *grant_r the grant, else *grant_r is NULL), 0 (refused; *rule_r says
   why), or -1 when a grant is needed and the file cannot be read (fail
   closed: a temporary failure). */
int dms_grant_check(const struct dms_policy *policy, bool policy_allowed,
		    const struct dms_grants *grants, const char *master,
		    const char *target, int64_t now,
		    enum dms_policy_rule *rule_r,
		    const struct dms_grant **grant_r);

#endif
