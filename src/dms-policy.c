/* Per-master policy: parsing the dms_ options of a store line, checking a
   login against them, and writing them back in canonical form. */

#include "dms-policy.h"
#include "dms-pattern.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PREFIX "dms_"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int parse_yes_no(const char *value, bool *value_r)
{
	if (strcmp(value, "yes") == 0)
		*value_r = true;
	else if (strcmp(value, "no") == 0)
		*value_r = false;
	else
		return -1;
	return 0;
}

/* Split TEXT at ',' in place into LIST, checking each item. */
static int parse_list(char *text, struct dms_policy_list *list_r,
		      const char *(*check)(const char *item, size_t len),
		      const char **error_r)
{
	char *p = text, *comma;
	unsigned int count = 0;

	for (;;) {
		const char *error;

		comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if ((error = check(p, len)) != NULL) {
			*error_r = error;
			return -1;
		}
		if (++count > DMS_POLICY_LIST_MAX) {
			*error_r = "more than 64 items in a list";
			return -1;
		}
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma + 1;
	}
	list_r->items = text;
	list_r->count = count;
	return 0;
}

static const char *service_check(const char *item, size_t len)
{
	if (len == 1 && item[0] == '*')
		return NULL;
	if (len == 0)
		return "empty service name";
	if (len > DMS_SERVICE_MAX)
		return "service name longer than 32 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)item[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return "service names are lower-case letters, digits, "
				"'-' and '_', or '*' for all";
	}
	return NULL;
}

int dms_policy_parse_services(char *text, struct dms_policy_list *list_r,
			      const char **error_r)
{
	return parse_list(text, list_r, service_check, error_r);
}

static const char *pattern_check(const char *item, size_t len)
{
	return dms_pattern_check(item, len);
}

/* A dms_ports item: PORT, ADDRESS, ADDRESS:PORT or [IPv6]:PORT. */
struct where {
	unsigned char addr[16];
	/* 0: any address; AF_INET or AF_INET6 */
	int family;
	/* 0: any port */
	unsigned int port;
};

static bool parse_port(const char *text, size_t len, unsigned int *port_r)
{
	unsigned int port = 0;

	if (len == 0 || len > 5 || text[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		port = port * 10 + (unsigned int)(text[i] - '0');
	}
	*port_r = port;
	return port <= 65535;
}

static bool parse_ip(const char *text, size_t len, struct where *w)
{
	char buf[64];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, w->addr) == 1) {
		w->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, w->addr) == 1) {
		w->family = AF_INET6;
		return true;
	}
	return false;
}

static bool parse_where(const char *item, size_t len, struct where *w)
{
	const char *colon = memchr(item, ':', len);

	memset(w, 0, sizeof(*w));
	if (len > 0 && item[0] == '[') {
		const char *end = memchr(item, ']', len);

		if (end == NULL || end + 1 == item + len) {
			/* "[::1]": an address alone */
			return end != NULL && parse_ip(item + 1,
				(size_t)(end - item - 1), w) &&
				w->family == AF_INET6;
		}
		return end[1] == ':' &&
			parse_ip(item + 1, (size_t)(end - item - 1), w) &&
			w->family == AF_INET6 &&
			parse_port(end + 2, (size_t)(item + len - end - 2),
				   &w->port);
	}
	if (colon == NULL) {
		/* all digits: a port; else an IPv4 address */
		if (parse_port(item, len, &w->port))
			return true;
		return parse_ip(item, len, w);
	}
	if (memchr(colon + 1, ':', (size_t)(item + len - colon - 1)) != NULL)
		return parse_ip(item, len, w);	/* a bare IPv6 address */
	return parse_ip(item, (size_t)(colon - item), w) &&
		w->family == AF_INET &&
		parse_port(colon + 1, (size_t)(item + len - colon - 1),
			   &w->port);
}

static const char *where_check(const char *item, size_t len)
{
	struct where w;

	if (!parse_where(item, len, &w))
		return "not a port, an IP address or ADDRESS:PORT "
			"([ADDRESS]:PORT for IPv6)";
	return NULL;
}

bool dms_policy_port_match(const char *where, const char *local_ip,
			   unsigned int local_port)
{
	struct where w, local;

	if (!parse_where(where, strlen(where), &w))
		return false;
	if (w.port != 0 && w.port != local_port)
		return false;
	if (w.family == 0)
		return true;
	if (local_ip == NULL || !parse_ip(local_ip, strlen(local_ip), &local))
		return false;
	return local.family == w.family &&
		memcmp(local.addr, w.addr,
		       w.family == AF_INET ? 4 : 16) == 0;
}

static int policy_error(char *buf, size_t size, const char **error_r,
			const char *key, const char *message)
{
	snprintf(buf, size, "%s: %s", key, message);
	*error_r = buf;
	return -1;
}

static int parse_option(struct dms_policy *p, char *key, char *value,
			unsigned int *seen, char *ebuf, size_t esize,
			const char **error_r)
{
	static const char *const keys[] = {
		"dms_allow", "dms_services", "dms_read_only",
		"dms_expires", "dms_disabled", "dms_record",
		"dms_notify_owner", "dms_deny", "dms_ports",
		"dms_require_grant", "dms_grant_approval", "dms_totp",
	};
	const char *error;
	unsigned int i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i]) == 0)
			break;
	}
	if (i == sizeof(keys) / sizeof(keys[0])) {
		return policy_error(ebuf, esize, error_r, key,
				    "unknown option (known: dms_allow, "
				    "dms_services, dms_read_only, dms_expires, "
				    "dms_disabled, dms_record, "
				    "dms_notify_owner, dms_deny, dms_ports, "
				    "dms_require_grant, dms_grant_approval, "
				    "dms_totp)");
	}
	if ((*seen & (1U << i)) != 0)
		return policy_error(ebuf, esize, error_r, key, "given twice");
	*seen |= 1U << i;
	if (value == NULL)
		return policy_error(ebuf, esize, error_r, key, "needs =VALUE");

	switch (i) {
	case 0:
		if (parse_list(value, &p->allow, pattern_check, &error) < 0)
			return policy_error(ebuf, esize, error_r, key, error);
		break;
	case 1:
		if (parse_list(value, &p->services, service_check, &error) < 0)
			return policy_error(ebuf, esize, error_r, key, error);
		break;
	case 2:
		if (parse_yes_no(value, &p->read_only) < 0)
			return policy_error(ebuf, esize, error_r, key,
					    "not yes or no");
		break;
	case 3:
		if (dms_time_parse(value, &p->expires) < 0) {
			return policy_error(ebuf, esize, error_r, key,
					    "not a UTC time (YYYY-MM-DD or "
					    "YYYY-MM-DDTHH:MM:SSZ)");
		}
		p->has_expires = true;
		break;
	case 4:
		if (parse_yes_no(value, &p->disabled) < 0)
			return policy_error(ebuf, esize, error_r, key,
					    "not yes or no");
		break;
	case 5:
		if (strcmp(value, "summary") == 0)
			p->record = DMS_POLICY_RECORD_SUMMARY;
		else if (strcmp(value, "messages") == 0)
			p->record = DMS_POLICY_RECORD_MESSAGES;
		else
			return policy_error(ebuf, esize, error_r, key,
					    "not summary or messages");
		break;
	case 6: {
		bool yes;

		if (parse_yes_no(value, &yes) < 0)
			return policy_error(ebuf, esize, error_r, key,
					    "not yes or no");
		p->notify_owner = yes ? DMS_POLICY_NOTIFY_YES :
			DMS_POLICY_NOTIFY_NO;
		break;
	}
	case 7:
		if (parse_list(value, &p->deny, pattern_check, &error) < 0)
			return policy_error(ebuf, esize, error_r, key, error);
		break;
	case 8:
		if (parse_list(value, &p->ports, where_check, &error) < 0)
			return policy_error(ebuf, esize, error_r, key, error);
		break;
	case 9:
		if (parse_yes_no(value, &p->require_grant) < 0)
			return policy_error(ebuf, esize, error_r, key,
					    "not yes or no");
		break;
	case 10:
		if (parse_yes_no(value, &p->grant_approval) < 0)
			return policy_error(ebuf, esize, error_r, key,
					    "not yes or no");
		break;
	case 11:
		if (parse_yes_no(value, &p->totp) < 0)
			return policy_error(ebuf, esize, error_r, key,
					    "not yes or no");
		break;
	}
	return 0;
}

const char *dms_policy_record_name(enum dms_policy_record record)
{
	switch (record) {
	case DMS_POLICY_RECORD_SUMMARY:
		return "summary";
	case DMS_POLICY_RECORD_MESSAGES:
		return "messages";
	case DMS_POLICY_RECORD_DEFAULT:
		break;
	}
	return NULL;
}

const char *dms_policy_notify_name(enum dms_policy_notify notify)
{
	switch (notify) {
	case DMS_POLICY_NOTIFY_YES:
		return "yes";
	case DMS_POLICY_NOTIFY_NO:
		return "no";
	case DMS_POLICY_NOTIFY_DEFAULT:
		break;
	}
	return NULL;
}

int dms_policy_parse(char *text, bool only_ours, struct dms_policy *policy_r,
		     char *error_buf, size_t error_size,
		     const char **error_r)
{
	unsigned int seen = 0;
	char *p = text;

	memset(policy_r, 0, sizeof(*policy_r));
	while (*p != '\0') {
		char *token, *eq;

		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		token = p;
		while (*p != '\0' && !is_blank(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		if (strncmp(token, PREFIX, strlen(PREFIX)) != 0) {
			if (only_ours) {
				snprintf(error_buf, error_size, "'%.64s': not "
					 "a dms_ option (a '|' in the password?)",
					 token);
				*error_r = error_buf;
				return -1;
			}
			/* another passdb's extra field (allow_nets=...) */
			continue;
		}
		eq = strchr(token, '=');
		if (eq != NULL)
			*eq++ = '\0';
		if (parse_option(policy_r, token, eq, &seen, error_buf,
				 error_size, error_r) < 0)
			return -1;
	}
	return 0;
}

bool dms_policy_is_set(const struct dms_policy *p)
{
	return p->allow.count > 0 || p->services.count > 0 ||
		p->has_expires || p->read_only || p->disabled ||
		p->record != DMS_POLICY_RECORD_DEFAULT ||
		p->notify_owner != DMS_POLICY_NOTIFY_DEFAULT ||
		p->deny.count > 0 || p->ports.count > 0 ||
		p->require_grant || p->grant_approval || p->totp;
}

int dms_policy_site_parse(char *text, struct dms_policy_site *site_r,
			  char *error_buf, size_t error_size,
			  const char **error_r)
{
	/* DMS_POLICY_DEFAULT_SERVICES as a parsed list */
	static const char default_services[] = "imap\0pop3";
	struct dms_policy p;

	memset(site_r, 0, sizeof(*site_r));
	if (dms_policy_parse(text, true, &p, error_buf, error_size,
			     error_r) < 0)
		return -1;
	if (p.allow.count > 0 || p.has_expires || p.read_only ||
	    p.disabled || p.record != DMS_POLICY_RECORD_DEFAULT ||
	    p.notify_owner != DMS_POLICY_NOTIFY_DEFAULT ||
	    p.require_grant || p.grant_approval || p.totp) {
		*error_r = "the site sets dms_services, dms_deny and "
			"dms_ports only";
		return -1;
	}
	site_r->services = p.services;
	site_r->protected = p.deny;
	site_r->ports = p.ports;
	if (site_r->services.count == 0) {
		site_r->services.items = default_services;
		site_r->services.count = 2;
	}
	return 0;
}

static bool service_listed(const struct dms_policy_list *list,
			   const char *service)
{
	const char *item = list->items;

	for (unsigned int i = 0; i < list->count; i++) {
		if (strcmp(item, "*") == 0)
			return true;
		size_t j;
		for (j = 0; item[j] != '\0'; j++) {
			if ((unsigned char)item[j] !=
			    lower((unsigned char)service[j]))
				break;
		}
		if (item[j] == '\0' && service[j] == '\0')
			return true;
		item += strlen(item) + 1;
	}
	return false;
}

static bool pattern_listed(const struct dms_policy_list *list,
			   const char *target, const char **detail_r)
{
	const char *item = list->items;

	for (unsigned int i = 0; i < list->count; i++) {
		if (dms_pattern_match(item, target)) {
			*detail_r = item;
			return true;
		}
		item += strlen(item) + 1;
	}
	return false;
}

static bool port_listed(const struct dms_policy_list *list,
			const struct dms_policy_login *login)
{
	const char *item = list->items;

	for (unsigned int i = 0; i < list->count; i++) {
		if (dms_policy_port_match(item, login->local_ip,
					  login->local_port))
			return true;
		item += strlen(item) + 1;
	}
	return false;
}

bool dms_policy_check(const struct dms_policy *policy,
		      const struct dms_policy_site *site,
		      const struct dms_policy_login *login,
		      enum dms_policy_rule *rule_r, const char **detail_r)
{
	const struct dms_policy_list *services =
		policy->services.count > 0 ? &policy->services :
		&site->services;
	const struct dms_policy_list *ports =
		policy->ports.count > 0 ? &policy->ports : &site->ports;
	const char *service = login->service, *target = login->target;

	*detail_r = NULL;
	if (policy->disabled) {
		*rule_r = DMS_POLICY_RULE_DISABLED;
		return false;
	}
	if (policy->has_expires && login->now >= policy->expires) {
		*rule_r = DMS_POLICY_RULE_EXPIRES;
		return false;
	}
	if (service == NULL || !service_listed(services, service)) {
		*rule_r = DMS_POLICY_RULE_SERVICES;
		return false;
	}
	if (policy->read_only && strcasecmp(service, "imap") != 0 &&
	    strcasecmp(service, "pop3") != 0) {
		*rule_r = DMS_POLICY_RULE_READ_ONLY;
		return false;
	}
	if (ports->count > 0 && !port_listed(ports, login)) {
		*rule_r = DMS_POLICY_RULE_PORTS;
		return false;
	}
	/* deny wins over allow; an unknown target is never allowed, so
	   nothing needs denying yet */
	if (target != NULL &&
	    pattern_listed(&site->protected, target, detail_r)) {
		*rule_r = DMS_POLICY_RULE_PROTECTED;
		return false;
	}
	if (target != NULL && pattern_listed(&policy->deny, target, detail_r)) {
		*rule_r = DMS_POLICY_RULE_DENY;
		return false;
	}
	*rule_r = DMS_POLICY_RULE_ALLOW;
	if (policy->allow.count > 0 &&
	    (target == NULL ||
	     !pattern_listed(&policy->allow, target, detail_r)))
		return false;
	if (policy->require_grant) {
		/* only a grant opens it (dms_grant_check()): a caller that
		   does not look at grants refuses */
		*rule_r = DMS_POLICY_RULE_GRANT;
		*detail_r = NULL;
		return false;
	}
	return true;
}

const char *dms_policy_rule_name(enum dms_policy_rule rule)
{
	switch (rule) {
	case DMS_POLICY_RULE_DISABLED:
		return "disabled";
	case DMS_POLICY_RULE_EXPIRES:
		return "expires";
	case DMS_POLICY_RULE_SERVICES:
		return "services";
	case DMS_POLICY_RULE_READ_ONLY:
		return "read_only";
	case DMS_POLICY_RULE_PORTS:
		return "ports";
	case DMS_POLICY_RULE_PROTECTED:
		return "protected";
	case DMS_POLICY_RULE_DENY:
		return "deny";
	case DMS_POLICY_RULE_GRANT:
		return "grant";
	case DMS_POLICY_RULE_ALLOW:
		return "allow";
	}
	return "unknown";
}

struct out {
	char *buf;
	size_t size, len;
};

static void out_add(struct out *o, const char *s, size_t len)
{
	if (o->len < o->size) {
		size_t n = o->size - o->len - 1 < len ?
			o->size - o->len - 1 : len;
		memcpy(o->buf + o->len, s, n);
		o->buf[o->len + n] = '\0';
	}
	o->len += len;
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_list(struct out *o, const char *key,
		     const struct dms_policy_list *list)
{
	const char *item = list->items;

	if (list->count == 0)
		return;
	out_str(o, o->len > 0 ? " " : "");
	out_str(o, key);
	for (unsigned int i = 0; i < list->count; i++) {
		out_str(o, i == 0 ? "=" : ",");
		out_str(o, item);
		item += strlen(item) + 1;
	}
}

size_t dms_policy_format(const struct dms_policy *policy, char *buf,
			 size_t size)
{
	struct out o = { buf, size, 0 };
	char tbuf[DMS_TIME_BUF];

	if (size > 0)
		buf[0] = '\0';
	out_list(&o, "dms_allow", &policy->allow);
	out_list(&o, "dms_services", &policy->services);
	if (policy->read_only)
		out_str(&o, o.len > 0 ? " dms_read_only=yes" :
			"dms_read_only=yes");
	if (policy->has_expires) {
		dms_time_format(policy->expires, tbuf);
		out_str(&o, o.len > 0 ? " dms_expires=" : "dms_expires=");
		out_str(&o, tbuf);
	}
	if (policy->disabled)
		out_str(&o, o.len > 0 ? " dms_disabled=yes" :
			"dms_disabled=yes");
	if (policy->record != DMS_POLICY_RECORD_DEFAULT) {
		out_str(&o, o.len > 0 ? " dms_record=" : "dms_record=");
		out_str(&o, dms_policy_record_name(policy->record));
	}
	if (policy->notify_owner != DMS_POLICY_NOTIFY_DEFAULT) {
		out_str(&o, o.len > 0 ? " dms_notify_owner=" :
			"dms_notify_owner=");
		out_str(&o, dms_policy_notify_name(policy->notify_owner));
	}
	out_list(&o, "dms_deny", &policy->deny);
	out_list(&o, "dms_ports", &policy->ports);
	if (policy->require_grant)
		out_str(&o, o.len > 0 ? " dms_require_grant=yes" :
			"dms_require_grant=yes");
	if (policy->grant_approval)
		out_str(&o, o.len > 0 ? " dms_grant_approval=yes" :
			"dms_grant_approval=yes");
	if (policy->totp)
		out_str(&o, o.len > 0 ? " dms_totp=yes" : "dms_totp=yes");
	return o.len;
}

size_t dms_policy_site_format(const struct dms_policy_site *site, char *buf,
			      size_t size)
{
	struct out o = { buf, size, 0 };

	if (size > 0)
		buf[0] = '\0';
	out_list(&o, "dms_services", &site->services);
	out_list(&o, "dms_deny", &site->protected);
	out_list(&o, "dms_ports", &site->ports);
	return o.len;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
   days_from_civil): no timegm(), no time zone, no locale. */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned int yoe = (unsigned int)(y - era * 400);
	unsigned int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y_r, unsigned int *m_r,
			    unsigned int *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned int doe = (unsigned int)(z - era * 146097);
	unsigned int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned int mp = (5 * doy + 2) / 153;

	*d_r = doy - (153 * mp + 2) / 5 + 1;
	*m_r = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (int64_t)yoe + era * 400 + (*m_r <= 2);
}

static bool digits(const char *p, unsigned int n, unsigned int *value_r)
{
	unsigned int v = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	*value_r = v;
	return true;
}

int dms_time_parse(const char *text, int64_t *time_r)
{
	static const unsigned char mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	unsigned int y, m, d, hh = 0, mm = 0, ss = 0;
	size_t len = strlen(text);

	if ((len != 10 && len != 20) ||
	    !digits(text, 4, &y) || text[4] != '-' ||
	    !digits(text + 5, 2, &m) || text[7] != '-' ||
	    !digits(text + 8, 2, &d))
		return -1;
	if (len == 20 &&
	    (text[10] != 'T' || !digits(text + 11, 2, &hh) ||
	     text[13] != ':' || !digits(text + 14, 2, &mm) ||
	     text[16] != ':' || !digits(text + 17, 2, &ss) ||
	     text[19] != 'Z'))
		return -1;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    hh > 23 || mm > 59 || ss > 59)
		return -1;
	if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*time_r = days_from_civil(y, m, d) * 86400 +
		(int64_t)hh * 3600 + mm * 60 + ss;
	return 0;
}

void dms_time_format(int64_t time, char *buf)
{
	int64_t days = time >= 0 ? time / 86400 : (time - 86399) / 86400;
	int64_t secs = time - days * 86400, y;
	unsigned int m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(buf, DMS_TIME_BUF, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
		 (long long)y, m, d, (unsigned int)(secs / 3600),
		 (unsigned int)(secs / 60 % 60), (unsigned int)(secs % 60));
}
