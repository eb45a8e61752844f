#ifndef SETUP_TOTP_H
#define SETUP_TOTP_H

/* setup dovecot-master totp NAME: enrol master NAME for the second factor
   (dms-totp.h): a new secret in STORE_PATH.totp, dms_totp=yes on the
   master, and the otpauth:// URI and its QR code on standard output for
   the authenticator app. Returns the exit status. */
int setup_totp_enrol(const char *prog, const char *store_path,
		     const char *name);
/* The same for a master kept in LDAP (--ldap LDAP_PATH): the secret in
   dmsTotpSecret, dmsTotp TRUE, dmsTotpStep removed, in one modify. */
int setup_totp_enrol_ldap(const char *prog, const char *ldap_path,
			  const char *name);

#endif
