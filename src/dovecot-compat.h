#ifndef DOVECOT_COMPAT_H
#define DOVECOT_COMPAT_H

/* The few places where Dovecot 2.3's and 2.4's auth API differ, so that
   the request path stays one piece of code. configure decides by probing
   the installed headers (DMS_DOVECOT_24), not by version numbers:
   distributions backport. */

#include "auth-request.h"

#ifdef DMS_DOVECOT_24

/* 2.4 calls it the protocol */
#  define DMS_REQUEST_SERVICE(request) ((request)->fields.protocol)
#  define DMS_AUTH_SETTINGS(auth) ((auth)->protocol_set)
#  define dms_log_unknown_user(request) \
	auth_request_db_log_unknown_user(request)
#  define dms_log_password_mismatch(request) \
	auth_request_db_log_password_mismatch(request)
#  define dms_var_expand_table(request, username, count) \
	auth_request_get_var_expand_table_full(request, username, count)
/* 0 on success */
#  define DMS_EXPAND_OK(ret) ((ret) == 0)
/* the plain user name, in 2.4's syntax */
#  define DMS_USERNAME_FORMAT_USER "%{user}"

/* 2.4.3 gave preinit the passdb's parameters (its cache); the module has
   no cache key, so Dovecot never caches its answers either way */
#  ifdef DMS_HAVE_PASSDB_PARAMETERS
#    define DMS_PASSDB_PREINIT_PARAMS \
	const struct passdb_parameters *passdb_params ATTR_UNUSED,
#  else
#    define DMS_PASSDB_PREINIT_PARAMS
#  endif
/* 2.4.5 passes the scheme of the credentials to their callback */
#  ifdef DMS_HAVE_CREDENTIALS_SCHEME
#    define dms_credentials_failed(callback, result, request) \
	(callback)(result, NULL, 0, NULL, request)
#    define dms_credentials_empty(callback, request) \
	(callback)(PASSDB_RESULT_OK, (const unsigned char *)"", 0, NULL, \
		   request)
#  else
#    define dms_credentials_failed(callback, result, request) \
	(callback)(result, NULL, 0, request)
#    define dms_credentials_empty(callback, request) \
	(callback)(PASSDB_RESULT_OK, (const unsigned char *)"", 0, request)
#  endif
/* a passdb's name in messages, and its mechanisms filter */
#  define DMS_PASSDB_NAME(passdb) ((passdb)->name)
#  define DMS_USERDB_NAME(userdb) ((userdb)->name)
#  define DMS_PASSDB_MECHANISMS(passdb) ((passdb)->mechanisms_filter)

#else

#  define DMS_REQUEST_SERVICE(request) ((request)->fields.service)
#  define DMS_AUTH_SETTINGS(auth) ((auth)->set)
#  define dms_log_unknown_user(request) \
	auth_request_log_unknown_user(request, AUTH_SUBSYS_DB)
#  define dms_log_password_mismatch(request) \
	auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB)
#  define dms_var_expand_table(request, username, count) \
	auth_request_get_var_expand_table_full(request, username, NULL, count)
/* 1 on success, 0 for an unknown variable */
#  define DMS_EXPAND_OK(ret) ((ret) > 0)
#  define DMS_USERNAME_FORMAT_USER "%u"
#  define dms_credentials_failed(callback, result, request) \
	(callback)(result, NULL, 0, request)
#  define dms_credentials_empty(callback, request) \
	(callback)(PASSDB_RESULT_OK, (const unsigned char *)"", 0, request)
/* 2.3's blocks have no names: the driver's */
#  define DMS_PASSDB_NAME(passdb) ((passdb)->passdb->iface.name)
#  define DMS_USERDB_NAME(userdb) ((userdb)->userdb->iface->name)
#  define DMS_PASSDB_MECHANISMS(passdb) ((passdb)->mechanisms)

#endif

#endif
