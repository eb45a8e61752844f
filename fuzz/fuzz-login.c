/* libFuzzer target: login-name splitting. */
#include "dms-login.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dms_login login;
	const char *error;
	char *s;
	int ret;

	if (size == 0)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	/* the first byte picks the separator */
	ret = dms_login_split(s, (char)data[0], &login, &error);
	if (ret > 0) {
		/* both parts non-empty, split at the first separator */
		if (login.target_len == 0 || login.master[0] == '\0' ||
		    memchr(s, data[0], login.target_len) != NULL ||
		    login.master != s + login.target_len + 1)
			abort();
	} else if (ret < 0 && error == NULL) {
		abort();
	}
	free(s);
	return 0;
}
