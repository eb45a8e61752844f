/* Splitting "user@example.com*admin" into target and master. */

#include "dms-login.h"

#include <string.h>

int dms_login_split(const char *login, char sep, struct dms_login *login_r,
		    const char **error_r)
{
	const char *p = strchr(login, sep);

	/* strchr() finds the terminating NUL when sep is '\0' */
	if (p == NULL || sep == '\0')
		return 0;
	if (p == login) {
		*error_r = "empty login user before the separator";
		return -1;
	}
	if (p[1] == '\0') {
		*error_r = "empty master user after the separator";
		return -1;
	}
	login_r->target = login;
	login_r->target_len = (size_t)(p - login);
	login_r->master = p + 1;
	return 1;
}
