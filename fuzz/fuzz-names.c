/* libFuzzer target: the setup CLI's name validation. */
#include "setup-names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[SETUP_NAME_MAX + 1];
	const char *error;
	bool lowered;
	char *s;

	if (size == 0)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (setup_name_normalize(s, '*', (data[0] & 1) != 0, out, sizeof(out),
				 &lowered, &error)) {
		/* what passes never holds what the store or Dovecot reject */
		for (const char *p = out; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c <= ' ' || c == 0x7f || c == ':' || c == '|' ||
			    c == '*' || (c >= 'A' && c <= 'Z'))
				abort();
		}
		if (out[0] == '\0' || out[0] == '#' ||
		    strlen(out) != strlen(s))
			abort();
	}
	free(s);
	return 0;
}
