/* libFuzzer target: the passdb args parser. */
#include "dms-args.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dms_args args;
	const char *error;
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if (dms_args_parse(s, &args, &error) == 0) {
		if (args.path == NULL || args.path[0] != '/' ||
		    args.username_format == NULL ||
		    !dms_separator_valid(args.separator) ||
		    args.scheme == DMS_SCHEME_INVALID)
			abort();
		dms_args_free(&args);
	} else if (error == NULL || error[0] == '\0') {
		abort();
	}
	free(s);
	return 0;
}
