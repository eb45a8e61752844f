#ifndef SETUP_OPTIONS_H
#define SETUP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* The policy options of `setup dovecot-master add|update`, and how they
   change a store line's options (dms-policy.h): only the options given
   change; other dms_ options and other passdbs' extra fields stay. */

enum setup_flag {
	SETUP_FLAG_UNCHANGED = 0,
	SETUP_FLAG_SET,
	SETUP_FLAG_CLEAR,
};

/* --notify-owner, --no-notify-owner, --default-notify-owner */
enum setup_notify {
	SETUP_NOTIFY_UNCHANGED = 0,
	SETUP_NOTIFY_YES,
	SETUP_NOTIFY_NO,
	SETUP_NOTIFY_DEFAULT,
};

struct setup_options {
	/* values for SET; all malloc()ed by setup_options_parse() */
	char *allow, *services, *expires, *record, *deny, *ports;
	enum setup_flag allow_flag, services_flag, expires_flag, record_flag;
	enum setup_flag deny_flag, ports_flag;
	enum setup_flag require_grant, grant_approval, totp;
	enum setup_flag read_only, disabled;
	enum setup_notify notify_owner;
	/* any policy option given */
	bool any;
	/* --password-stdin after the command */
	bool password_stdin;
};

/* Take the options out of ARGV (ARGC entries), leaving the other
   arguments in order in ARGV and their number in *argc_r. Options are
   --allow PATTERNS (repeatable), --no-allow, --services LIST,
   --no-services, --read-only, --no-read-only, --expires TIME,
   --no-expires, --disable, --enable, --record LEVEL, --no-record,
   --notify-owner, --no-notify-owner, --default-notify-owner,
   --deny PATTERNS (repeatable), --no-deny, --ports LIST, --no-ports,
   --require-grant, --no-require-grant, --grant-approval,
   --no-grant-approval, --totp, --no-totp, as
   "--opt VALUE" or "--opt=VALUE",
   and --password-stdin; "--" ends them. Everything else is an argument,
   so a password may start with '-'. Returns 0 or -1 with *error_r (static or in OPTS). */
int setup_options_parse(int argc, char **argv, struct setup_options *opts,
			int *argc_r, const char **error_r);
void setup_options_free(struct setup_options *opts);

/* The options that apply to every command, accepted after the command as
   well as before it: --masters-file FILE, --users-file FILE, --scheme
   SCHEME, --ldap FILE, --base-dir DIR ("--opt VALUE" or "--opt=VALUE").
   Values point into ARGV. */
struct setup_globals {
	const char *masters_file, *users_file, *scheme, *ldap, *base_dir;
};

/* Take the global options out of ARGV up to a "--" (which stays, for
   setup_options_parse()), leaving the rest in order and their number in
   *argc_r. Returns 0, or -1 with *error_r (static) for an option without
   its value. */
int setup_globals_take(int argc, char **argv, struct setup_globals *g,
		       int *argc_r, const char **error_r);

/* Whether ARG, given where a PASSWORD goes, reads like a stored policy
   option ("dms_read_only=yes"): a "dms_" key of letters and '_', then
   '='. Taken as a password it would make a master without the policy,
   with a password written in the documentation. */
bool setup_arg_is_policy_option(const char *arg);

/* The new options text of a line from its OLD options (OLD_LEN bytes,
   NULL for none): malloc()ed, or NULL with *error_r (valid until the
   next call) when an option is invalid. */
char *setup_options_apply(const struct setup_options *opts, const char *old,
			  size_t old_len, const char **error_r);

#endif
