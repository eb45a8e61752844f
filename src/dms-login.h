#ifndef DMS_LOGIN_H
#define DMS_LOGIN_H

#include <stddef.h>

/* The parts of "target<SEP>master". Both point into the login name given
   to dms_login_split(); target is not NUL-terminated at target_len. */
struct dms_login {
	const char *target;
	size_t target_len;
	const char *master;
};

/* Split LOGIN at the FIRST occurrence of SEP, exactly as Dovecot's
   auth_request_set_username() does for auth_master_user_separator.
   Returns 1 and fills *login_r when split, 0 when LOGIN has no SEP,
   -1 with *error_r when either part is empty. */
int dms_login_split(const char *login, char sep, struct dms_login *login_r,
		    const char **error_r);

#endif
