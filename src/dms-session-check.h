#ifndef DMS_SESSION_CHECK_H
#define DMS_SESSION_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "dms-path.h"

/* Whether a master session may go on: the dms-session service asks this
   of every open master session every few seconds, so that a master that
   is deleted, disabled, expires, becomes read-only or whose dms_allow,
   dms_deny, dms_ports or dms_services (or the site's protected list) no
   longer allow the session ends its sessions. The store
   is the one the dms_master passdb authorized the session from (a file,
   re-read when it changes; or LDAP, within its settings' cache_ttl), read
   with the same code and the same policy check as the passdb's. */

struct dms_session_checker;

/* Files on the way to the stores must be owned by root or TRUST's user
   (as the passdb's: dms-path.h). */
struct dms_session_checker *
dms_session_checker_new(const struct dms_path_trust *trust);
void dms_session_checker_free(struct dms_session_checker **checker);

struct dms_session_subject {
	const char *master;
	/* the user whose mail the session has open */
	const char *user;
	const char *service;
	/* "file:PATH" or "ldap:PATH" (the LDAP settings file) */
	const char *store;
	/* the passdb's site options (dms_policy_site_parse()) */
	const char *site;
	/* the listener the session's client reached; NULL/"" and 0: not
	   known */
	const char *local_ip;
	unsigned int local_port;
	/* the session was opened read-only */
	bool read_only;
};

/* Check SUBJECT at NOW (seconds since the epoch) and NOW_MSEC (a
   monotonic clock). Returns 1 when it may go on; 0 when it must end,
   with *reason_r (static, or valid until the next call): the rule that
   refuses it, "deleted", "now read-only", or why the store cannot
   confirm it (fail closed: a store that cannot answer ends the session,
   as it refuses a login). */
int dms_session_check(struct dms_session_checker *checker,
		      const struct dms_session_subject *subject, int64_t now,
		      uint64_t now_msec, const char **reason_r);

#endif
