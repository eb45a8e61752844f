/* The dms_master_check passdb: the last passdb of the chain. After a
   master login the ordinary passdbs look the target up, and one may
   rename it (user=, an alias canonicalized by SQL or LDAP). Mail
   sessions meet the dms_master userdb next, which checks the policy for
   the renamed user; a passdb-only authentication (Postfix's SMTP AUTH
   through Dovecot's auth socket) meets no userdb. So the policy is
   checked here again, for the user the passdbs settled on, and a refusal
   here reaches the client as every other refusal does (IMAP
   [AUTHORIZATIONFAILED], POP3 -ERR, SMTP 535), not as the internal error
   Dovecot's login processes make of a userdb failure.

       passdb { driver = dms_master_check }       (2.4: passdb dms_master_check)

   Every other request passes through with the result the passdbs before
   it made. Start-up requires it last, after ordinary passdbs that go on
   to it (dms_master_check_chain()). */

#include "auth-common.h"
#include "passdb.h"

#include "auth-dms-master.h"
#include "dovecot-compat.h"

/* The chain's result so far, for requests this passdb does not decide:
   its rules end the chain as the passdbs before it left it. */
static enum passdb_result dms_check_pass(struct auth_request *request)
{
	if (request->passdb_success)
		return PASSDB_RESULT_OK;
	return request->passdbs_seen_user_unknown ?
		PASSDB_RESULT_USER_UNKNOWN : PASSDB_RESULT_PASSWORD_MISMATCH;
}

static enum passdb_result dms_check(struct auth_request *request)
{
	enum dms_master_stage_result stage;
	const char *reason;
	struct dms_master_session_policy policy;

	if (!request->passdb_success) {
		/* not a login yet (a wrong password, or a master's target no
		   passdb found): nothing to authorize */
		return dms_check_pass(request);
	}
	stage = dms_master_stage(request, "check", &policy, &reason);
	switch (stage) {
	case DMS_MASTER_STAGE_NONE:
	case DMS_MASTER_STAGE_OK:
		return PASSDB_RESULT_OK;
	case DMS_MASTER_STAGE_REFUSED:
		/* the master login is done (master_user is set), so
		   Dovecot adds code=authz_fail and the login process its
		   own [AUTHORIZATIONFAILED]: the reason goes as it is */
		auth_request_set_field(request, "reason", reason, NULL);
		/* USER_DISABLED ends the chain whatever its rules say */
		return PASSDB_RESULT_USER_DISABLED;
	case DMS_MASTER_STAGE_TEMPFAIL:
		break;
	}
	return PASSDB_RESULT_INTERNAL_FAILURE;
}

static void
dms_check_verify_plain(struct auth_request *request,
		       const char *password ATTR_UNUSED,
		       verify_plain_callback_t *callback)
{
	enum passdb_result result;

	T_BEGIN {
		result = dms_check(request);
	} T_END;
	callback(result, request);
}

static void
dms_check_lookup_credentials(struct auth_request *request,
			     lookup_credentials_callback_t *callback)
{
	enum passdb_result result;

	T_BEGIN {
		result = dms_check(request);
	} T_END;
	if (result != PASSDB_RESULT_OK) {
		dms_credentials_failed(callback, result, request);
		return;
	}
	/* no credentials of its own: Dovecot uses those of the passdb
	   that found the user (its "delayed credentials") */
	dms_credentials_empty(callback, request);
}

struct passdb_module_interface passdb_dms_master_check = {
	.name = "dms_master_check",

	.verify_plain = dms_check_verify_plain,
	.lookup_credentials = dms_check_lookup_credentials,
};
