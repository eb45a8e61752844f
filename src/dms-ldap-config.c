/* The LDAP master store's settings file, and the escaping of the names
   put into filters and DNs. */

#include "dms-ldap-config.h"
#include "dms-json.h"
#include "dms-password.h"
#include "dms-path.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DMS_LDAP_CONFIG_FILE_MAX (64 * 1024)

const char *const dms_ldap_attr_keys[DMS_LDAP_ATTR_COUNT] = {
	"name", "password", "allow", "services", "read_only", "expires",
	"disabled", "deny", "ports", "totp", "require_grant",
	"grant_approval", "record", "notify_owner", "totp_secret", "totp_step",
	"grant",
};
/* the shipped schema (ldap/dms-master.schema) */
const char *const dms_ldap_attr_defaults[DMS_LDAP_ATTR_COUNT] = {
	"uid", "userPassword", "dmsAllow", "dmsServices", "dmsReadOnly",
	"dmsExpires", "dmsDisabled", "dmsDeny", "dmsPorts", "dmsTotp",
	"dmsRequireGrant", "dmsGrantApproval", "dmsRecord", "dmsNotifyOwner",
	"dmsTotpSecret", "dmsTotpStep", "dmsGrant",
};

void dms_ldap_error(char *error, size_t size, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(error, size, fmt, args);
	va_end(args);
}

/* C as \XX, as RFC 4515 and RFC 4514 both write escaped bytes */
static char *hex_escape(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '\\';
	*p++ = hex[c >> 4];
	*p++ = hex[c & 15];
	return p;
}

void dms_ldap_config_free(struct dms_ldap_config *config)
{
	free(config->uris);
	free(config->base);
	free(config->filter);
	free(config->bind_dn);
	free(config->bind_password_file);
	free(config->admin_bind_dn);
	free(config->admin_bind_password_file);
	free(config->tls_ca_file);
	free(config->object_classes);
	for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT; i++)
		free(config->attrs[i]);
	memset(config, 0, sizeof(*config));
}

static int parse_bool(const char *value, bool *bool_r)
{
	if (strcmp(value, "yes") == 0)
		*bool_r = true;
	else if (strcmp(value, "no") == 0)
		*bool_r = false;
	else
		return -1;
	return 0;
}

static int parse_uint(const char *value, unsigned int max,
		      unsigned int *num_r)
{
	char *end;
	unsigned long num;

	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	num = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || num > max)
		return -1;
	*num_r = (unsigned int)num;
	return 0;
}

/* An LDAP attribute description: a letter, then letters, digits and '-'
   (RFC 4512 descr); it goes into requests as it is. */
static bool attr_name_valid(const char *name)
{
	if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z')))
		return false;
	for (; *name != '\0'; name++) {
		if (!((*name >= 'a' && *name <= 'z') ||
		      (*name >= 'A' && *name <= 'Z') ||
		      (*name >= '0' && *name <= '9') || *name == '-'))
			return false;
	}
	return true;
}

static bool path_key(const char *key)
{
	return strcmp(key, "bind_password_file") == 0 ||
		strcmp(key, "admin_bind_password_file") == 0 ||
		strcmp(key, "tls_ca_file") == 0;
}

static char **string_key(struct dms_ldap_config *config, const char *key)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
#define KEY(name) { #name, offsetof(struct dms_ldap_config, name) }
		KEY(uris), KEY(base), KEY(filter), KEY(bind_dn),
		KEY(bind_password_file), KEY(admin_bind_dn),
		KEY(admin_bind_password_file), KEY(tls_ca_file),
		KEY(object_classes),
#undef KEY
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].key, key) == 0)
			return (char **)((char *)config + keys[i].offset);
	}
	if (strncmp(key, "attr_", 5) == 0) {
		for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT; i++) {
			if (strcmp(key + 5, dms_ldap_attr_keys[i]) == 0)
				return &config->attrs[i];
		}
	}
	return NULL;
}

/* One "key = value" line; KEY and VALUE are trimmed and NUL-terminated.
   SEEN is a bit per key index handled here, against repeats. */
static int parse_setting(struct dms_ldap_config *config, const char *key,
			 const char *value, unsigned int *seen,
			 const char **error_r)
{
	static const char *const others[] = {
		"scope", "starttls", "tls_verify", "timeout", "cache_ttl",
	};
	char **str;
	unsigned int bit;
	const char *err;

	if ((str = string_key(config, key)) != NULL) {
		if (*str != NULL) {
			*error_r = "set twice";
			return -1;
		}
		if (*value == '\0') {
			*error_r = "empty value";
			return -1;
		}
		if (path_key(key) && *value != '/') {
			*error_r = "not an absolute path";
			return -1;
		}
		if (strncmp(key, "attr_", 5) == 0 && !attr_name_valid(value)) {
			*error_r = "not an LDAP attribute name";
			return -1;
		}
		if ((*str = strdup(value)) == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		return 0;
	}
	for (bit = 0; bit < sizeof(others) / sizeof(others[0]); bit++) {
		if (strcmp(others[bit], key) == 0)
			break;
	}
	if (bit == sizeof(others) / sizeof(others[0])) {
		*error_r = "unknown setting";
		return -1;
	}
	if ((*seen & (1U << bit)) != 0) {
		*error_r = "set twice";
		return -1;
	}
	*seen |= 1U << bit;

	err = NULL;
	switch (bit) {
	case 0:
		if (strcmp(value, "subtree") == 0)
			config->scope = DMS_LDAP_SCOPE_SUBTREE;
		else if (strcmp(value, "onelevel") == 0)
			config->scope = DMS_LDAP_SCOPE_ONELEVEL;
		else if (strcmp(value, "base") == 0)
			config->scope = DMS_LDAP_SCOPE_BASE;
		else
			err = "expected subtree, onelevel or base";
		break;
	case 1:
		if (parse_bool(value, &config->starttls) < 0)
			err = "expected yes or no";
		break;
	case 2:
		if (parse_bool(value, &config->tls_verify) < 0)
			err = "expected yes or no";
		break;
	case 3:
		if (parse_uint(value, DMS_LDAP_TIMEOUT_MAX,
			       &config->timeout_secs) < 0 ||
		    config->timeout_secs == 0)
			err = "expected seconds, 1 to 300";
		break;
	case 4:
		if (parse_uint(value, DMS_LDAP_CACHE_TTL_MAX,
			       &config->cache_ttl_secs) < 0)
			err = "expected seconds, 0 to 86400";
		break;
	}
	if (err != NULL) {
		*error_r = err;
		return -1;
	}
	return 0;
}

static char *trim(char *start, char *end)
{
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\r'))
		end--;
	*end = '\0';
	return start;
}

/* Whether every %-sequence in FILTER is %u or %%, and %u is there. */
static int filter_check(const char *filter, const char **error_r)
{
	bool has_name = false;

	for (const char *p = filter; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'u')
			has_name = true;
		else if (p[1] != '%') {
			*error_r = "only %u (the master's name) and %% may "
				"be used";
			return -1;
		}
		p++;
	}
	if (!has_name) {
		*error_r = "no %u: every master would match";
		return -1;
	}
	if (filter[0] != '(') {
		*error_r = "not an LDAP filter in parentheses";
		return -1;
	}
	return 0;
}

static int config_finish(struct dms_ldap_config *config,
			 const char **error_r)
{
	if (config->uris == NULL) {
		*error_r = "uris is not set";
		return -1;
	}
	for (const char *p = config->uris; *p != '\0'; ) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (strncmp(p, "ldap://", 7) != 0 &&
		    strncmp(p, "ldaps://", 8) != 0 &&
		    strncmp(p, "ldapi://", 8) != 0) {
			*error_r = "uris: only ldap://, ldaps:// and ldapi:// "
				"URIs";
			return -1;
		}
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	if (config->base == NULL) {
		*error_r = "base is not set";
		return -1;
	}
	if (config->filter == NULL &&
	    (config->filter = strdup(DMS_LDAP_DEFAULT_FILTER)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (filter_check(config->filter, error_r) < 0)
		return -1;
	if ((config->bind_dn == NULL) != (config->bind_password_file == NULL)) {
		*error_r = "bind_dn and bind_password_file go together";
		return -1;
	}
	if ((config->admin_bind_dn == NULL) !=
	    (config->admin_bind_password_file == NULL)) {
		*error_r = "admin_bind_dn and admin_bind_password_file go "
			"together";
		return -1;
	}
	if (config->object_classes == NULL &&
	    (config->object_classes =
	     strdup(DMS_LDAP_DEFAULT_OBJECT_CLASSES)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (unsigned int i = 0; i < DMS_LDAP_ATTR_COUNT; i++) {
		if (config->attrs[i] == NULL &&
		    (config->attrs[i] = strdup(dms_ldap_attr_defaults[i])) == NULL) {
			*error_r = "out of memory";
			return -1;
		}
	}
	return 0;
}

int dms_ldap_config_parse(const char *text, size_t len,
			  struct dms_ldap_config *config_r,
			  char *error, size_t error_size)
{
	char *buf, *line, *next, *eq, *key, *value;
	unsigned int lineno = 0, seen = 0;
	const char *err = NULL;
	int ret = 0;

	memset(config_r, 0, sizeof(*config_r));
	config_r->tls_verify = true;
	config_r->timeout_secs = DMS_LDAP_DEFAULT_TIMEOUT_SECS;
	config_r->cache_ttl_secs = DMS_LDAP_DEFAULT_CACHE_TTL_SECS;
	if (memchr(text, '\0', len) != NULL) {
		dms_ldap_error(error, error_size, "NUL byte in the file");
		return -1;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (line = buf; line != NULL && ret == 0; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		key = trim(line, line + strlen(line));
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			err = "expected key = value";
		} else {
			value = trim(eq + 1, eq + strlen(eq));
			key = trim(key, eq);
			if (parse_setting(config_r, key, value, &seen,
					  &err) == 0)
				continue;
			dms_ldap_error(error, error_size, "line %u: %s: %s",
				  lineno, key, err);
			ret = -1;
			break;
		}
		dms_ldap_error(error, error_size, "line %u: %s", lineno, err);
		ret = -1;
	}
	free(buf);
	if (ret == 0 && config_finish(config_r, &err) < 0) {
		dms_ldap_error(error, error_size, "%s", err);
		ret = -1;
	}
	if (ret < 0)
		dms_ldap_config_free(config_r);
	return ret;
}

/* Read at most MAX bytes of a regular file into a malloc()ed buffer, on
   a trusted path (dms-path.h): the settings file decides who is a master
   and where root sends a bind password, the password file what it sends. */
static int read_trusted_file(const char *path,
			     const struct dms_path_trust *trust, size_t max,
			     char **buf_r, size_t *len_r, struct stat *st_r,
			     char *error, size_t error_size)
{
	char resolved[PATH_MAX], *buf;
	ssize_t ret;
	size_t len = 0;
	int fd;

	if (dms_path_check(path, trust, false, resolved, sizeof(resolved),
			   error, error_size) < 0)
		return -1;
	fd = open(resolved, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK |
		  O_NOFOLLOW);
	if (fd < 0) {
		dms_ldap_error(error, error_size, "open(%s) failed: %s", path,
			  strerror(errno));
		return -1;
	}
	if (fstat(fd, st_r) < 0 || !S_ISREG(st_r->st_mode) ||
	    (size_t)st_r->st_size > max) {
		dms_ldap_error(error, error_size, "%s: not a regular file of at "
			  "most %zu bytes", path, max);
		close(fd);
		return -1;
	}
	/* what was opened, not only what was checked */
	if (dms_path_stat_check(resolved, st_r, trust, error,
				error_size) < 0) {
		close(fd);
		return -1;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		dms_ldap_error(error, error_size, "out of memory");
		close(fd);
		return -1;
	}
	while (len < max && (ret = read(fd, buf + len, max - len)) != 0) {
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			dms_ldap_error(error, error_size, "read(%s) failed: %s",
				  path, strerror(errno));
			dms_wipe(buf, max + 1);
			free(buf);
			close(fd);
			return -1;
		}
		len += (size_t)ret;
	}
	close(fd);
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
}

int dms_ldap_config_read(const char *path, const struct dms_path_trust *trust,
			 struct dms_ldap_config *config_r,
			 char *error, size_t error_size)
{
	char *buf, sub[256];
	size_t len;
	struct stat st;
	int ret;

	memset(config_r, 0, sizeof(*config_r));
	if (read_trusted_file(path, trust, DMS_LDAP_CONFIG_FILE_MAX, &buf,
			      &len, &st, error, error_size) < 0)
		return -1;
	ret = dms_ldap_config_parse(buf, len, config_r, sub, sizeof(sub));
	free(buf);
	if (ret < 0)
		dms_ldap_error(error, error_size, "%s: %s", path, sub);
	else
		config_r->trust = *trust;
	return ret;
}

int dms_ldap_password_read(const char *path,
			   const struct dms_path_trust *trust,
			   char **password_r, char *error, size_t error_size)
{
	char *buf;
	size_t len;
	struct stat st;

	if (read_trusted_file(path, trust, 4096, &buf, &len, &st,
			      error, error_size) < 0)
		return -1;
	if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		dms_ldap_error(error, error_size, "%s may be read by everyone: "
			  "chmod o= it", path);
		dms_wipe(buf, len);
		free(buf);
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		dms_ldap_error(error, error_size, "%s: no password in its first "
			  "line", path);
		free(buf);
		return -1;
	}
	*password_r = buf;
	return 0;
}

/* Debian's libldap: where ldapi:/// (no path) connects */
#define DMS_LDAPI_DEFAULT_SOCKET "/var/run/slapd/ldapi"
/* Debian's system accounts (adduser --system): the LDAP server's own
   (openldap) may own its socket's directory */
#define DMS_SYSTEM_UID_MAX 999


int dms_ldap_uri_socket(const char *uri, size_t len, char *path,
			size_t size)
{
	size_t i = 8, n = 0;

	if (len < 8 || strncmp(uri, "ldapi://", 8) != 0)
		return 0;
	if (i == len || uri[i] == '/' || uri[i] == '?') {
		if (strlen(DMS_LDAPI_DEFAULT_SOCKET) >= size)
			return -1;
		strcpy(path, DMS_LDAPI_DEFAULT_SOCKET);
		return 1;
	}
	for (; i < len && uri[i] != '/' && uri[i] != '?'; i++) {
		char c = uri[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = dms_hex_digit(uri[i + 1])) < 0 ||
			    (lo = dms_hex_digit(uri[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || n + 1 >= size)
			return -1;
		path[n++] = c;
	}
	path[n] = '\0';
	return path[0] == '/' ? 1 : -1;
}

/* The way to an ldapi:// socket: whoever may replace the socket answers
   as the directory. Its directory may be the LDAP server's own (Debian's
   /run/slapd belongs to openldap), the rest as any trusted path. */
static int socket_check(const char *socket_path,
			const struct dms_path_trust *trust,
			char *error, size_t error_size)
{
	struct dms_path_trust dir_trust = *trust;
	char dir[PATH_MAX], resolved[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", socket_path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != 0 &&
	    st.st_uid <= DMS_SYSTEM_UID_MAX) {
		dir_trust.uid = st.st_uid;
		dir_trust.gid = st.st_gid;
	}
	if (dms_path_check(dir, &dir_trust, false, resolved, sizeof(resolved),
			   error, error_size) < 0)
		return -1;
	if (lstat(socket_path, &st) < 0) {
		/* not there yet (the server is down): connecting fails */
		return 0;
	}
	if (!S_ISSOCK(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != dir_trust.uid &&
	     st.st_uid != trust->uid)) {
		dms_ldap_error(error, error_size, "untrusted path: %s is not a "
			       "socket of root or of its directory's owner "
			       "(uid %u, mode %04o)", socket_path,
			       (unsigned int)st.st_uid,
			       (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int dms_ldap_config_paths_check(const struct dms_ldap_config *config,
				char *error, size_t error_size)
{
	char resolved[PATH_MAX], socket_path[PATH_MAX];
	const char *p = config->uris;

	if (config->tls_ca_file != NULL &&
	    dms_path_check(config->tls_ca_file, &config->trust, false,
			   resolved, sizeof(resolved), error, error_size) < 0)
		return -1;
	while (*p != '\0') {
		size_t len;
		int ret;

		while (*p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, " \t");
		ret = dms_ldap_uri_socket(p, len, socket_path,
					  sizeof(socket_path));
		if (ret < 0) {
			dms_ldap_error(error, error_size, "uris: %.*s: not an "
				       "ldapi:// URI with an absolute socket "
				       "path", (int)len, p);
			return -1;
		}
		if (ret > 0 && socket_check(socket_path, &config->trust,
					    error, error_size) < 0)
			return -1;
		p += len;
	}
	return 0;
}

const char *dms_ldap_config_cleartext_uri(const struct dms_ldap_config *config,
					  char *buf, size_t size)
{
	const char *p = config->uris;

	if (config->starttls)
		return NULL;
	while (*p != '\0') {
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, " \t");
		if (len > 7 && strncmp(p, "ldap://", 7) == 0) {
			snprintf(buf, size, "%.*s", (int)len, p);
			return buf;
		}
		p += len;
	}
	return NULL;
}

char *dms_ldap_filter_escape(const char *value, size_t len)
{
	char *out, *p;

	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	p = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '*' || c == '(' || c == ')' || c == '\\' ||
		    c < 0x20 || c >= 0x7f) {
			p = hex_escape(p, c);
		} else {
			*p++ = (char)c;
		}
	}
	*p = '\0';
	return out;
}

char *dms_ldap_filter_expand(const char *filter, const char *name, bool raw,
			     const char **error_r)
{
	char *escaped, *out, *p;
	size_t escaped_len, count = 0;

	for (const char *f = filter; *f != '\0'; f++) {
		if (*f == '%' && f[1] == 'u') {
			count++;
			f++;
		} else if (*f == '%' && f[1] == '%') {
			f++;
		} else if (*f == '%') {
			*error_r = "filter: only %u and %% may be used";
			return NULL;
		}
	}
	escaped = raw ? strdup(name) : dms_ldap_filter_escape(name, strlen(name));
	if (escaped == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	escaped_len = strlen(escaped);
	if ((out = malloc(strlen(filter) + count * escaped_len + 1)) == NULL) {
		free(escaped);
		*error_r = "out of memory";
		return NULL;
	}
	p = out;
	for (const char *f = filter; *f != '\0'; f++) {
		if (*f == '%' && f[1] == 'u') {
			memcpy(p, escaped, escaped_len);
			p += escaped_len;
			f++;
		} else if (*f == '%') {
			*p++ = '%';
			f++;
		} else {
			*p++ = *f;
		}
	}
	*p = '\0';
	free(escaped);
	return out;
}

char *dms_ldap_dn_escape(const char *value)
{
	size_t len = strlen(value);
	char *out, *p;

	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	p = out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		bool edge = (i == 0 && (c == ' ' || c == '#')) ||
			(i == len - 1 && c == ' ');

		if (c < 0x20 || c == 0x7f) {
			p = hex_escape(p, c);
		} else if (edge || strchr(",+\"\\<>;=", c) != NULL) {
			*p++ = '\\';
			*p++ = (char)c;
		} else {
			*p++ = (char)c;
		}
	}
	*p = '\0';
	return out;
}
