#ifndef SETUP_REPORT_H
#define SETUP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* `setup dovecot-master report`: the access review. Reads the audit file
   and its rotated copies (FILE.1, FILE.2.gz, FILE-20261206, ...), with
   the login records of the dms_master passdb and the session records of
   the dms-session service, and prints per master: the last login, the
   logins accepted and refused (by rule), the sessions and how they
   ended, the mailboxes opened, the messages read and changed; then the
   masters of the store unused for UNUSED_DAYS days and those that never
   expire. */

/* Debian's (README.Debian): the passdb's audit_file and the dms-session
   service's file */
#define SETUP_AUDIT_FILE_DEFAULT "/var/log/dovecot-dms/audit.json"

struct setup_report_master {
	const char *name;
	bool has_expires;
	int64_t expires;
};

struct setup_report_settings {
	const char *audit_file;
	/* records from this time on (seconds since the epoch); 0: all */
	int64_t since;
	unsigned int unused_days;
	bool json;
	/* the store's masters */
	const struct setup_report_master *masters;
	size_t masters_count;
	int64_t now;
};

/* Exit status of a report that found masters to review (unused for
   unused_days, or without an expiry): for cron and monitoring checks. */
#define SETUP_REPORT_EXIT_REVIEW 4

/* Print the report to OUT. Returns 0 (nothing to review),
   SETUP_REPORT_EXIT_REVIEW, or -1 with the error printed after PROG. */
int setup_report(FILE *out, const char *prog,
		 const struct setup_report_settings *set);

#endif
