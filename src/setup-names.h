#ifndef SETUP_NAMES_H
#define SETUP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define SETUP_NAME_MAX 255

/* Check and normalise an account name into OUT (OUT_SIZE bytes):
   ASCII upper case is lower-cased (*lowered_r tells), and names that the
   store or Dovecot could not take are refused: empty, longer than
   SETUP_NAME_MAX, white space or control characters, ':', '|', the
   master separator SEPARATOR, or a leading '#'. With NEED_AT the name must
   be an address: local@domain, both parts non-empty, one '@'.
   Returns true, or false with *error_r. */
bool setup_name_normalize(const char *name, char separator, bool need_at,
			  char *out, size_t out_size, bool *lowered_r,
			  const char **error_r);

#endif
