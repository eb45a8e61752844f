#ifndef DMS_ARGS_H
#define DMS_ARGS_H

#include <stdbool.h>
#include "dms-password.h"

/* passdb { args = [KEY=VALUE ...] PATH }, following passwd-file's
   convention: options first, then the store's absolute path. */
struct dms_args {
	/* the separator of "target<sep>master" in the self-splitting way */
	char separator;
	/* scheme of stored values without a {SCHEME} prefix */
	enum dms_scheme scheme;
	/* %variables expanded to the name looked up in the store */
	char *username_format;
	/* verify in Dovecot's auth-worker processes */
	bool blocking;
	/* PATH is an LDAP settings file (dms-ldap-config.h), not the store */
	bool ldap;
	/* the services of masters without dms_services= (validated) */
	char *default_services;
	/* protected=PATTERNS: targets no master may open; ports=LIST: the
	   listeners of masters without dms_ports; NULL: none */
	char *protected, *ports;
	/* the three above as the site's options text (dms-policy.h),
	   validated and canonical */
	char *site;
	/* the TOTP replay state file (dms-totp.h); NULL: the default */
	char *totp_state;
	/* append a JSON line per master login attempt here; NULL: none */
	char *audit_file;
	char *path;
};

#define DMS_ARGS_DEFAULT_SEPARATOR '*'
#define DMS_ARGS_DEFAULT_USERNAME_FORMAT "%u"
/* docker-mailserver's file and the one the setup CLI writes */
#define DMS_DEFAULT_MASTER_STORE "/etc/dovecot/dovecot-masters.cf"

/* Returns 0, or -1 with *error_r (valid until the next call). The strings
   in ARGS_R are malloc()ed; free them with dms_args_free(). */
int dms_args_parse(const char *args, struct dms_args *args_r,
		   const char **error_r);
void dms_args_free(struct dms_args *args);

/* The site's options text of SERVICES (comma-separated), PROTECTED
   (patterns) and PORTS (dms_ports items), the last two NULL or "" for
   none: malloc()ed into *site_r. Returns 0, or -1 with *error_r naming
   the setting (as protected=, ports= or default_services=). */
int dms_args_site(const char *services, const char *protected,
		  const char *ports, char **site_r, const char **error_r);

/* Whether C may separate target and master: one printable ASCII
   character that is not a letter, digit, '@', '.', ':', '|' or '%'. */
bool dms_separator_valid(char c);

#endif
