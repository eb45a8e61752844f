#ifndef SETUP_PASSWORD_H
#define SETUP_PASSWORD_H

#include <stdbool.h>

/* Get a new password: from standard input (one line) when FROM_STDIN,
   else prompted twice on the terminal without echo ("Enter Password:",
   "Confirm Password:"). Returns a malloc()ed string (wipe and free it),
   or NULL with *error_r. */
char *setup_password_read(bool from_stdin, const char **error_r);

/* Ask for an existing password once on the terminal, without echo,
   showing TEXT. Returns it malloc()ed, or NULL with *error_r. */
char *setup_password_ask(const char *text, const char **error_r);

/* Wipe and free a password (NULL is fine). */
void setup_password_free(char *password);

/* Whether Dovecot can take PASSWORD: not empty, and none of the
   characters its internal protocols reserve (TAB, CR, LF, 0x01). */
bool setup_password_valid(const char *password, const char **error_r);

#endif
