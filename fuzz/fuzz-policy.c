/* libFuzzer target: the options parser, the pattern matcher (with the
   input split into pattern and name), the canonical form's round trip,
   the grants file's lines and the audit formatters. */
#include "dms-audit.h"
#include "dms-grants.h"
#include "dms-pattern.h"
#include "dms-policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dms_policy policy, again;
	const char *error, *detail;
	char ebuf[256], *s = malloc(size + 1), *copy, *nl;
	enum dms_policy_rule rule;
	struct dms_policy_site site = {
		.services = { "imap\0pop3", 2 },
		.protected = { "ceo@example.com", 1 },
		.ports = { "10143\0[::1]:993", 2 },
	};
	struct dms_policy_login login = {
		.target = "u@example.com", .service = "imap",
		.local_ip = "::1", .local_port = 993, .now = 1798761600,
	};

	memcpy(s, data, size);
	s[size] = '\0';
	copy = strdup(s);

	/* "PATTERN\nNAME": matching ends, whatever the input */
	if ((nl = strchr(copy, '\n')) != NULL) {
		*nl = '\0';
		(void)dms_pattern_match(copy, nl + 1);
		(void)dms_pattern_check(copy, strlen(copy));
	}

	if (dms_policy_parse(s, size % 2 == 0, &policy, ebuf, sizeof(ebuf),
			     &error) == 0) {
		size_t len = dms_policy_format(&policy, NULL, 0);
		char *canon = malloc(len + 1), *canon2 = malloc(len + 1);

		dms_policy_format(&policy, canon, len + 1);
		strcpy(canon2, canon);
		/* what we write, we read back the same */
		if (dms_policy_parse(canon2, true, &again, ebuf, sizeof(ebuf),
				     &error) < 0)
			abort();
		char *canon3 = malloc(len + 1);
		if (dms_policy_format(&again, canon3, len + 1) != len ||
		    strcmp(canon, canon3) != 0)
			abort();
		(void)dms_policy_check(&policy, &site, &login, &rule,
				       &detail);
		free(canon);
		free(canon2);
		free(canon3);
	} else if (error == NULL || error[0] == '\0') {
		abort();
	}

	/* a grants file line: what parses, formats back the same */
	struct dms_grant grant;
	char *gline = strdup(s);
	if (dms_grant_parse(gline, &grant, &error) == 0) {
		char *back = dms_grant_format(&grant), *again_line;
		struct dms_grant again_grant;

		back[strlen(back) - 1] = '\0';
		again_line = strdup(back);
		if (dms_grant_parse(again_line, &again_grant, &error) < 0 ||
		    strcmp(again_grant.reason, grant.reason) != 0 ||
		    again_grant.until != grant.until)
			abort();
		free(again_line);
		free(back);
	}
	free(gline);

	struct dms_audit_record r = {
		.time_usec = (int64_t)size * 1000003, .master = copy,
		.target = copy, .service = "imap", .result = "ok",
		.rule = "allow",
	};
	char *text = dms_audit_text(&r), *json = dms_audit_json(&r);
	/* one line each, whatever the names hold */
	if (text == NULL || json == NULL || strchr(text, '\n') != NULL ||
	    strchr(json, '\n') != json + strlen(json) - 1)
		abort();
	free(text);
	free(json);
	free(copy);
	free(s);
	return 0;
}
