/* Validating and normalising account names for the setup CLI. */

#include "setup-names.h"

#include <string.h>

bool setup_name_normalize(const char *name, char separator, bool need_at,
			  char *out, size_t out_size, bool *lowered_r,
			  const char **error_r)
{
	size_t len = strlen(name);
	const char *at;

	*lowered_r = false;
	if (len == 0) {
		*error_r = "the name is empty";
		return false;
	}
	if (len > SETUP_NAME_MAX || len >= out_size) {
		*error_r = "the name is longer than 255 bytes";
		return false;
	}
	if (name[0] == '#') {
		*error_r = "the name starts with '#' (a comment in the store)";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c == 0x7f) {
			*error_r = "the name contains white space or a "
				"control character";
			return false;
		}
		if (c == ':' || c == '|') {
			*error_r = "the name contains ':' or '|', the store's "
				"field separators";
			return false;
		}
		if (c == (unsigned char)separator) {
			*error_r = "the name contains the master user "
				"separator '*'";
			return false;
		}
		if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
			*lowered_r = true;
		}
		out[i] = (char)c;
	}
	out[len] = '\0';

	if (need_at) {
		at = strchr(out, '@');
		if (at == NULL || at == out || at[1] == '\0' ||
		    strchr(at + 1, '@') != NULL) {
			*error_r = "not an e-mail address (local@domain)";
			return false;
		}
	}
	return true;
}
