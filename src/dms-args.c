/* Parsing the passdb args string. */

#include "dms-args.h"
#include "dms-policy.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char error_buf[256];

static int __attribute__((format(printf, 2, 3)))
args_error(const char **error_r, const char *fmt, ...)
{
	va_list va;

	va_start(va, fmt);
	vsnprintf(error_buf, sizeof(error_buf), fmt, va);
	va_end(va);
	*error_r = error_buf;
	return -1;
}

bool dms_separator_valid(char c)
{
	unsigned char u = (unsigned char)c;

	return u > ' ' && u < 0x7f && !isalnum(u) &&
		strchr("@.:|%", c) == NULL;
}

static int parse_bool(const char *value, bool *value_r)
{
	if (strcmp(value, "yes") == 0 || value[0] == '\0')
		*value_r = true;
	else if (strcmp(value, "no") == 0)
		*value_r = false;
	else
		return -1;
	return 0;
}

static int parse_setting(struct dms_args *a, const char *key,
			 const char *value, const char **error_r)
{
	if (strcmp(key, "separator") == 0) {
		if (strlen(value) != 1 || !dms_separator_valid(value[0])) {
			return args_error(error_r, "Invalid separator=%s: must "
				"be one punctuation character other than "
				"@ . : | %%", value);
		}
		a->separator = value[0];
	} else if (strcmp(key, "scheme") == 0) {
		a->scheme = dms_scheme_parse(value, strlen(value));
		if (a->scheme == DMS_SCHEME_INVALID) {
			return args_error(error_r, "Unknown scheme=%s (known: "
				"SHA512-CRYPT SHA256-CRYPT BLF-CRYPT "
				"MD5-CRYPT CRYPT)", value);
		}
	} else if (strcmp(key, "username_format") == 0) {
		if (value[0] == '\0')
			return args_error(error_r, "Empty username_format");
		free(a->username_format);
		a->username_format = strdup(value);
	} else if (strcmp(key, "blocking") == 0) {
		if (parse_bool(value, &a->blocking) < 0) {
			return args_error(error_r, "Invalid blocking=%s: "
					  "use yes or no", value);
		}
	} else if (strcmp(key, "store") == 0) {
		if (strcmp(value, "file") == 0)
			a->ldap = false;
		else if (strcmp(value, "ldap") == 0)
			a->ldap = true;
		else {
			return args_error(error_r, "Invalid store=%s: use file "
					  "or ldap", value);
		}
	} else if (strcmp(key, "default_services") == 0) {
		struct dms_policy_list list;
		const char *error;
		char *copy = strdup(value);

		if (copy == NULL)
			return args_error(error_r, "Out of memory");
		if (dms_policy_parse_services(copy, &list, &error) < 0) {
			free(copy);
			return args_error(error_r, "Invalid default_services=%s:"
					  " %s", value, error);
		}
		free(copy);
		free(a->default_services);
		if ((a->default_services = strdup(value)) == NULL)
			return args_error(error_r, "Out of memory");
	} else if (strcmp(key, "protected") == 0 ||
		   strcmp(key, "ports") == 0) {
		char **dest = strcmp(key, "protected") == 0 ?
			&a->protected : &a->ports;

		free(*dest);
		if ((*dest = strdup(value)) == NULL)
			return args_error(error_r, "Out of memory");
	} else if (strcmp(key, "totp_state") == 0) {
		if (value[0] != '/') {
			return args_error(error_r, "Invalid totp_state=%s: "
					  "needs an absolute path", value);
		}
		free(a->totp_state);
		if ((a->totp_state = strdup(value)) == NULL)
			return args_error(error_r, "Out of memory");
	} else if (strcmp(key, "audit_file") == 0) {
		if (value[0] != '/') {
			return args_error(error_r, "Invalid audit_file=%s: "
					  "needs an absolute path", value);
		}
		free(a->audit_file);
		if ((a->audit_file = strdup(value)) == NULL)
			return args_error(error_r, "Out of memory");
	} else {
		return args_error(error_r, "Unknown parameter: %s", key);
	}
	return 0;
}

int dms_args_parse(const char *args, struct dms_args *args_r,
		   const char **error_r)
{
	struct dms_args a = {
		.separator = DMS_ARGS_DEFAULT_SEPARATOR,
		.scheme = DMS_DEFAULT_SCHEME,
	};
	char token[1024];

	while (*args == ' ' || *args == '\t')
		args++;
	while (*args != '\0' && *args != '/') {
		size_t len = strcspn(args, " \t");
		char *value;

		if (len >= sizeof(token)) {
			dms_args_free(&a);
			return args_error(error_r, "Parameter too long");
		}
		memcpy(token, args, len);
		token[len] = '\0';
		args += len;
		while (*args == ' ' || *args == '\t')
			args++;

		value = strchr(token, '=');
		if (value != NULL)
			*value++ = '\0';
		if (parse_setting(&a, token, value == NULL ? "" : value,
				  error_r) < 0) {
			dms_args_free(&a);
			return -1;
		}
	}
	if (*args == '\0') {
		dms_args_free(&a);
		return args_error(error_r, "Missing the store's absolute "
				  "path in args (e.g. %s)",
				  DMS_DEFAULT_MASTER_STORE);
	}
	a.path = strdup(args);
	/* trailing white space is not part of the path */
	for (size_t n = strlen(a.path); n > 0 &&
	     (a.path[n-1] == ' ' || a.path[n-1] == '\t'); n--)
		a.path[n-1] = '\0';
	if (a.username_format == NULL)
		a.username_format = strdup(DMS_ARGS_DEFAULT_USERNAME_FORMAT);
	if (a.default_services == NULL)
		a.default_services = strdup(DMS_POLICY_DEFAULT_SERVICES);
	if (a.path == NULL || a.username_format == NULL ||
	    a.default_services == NULL) {
		dms_args_free(&a);
		return args_error(error_r, "Out of memory");
	}
	if (dms_args_site(a.default_services, a.protected, a.ports, &a.site,
			  error_r) < 0) {
		dms_args_free(&a);
		return -1;
	}
	*args_r = a;
	return 0;
}

int dms_args_site(const char *services, const char *protected,
		  const char *ports, char **site_r, const char **error_r)
{
	struct dms_policy_site site;
	char ebuf[200];
	const char *error;
	int ret = -1;

	if (protected == NULL)
		protected = "";
	if (ports == NULL)
		ports = "";
	size_t len = strlen(services) + strlen(protected) + strlen(ports) + 64;
	char *text = malloc(len), *out = malloc(len);

	if (text == NULL || out == NULL) {
		args_error(error_r, "Out of memory");
		goto out;
	}
	snprintf(text, len, "dms_services=%s%s%s%s%s", services,
		 protected[0] == '\0' ? "" : " dms_deny=", protected,
		 ports[0] == '\0' ? "" : " dms_ports=", ports);
	if (dms_policy_site_parse(text, &site, ebuf, sizeof(ebuf),
				  &error) < 0) {
		/* the site's dms_deny is the protected setting */
		if (strncmp(error, "dms_deny: ", 10) == 0)
			args_error(error_r, "Invalid protected=%s: %s",
				   protected, error + 10);
		else if (strncmp(error, "dms_ports: ", 11) == 0)
			args_error(error_r, "Invalid ports=%s: %s", ports,
				   error + 11);
		else
			args_error(error_r, "Invalid default_services=%s: %s",
				   services, error);
		goto out;
	}
	/* canonical, for the session service to parse again */
	dms_policy_site_format(&site, out, len);
	*site_r = out;
	out = NULL;
	ret = 0;
out:
	free(text);
	free(out);
	return ret;
}

void dms_args_free(struct dms_args *args)
{
	free(args->username_format);
	free(args->path);
	free(args->default_services);
	free(args->audit_file);
	free(args->totp_state);
	args->totp_state = NULL;
	free(args->protected);
	free(args->ports);
	free(args->site);
	args->protected = args->ports = args->site = NULL;
	args->username_format = NULL;
	args->path = NULL;
	args->default_services = NULL;
	args->audit_file = NULL;
}
