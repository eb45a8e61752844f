#ifndef DMS_PATTERN_H
#define DMS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* Shell-style patterns over login names, as in a master's dms_allow=:
   '*' matches any run of characters (none included), '?' exactly one,
   everything else itself, ASCII letters without regard to case (Dovecot
   lower-cases names by default; domains are case-insensitive anyway).
   There are no character classes or escapes: '[' and '\' are literal.
   Matching takes O(len(pattern) * len(name)) steps at worst, whatever
   the pattern, so a hostile pattern cannot stall the auth process. */

/* The longest pattern accepted (the longest name is as long). */
#define DMS_PATTERN_MAX 255

bool dms_pattern_match(const char *pattern, const char *name);

/* Whether PATTERN may be stored: 1..DMS_PATTERN_MAX printable ASCII or
   UTF-8 bytes without white space, ',' (the list separator) or control
   characters. Returns NULL, or why not (a static string). */
const char *dms_pattern_check(const char *pattern, size_t len);

#endif
