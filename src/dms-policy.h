#ifndef DMS_POLICY_H
#define DMS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-master policy, stored with the account as space-separated
   KEY=VALUE options: in the third field of a docker-mailserver line
   (NAME|{SCHEME}HASH|OPTIONS) or among the extra fields of a passwd-file
   line (NAME:{SCHEME}HASH:::::: OPTIONS). Only keys starting with "dms_"
   are ours; other extra fields are left alone. A line without options
   keeps today's behaviour, except for the services (see below).

     dms_allow=PATTERN[,PATTERN...]  targets this master may open
                                     (dms-pattern.h); default: any
     dms_services=NAME[,NAME...]     Dovecot services (imap, pop3,
                                     submission, smtp, doveadm, ...) or
                                     '*'; default: the passdb's
                                     default_services (imap,pop3)
     dms_read_only=yes|no            sessions may read but change nothing
     dms_expires=TIME                refused from TIME on (UTC):
                                     YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ
     dms_disabled=yes|no             refused while yes
     dms_record=summary|messages     what its sessions' records hold
                                     (default: the site's
                                     dms_session_record)
     dms_notify_owner=yes|no         the mailbox owner gets a notice of
                                     each session that read or changed
                                     something (default: the site's
                                     dms-session -n)
     dms_deny=PATTERN[,PATTERN...]   targets this master may never open,
                                     whatever dms_allow says
     dms_ports=WHERE[,WHERE...]      the local listeners a master login
                                     is accepted on: PORT, ADDRESS, or
                                     ADDRESS:PORT ([ADDRESS]:PORT for
                                     IPv6); default: the site's ports
     dms_require_grant=yes|no        no standing access: a mailbox opens
                                     only while a grant covers it
     dms_grant_approval=yes|no       its grants need another master's
                                     approval (setup dovecot-master
                                     approve)
     dms_totp=yes|no                 its password is followed by a
                                     current TOTP code (dms-totp.h)

   Parsing is strict: an unknown dms_ key, a repeated one or a bad value
   makes the whole line invalid, so that a typo never grants more than
   the operator wrote. */

#define DMS_POLICY_LIST_MAX 64
#define DMS_SERVICE_MAX 32
/* imap and pop3: not submission or smtp, through which a master could
   send mail as the user */
#define DMS_POLICY_DEFAULT_SERVICES "imap,pop3"

/* Per-master choices that limit nothing: unset means the site's default. */
enum dms_policy_record {
	DMS_POLICY_RECORD_DEFAULT = 0,
	DMS_POLICY_RECORD_SUMMARY,
	DMS_POLICY_RECORD_MESSAGES,
};
enum dms_policy_notify {
	DMS_POLICY_NOTIFY_DEFAULT = 0,
	DMS_POLICY_NOTIFY_YES,
	DMS_POLICY_NOTIFY_NO,
};

/* "summary"/"messages", "yes"/"no"; NULL for the defaults. */
const char *dms_policy_record_name(enum dms_policy_record record);
const char *dms_policy_notify_name(enum dms_policy_notify notify);

/* A list of NUL-separated items, packed one after the other. */
struct dms_policy_list {
	const char *items;
	unsigned int count;
};

struct dms_policy {
	/* count 0: not set */
	struct dms_policy_list allow;
	struct dms_policy_list services;
	/* seconds since the epoch; has_expires false: never */
	int64_t expires;
	bool has_expires;
	bool read_only;
	bool disabled;
	enum dms_policy_record record;
	enum dms_policy_notify notify_owner;
	struct dms_policy_list deny;
	struct dms_policy_list ports;
	/* no standing access: only while a grant covers the target
	   (dms-grants.h) */
	bool require_grant;
	/* its grants take effect once another master approves them */
	bool grant_approval;
	/* the password is followed by a TOTP code (dms-totp.h) */
	bool totp;
	/* The other extra fields of a passwd-file line (allow_nets=...,
	   nologin, ...), space-separated as in the file, which the module
	   hands to Dovecot as passwd-file does; NULL if none. Not set by
	   dms_policy_parse(): the store fills it in and frees it. */
	char *extra_fields;
};

/* What decided a policy check, in the order they are checked. */
enum dms_policy_rule {
	DMS_POLICY_RULE_DISABLED,
	DMS_POLICY_RULE_EXPIRES,
	DMS_POLICY_RULE_SERVICES,
	/* a read-only master may use imap and pop3 only, whatever
	   dms_services says: the services whose sessions ACLs and the
	   read-only mail plugin keep from changing anything. ManageSieve
	   ("sieve") would write Sieve scripts (a redirect copies every later
	   mail out), submission and SMTP AUTH would send as the user. */
	DMS_POLICY_RULE_READ_ONLY,
	/* not on a listener dms_ports (or the site's ports) names, or the
	   listener is not known (doveadm auth test without lport=) */
	DMS_POLICY_RULE_PORTS,
	/* the target is in the site's protected list */
	DMS_POLICY_RULE_PROTECTED,
	/* the target matches the master's dms_deny */
	DMS_POLICY_RULE_DENY,
	/* dms_require_grant and no grant covers the target; or, when
	   allowed, a grant (dms-grants.h) opened it */
	DMS_POLICY_RULE_GRANT,
	DMS_POLICY_RULE_ALLOW,
};

/* What the site sets for every master, in the options' syntax
   ("dms_services=imap,pop3 dms_deny=ceo@example.com dms_ports=10143"):
   the services of masters without dms_services, the protected mailboxes
   no master may open, and the listeners of masters without dms_ports
   (none: any). */
struct dms_policy_site {
	struct dms_policy_list services;
	struct dms_policy_list protected;
	struct dms_policy_list ports;
};

/* Parse the site's TEXT in place (dms_services, dms_deny and dms_ports
   only; dms_services defaults to DMS_POLICY_DEFAULT_SERVICES). Returns
   0, or -1 with *error_r (static or in ERROR_BUF). */
int dms_policy_site_parse(char *text, struct dms_policy_site *site_r,
			  char *error_buf, size_t error_size,
			  const char **error_r);
/* The canonical text of SITE, as dms_policy_format() does. */
size_t dms_policy_site_format(const struct dms_policy_site *site, char *buf,
			      size_t size);

/* One master login (or session) to check. */
struct dms_policy_login {
	/* the user whose mail is opened; NULL: not known yet */
	const char *target;
	const char *service;
	/* the listener the client connected to: an IP address and a port;
	   NULL or "" and 0 when not known */
	const char *local_ip;
	unsigned int local_port;
	/* seconds since the epoch */
	int64_t now;
};

/* Parse the options in TEXT (modified in place: the policy points into
   it). Tokens without the dms_ prefix are skipped, unless ONLY_OURS (a
   docker-mailserver line has no other fields: "NAME|{PLAIN}a|b" must not
   quietly become the password "a"). Returns 0, or -1 with *error_r (a
   static string or one in ERROR_BUF). */
int dms_policy_parse(char *text, bool only_ours, struct dms_policy *policy_r,
		     char *error_buf, size_t error_size,
		     const char **error_r);

/* Whether POLICY says anything: a limit, or a per-master choice (all
   "no" values and defaults say nothing). */
bool dms_policy_is_set(const struct dms_policy *policy);

/* Parse a comma-separated service list in place into LIST (as for
   dms_services=). Returns 0 or -1 with *error_r (static). */
int dms_policy_parse_services(char *text, struct dms_policy_list *list_r,
			      const char **error_r);

/* Check a verified master's LOGIN against its POLICY and the SITE's.
   Returns true when allowed. *rule_r is the rule that refused or, when
   allowed, ALLOW; *detail_r (allowed: the pattern that matched, or NULL
   for no dms_allow; refused by deny or protected: the pattern) points
   into the policy or the site. Deny and protected win over dms_allow. */
bool dms_policy_check(const struct dms_policy *policy,
		      const struct dms_policy_site *site,
		      const struct dms_policy_login *login,
		      enum dms_policy_rule *rule_r, const char **detail_r);

/* Whether WHERE (a dms_ports item) names the listener LOCAL_IP:LOCAL_PORT
   (see struct dms_policy_login). */
bool dms_policy_port_match(const char *where, const char *local_ip,
			   unsigned int local_port);

/* "disabled", "expires", "services", "read_only", "ports", "protected",
   "deny", "grant", "allow" */
const char *dms_policy_rule_name(enum dms_policy_rule rule);

/* The canonical options text of POLICY (keys in the order above, only
   those set) into BUF; returns its length, or SIZE or more when BUF is
   too small (snprintf-style). */
size_t dms_policy_format(const struct dms_policy *policy, char *buf,
			 size_t size);

/* UTC times: YYYY-MM-DD (midnight) or YYYY-MM-DDTHH:MM:SSZ. Returns 0
   with *time_r, or -1. */
int dms_time_parse(const char *text, int64_t *time_r);
/* YYYY-MM-DDTHH:MM:SSZ; BUF needs DMS_TIME_BUF bytes. */
#define DMS_TIME_BUF 48
void dms_time_format(int64_t time, char *buf);

#endif
