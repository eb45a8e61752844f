#ifndef SETUP_GRANTS_H
#define SETUP_GRANTS_H

#include <stdbool.h>
#include <stdint.h>

/* setup dovecot-master grant | grants | revoke | approve: just-in-time
   grants (dms-grants.h) in the grants file beside the masters file. */

struct setup_grants_settings {
	const char *prog;
	/* the masters file; the grants are in STORE_PATH.grants */
	const char *store_path;
	/* where grant, approve and revoke are audited; NULL: not */
	const char *audit_file;
	/* masters kept in LDAP (--ldap): grants are dmsGrant values of
	   their entries; NULL: the grants file */
	const char *ldap_path;
	/* approve: the password from standard input */
	bool password_stdin;
};

/* Run COMMAND ("grant", "grants", "revoke" or "approve") with its
   ARGC arguments. Returns the exit status (0, 1 refused or failed, 2
   usage); -1 when COMMAND is not one of these. */
int setup_grants_run(const struct setup_grants_settings *set,
		     const char *command, int argc, char **argv);

/* "Ns", "Nm", "Nh", "Nd" and sums of them ("1h30m"): seconds in
   *secs_r. Returns 0, or -1. */
int setup_duration_parse(const char *text, int64_t *secs_r);

#endif
