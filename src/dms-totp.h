#ifndef DMS_TOTP_H
#define DMS_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "dms-path.h"
#include "dms-trusted-file.h"

/* A second factor for masters with dms_totp=yes: the password followed by
   a current RFC 6238 code (6 digits, 30 s steps, one step either way), so
   that the clients operators use need nothing new. The secrets are kept
   beside the file store in STORE.totp (NAME|BASE32SECRET lines, root:
   dovecot 0640, trusted as the store); each code is accepted once: the
   last step used per master is kept in a state file that every auth and
   auth-worker process on the host updates under a lock. Codes are
   computed and checked by liboath. */

#define DMS_TOTP_DIGITS 6
#define DMS_TOTP_STEP 30
/* steps accepted before and after the current one */
#define DMS_TOTP_WINDOW 1
/* 160-bit secrets, as RFC 4226 recommends */
#define DMS_TOTP_SECRET_BYTES 20
#define DMS_TOTP_STATE_DEFAULT "/var/lib/dovecot-dms/totp-state"

/* Split PASSWORD into the password and its trailing code: the code in
   CODE (7 bytes), the password's length in *len_r. False when PASSWORD
   does not end with 6 digits after at least one other byte. */
bool dms_totp_split(const char *password, size_t *len_r, char code[7]);

/* Check CODE against SECRET (base32) at NOW. Returns 1 with the step it
   belongs to in *step_r, 0 when it matches no step of the window, -1
   with *error_r when SECRET is not base32 or liboath fails. */
int dms_totp_check(const char *secret, const char *code, int64_t now,
		   int64_t *step_r, const char **error_r);

/* Whether CODE ("" when none was given) of SECRET is accepted at NOW
   for a login whose password was right (PASSWORD_OK): 1 with the step
   in *step_r, still to be recorded as used (once: the caller's store);
   0 when not; -1 with *error_r when SECRET cannot be used. The code is
   checked whatever PASSWORD_OK says: a wrong password and a wrong code
   take the same time. */
int dms_totp_accept(const char *secret, const char *code, int64_t now,
		    bool password_ok, int64_t *step_r, const char **error_r);

/* The code of SECRET for the step of NOW into CODE (7 bytes): setup's
   and the tests'. Returns 0 or -1. */
int dms_totp_generate(const char *secret, int64_t now, char code[7]);

/* A new random secret, base32 (malloc()ed), or NULL. */
char *dms_totp_secret_new(void);

/* NAME's secret in the secrets file's TEXT: a malloc()ed copy, or NULL
   when NAME has none. */
char *dms_totp_secret_find(const char *text, const char *name);

/* Use STEP for NAME: 1 when STEP is later than every step NAME used
   before (now recorded), 0 when it is not (a replay), -1 with *error_r
   (valid until the next call) when the state file cannot be used. Under
   an exclusive lock on the state file PATH (created 0660 with its
   directory's group), which must be on a trusted path. */
int dms_totp_use_step(const char *path, const struct dms_path_trust *trust,
		      const char *name, int64_t step, const char **error_r);

/* otpauth://totp/ISSUER:NAME?secret=...&issuer=ISSUER&... (malloc()ed) */
char *dms_totp_uri(const char *issuer, const char *name, const char *secret);

#endif
