/* Policy options of the setup CLI. */

#include "setup-options.h"
#include "dms-policy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char error_buf[512];

static const char *opt_error(const char *name, const char *message)
{
	snprintf(error_buf, sizeof(error_buf), "%s %s", name, message);
	return error_buf;
}

/* --allow may be given more than once: the patterns add up */
static int add_value(char **dest, const char *value, const char **error_r)
{
	size_t old_len = *dest == NULL ? 0 : strlen(*dest);
	char *n = realloc(*dest, old_len + strlen(value) + 2);

	if (n == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (old_len > 0)
		n[old_len++] = ',';
	strcpy(n + old_len, value);
	*dest = n;
	return 0;
}

static int set_value(char **dest, const char *value, const char **error_r)
{
	free(*dest);
	*dest = NULL;
	return add_value(dest, value, error_r);
}

int setup_options_parse(int argc, char **argv, struct setup_options *o,
			int *argc_r, const char **error_r)
{
	int out = 0;
	bool options_end = false;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value = NULL, *eq;
		char name[32];
		size_t name_len;

		if (options_end || strncmp(arg, "--", 2) != 0) {
			argv[out++] = argv[i];
			continue;
		}
		if (arg[2] == '\0') {
			options_end = true;
			continue;
		}
		if (strcmp(arg, "--password-stdin") == 0) {
			o->password_stdin = true;
			continue;
		}
		eq = strchr(arg, '=');
		name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		if (name_len >= sizeof(name)) {
			argv[out++] = argv[i];
			continue;
		}
		memcpy(name, arg, name_len);
		name[name_len] = '\0';

		bool takes_value = strcmp(name, "--allow") == 0 ||
			strcmp(name, "--deny") == 0 ||
			strcmp(name, "--ports") == 0 ||
			strcmp(name, "--services") == 0 ||
			strcmp(name, "--expires") == 0 ||
			strcmp(name, "--record") == 0;
		if (takes_value) {
			if (eq != NULL)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else {
				*error_r = opt_error(name, "needs a value");
				return -1;
			}
		} else if (eq != NULL) {
			*error_r = opt_error(name, "takes no value");
			return -1;
		}

		int ret = 0;
		if (strcmp(name, "--allow") == 0) {
			ret = add_value(&o->allow, value, error_r);
			o->allow_flag = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-allow") == 0) {
			o->allow_flag = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--deny") == 0) {
			ret = add_value(&o->deny, value, error_r);
			o->deny_flag = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-deny") == 0) {
			o->deny_flag = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--ports") == 0) {
			ret = set_value(&o->ports, value, error_r);
			o->ports_flag = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-ports") == 0) {
			o->ports_flag = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--require-grant") == 0) {
			o->require_grant = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-require-grant") == 0) {
			o->require_grant = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--grant-approval") == 0) {
			o->grant_approval = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-grant-approval") == 0) {
			o->grant_approval = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--totp") == 0) {
			o->totp = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-totp") == 0) {
			o->totp = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--services") == 0) {
			ret = set_value(&o->services, value, error_r);
			o->services_flag = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-services") == 0) {
			o->services_flag = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--expires") == 0) {
			ret = set_value(&o->expires, value, error_r);
			o->expires_flag = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-expires") == 0) {
			o->expires_flag = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--read-only") == 0) {
			o->read_only = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-read-only") == 0) {
			o->read_only = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--disable") == 0) {
			o->disabled = SETUP_FLAG_SET;
		} else if (strcmp(name, "--enable") == 0) {
			o->disabled = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--record") == 0) {
			ret = set_value(&o->record, value, error_r);
			o->record_flag = SETUP_FLAG_SET;
		} else if (strcmp(name, "--no-record") == 0) {
			o->record_flag = SETUP_FLAG_CLEAR;
		} else if (strcmp(name, "--notify-owner") == 0) {
			o->notify_owner = SETUP_NOTIFY_YES;
		} else if (strcmp(name, "--no-notify-owner") == 0) {
			o->notify_owner = SETUP_NOTIFY_NO;
		} else if (strcmp(name, "--default-notify-owner") == 0) {
			o->notify_owner = SETUP_NOTIFY_DEFAULT;
		} else {
			*error_r = opt_error("unknown option", name);
			return -1;
		}
		if (ret < 0)
			return -1;
		o->any = true;
	}
	*argc_r = out;
	return 0;
}

bool setup_arg_is_policy_option(const char *arg)
{
	const char *p = arg + 4;

	if (strncasecmp(arg, "dms_", 4) != 0)
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       *p == '_')
		p++;
	return p > arg + 4 && *p == '=';
}

int setup_globals_take(int argc, char **argv, struct setup_globals *g,
		       int *argc_r, const char **error_r)
{
	static const char *const names[] = {
		"--masters-file", "--users-file", "--scheme", "--ldap",
		"--base-dir",
	};
	const char **dests[] = { &g->masters_file, &g->users_file, &g->scheme,
				 &g->ldap, &g->base_dir };
	int out = 0, i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *arg = argv[i];
		size_t k, len = 0;

		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			len = strlen(names[k]);
			if (strncmp(arg, names[k], len) == 0 &&
			    (arg[len] == '\0' || arg[len] == '='))
				break;
		}
		if (k == sizeof(names) / sizeof(names[0])) {
			argv[out++] = argv[i];
			continue;
		}
		if (arg[len] == '=') {
			*dests[k] = arg + len + 1;
		} else if (i + 1 < argc) {
			*dests[k] = argv[++i];
		} else {
			*error_r = opt_error(names[k], "needs a value");
			return -1;
		}
	}
	for (; i < argc; i++)
		argv[out++] = argv[i];
	*argc_r = out;
	return 0;
}

void setup_options_free(struct setup_options *o)
{
	free(o->allow);
	free(o->services);
	free(o->expires);
	free(o->record);
	free(o->deny);
	free(o->ports);
	o->allow = o->services = o->expires = o->record = NULL;
	o->deny = o->ports = NULL;
}

struct text {
	char *data;
	size_t len;
};

static int text_add(struct text *t, const char *s, size_t len)
{
	char *n = realloc(t->data, t->len + len + 2);

	if (n == NULL)
		return -1;
	t->data = n;
	if (t->len > 0)
		t->data[t->len++] = ' ';
	memcpy(t->data + t->len, s, len);
	t->len += len;
	t->data[t->len] = '\0';
	return 0;
}

static bool key_is(const char *token, size_t len, const char *key)
{
	size_t klen = strlen(key);

	return len >= klen && memcmp(token, key, klen) == 0 &&
		(len == klen || token[klen] == '=');
}

/* Whether the options change KEY's token (so the old one goes). */
static bool key_changed(const struct setup_options *o, const char *token,
			size_t len)
{
	return (o->allow_flag != SETUP_FLAG_UNCHANGED &&
		key_is(token, len, "dms_allow")) ||
		(o->services_flag != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_services")) ||
		(o->expires_flag != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_expires")) ||
		(o->read_only != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_read_only")) ||
		(o->disabled != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_disabled")) ||
		(o->record_flag != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_record")) ||
		(o->notify_owner != SETUP_NOTIFY_UNCHANGED &&
		 key_is(token, len, "dms_notify_owner")) ||
		(o->deny_flag != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_deny")) ||
		(o->ports_flag != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_ports")) ||
		(o->require_grant != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_require_grant")) ||
		(o->grant_approval != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_grant_approval")) ||
		(o->totp != SETUP_FLAG_UNCHANGED &&
		 key_is(token, len, "dms_totp"));
}

static int add_new(struct text *t, const char *key, const char *value)
{
	char buf[1024];
	int n;

	for (const char *c = value; *c != '\0'; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(error_buf, sizeof(error_buf), "%s: white "
				 "space or control character in '%s'", key,
				 value);
			return -1;
		}
	}
	n = snprintf(buf, sizeof(buf), "%s=%s", key, value);

	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(error_buf, sizeof(error_buf), "%s: value too long",
			 key);
		return -1;
	}
	return text_add(t, buf, (size_t)n);
}

char *setup_options_apply(const struct setup_options *o, const char *old,
			  size_t old_len, const char **error_r)
{
	struct text others = { NULL, 0 }, ours = { NULL, 0 };
	struct dms_policy policy;
	char *result = NULL, *services = NULL, tbuf[DMS_TIME_BUF];
	const char *p = old, *end = old == NULL ? NULL : old + old_len, *error;
	int ret = 0;

	error_buf[0] = '\0';
	*error_r = "out of memory";
	/* the old tokens: ours unless changed, and the others as they are */
	while (ret == 0 && old != NULL && p < end) {
		const char *token;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		token = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p == token)
			break;
		if (strncmp(token, "dms_", 4) != 0 || (size_t)(p - token) < 4)
			ret = text_add(&others, token, (size_t)(p - token));
		else if (!key_changed(o, token, (size_t)(p - token)))
			ret = text_add(&ours, token, (size_t)(p - token));
	}
	/* the new ones */
	if (ret == 0 && o->allow_flag == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_allow", o->allow);
	if (ret == 0 && o->services_flag == SETUP_FLAG_SET) {
		/* Dovecot's service names are lower case */
		if ((services = strdup(o->services)) == NULL)
			ret = -1;
		for (char *c = services; ret == 0 && *c != '\0'; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		}
		if (ret == 0)
			ret = add_new(&ours, "dms_services", services);
	}
	if (ret == 0 && o->read_only == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_read_only", "yes");
	if (ret == 0 && o->expires_flag == SETUP_FLAG_SET) {
		int64_t t;

		if (dms_time_parse(o->expires, &t) < 0) {
			snprintf(error_buf, sizeof(error_buf), "--expires %s: "
				 "not a UTC time (YYYY-MM-DD or "
				 "YYYY-MM-DDTHH:MM:SSZ)", o->expires);
			ret = -1;
		} else {
			dms_time_format(t, tbuf);
			ret = add_new(&ours, "dms_expires", tbuf);
		}
	}
	if (ret == 0 && o->disabled == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_disabled", "yes");
	if (ret == 0 && o->record_flag == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_record", o->record);
	if (ret == 0 && (o->notify_owner == SETUP_NOTIFY_YES ||
			 o->notify_owner == SETUP_NOTIFY_NO)) {
		ret = add_new(&ours, "dms_notify_owner",
			      o->notify_owner == SETUP_NOTIFY_YES ? "yes" :
			      "no");
	}
	if (ret == 0 && o->deny_flag == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_deny", o->deny);
	if (ret == 0 && o->ports_flag == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_ports", o->ports);
	if (ret == 0 && o->require_grant == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_require_grant", "yes");
	if (ret == 0 && o->grant_approval == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_grant_approval", "yes");
	if (ret == 0 && o->totp == SETUP_FLAG_SET)
		ret = add_new(&ours, "dms_totp", "yes");
	if (ret < 0) {
		if (error_buf[0] != '\0')
			*error_r = error_buf;
		goto out;
	}

	/* check them as the module will, and write them canonically (the
	   policy points into ours.data, parsed in place) */
	char none[1] = "";
	if (dms_policy_parse(ours.data == NULL ? none : ours.data, true,
			     &policy, error_buf, sizeof(error_buf),
			     &error) < 0) {
		*error_r = error;
		goto out;
	}
	size_t len = dms_policy_format(&policy, NULL, 0);
	char *canon = malloc(len + 1);
	if (canon != NULL) {
		dms_policy_format(&policy, canon, len + 1);
		result = malloc(others.len + len + 2);
		if (result != NULL) {
			snprintf(result, others.len + len + 2, "%s%s%s",
				 others.data == NULL ? "" : others.data,
				 others.len > 0 && len > 0 ? " " : "", canon);
		}
	}
	free(canon);
out:
	free(services);
	free(others.data);
	free(ours.data);
	return result;
}
