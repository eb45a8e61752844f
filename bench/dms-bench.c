/* Load generator and micro-benchmarks for docs/benchmarks.md.

   dms-bench load SOCKET USER PASSWORD CONNS SECONDS MAXREQ
       Speaks Dovecot's auth-client protocol (VERSION 1.2, AUTH PLAIN) to
       SOCKET over CONNS connections, one request in flight on each, until
       SECONDS pass or MAXREQ requests are answered. USER "@FILE" (and
       PASSWORD "-"): the logins of FILE's "USER<TAB>PASSWORD" lines, each
       once, in order (one-time passwords).
   dms-bench access N
       The module's own work for a login that needs a grant (a lookup
       among N grants) and for one with a TOTP code (the code's check, and
       the replay state of N masters updated under its lock).
   dms-bench crypt HASH PASSWORD SECONDS
       Raw crypt_rn() verifications on one core: the ceiling.
   dms-bench store N
       Load time, memory and lookup cost of a store of N masters.
   dms-bench reload N
       Cost of picking up a change to a store of N masters.
   dms-bench policy N
       Cost of the policy check of one login (two dms_allow patterns) and
       of its audit record: formatted for the log, as JSON, and appended
       to a file, averaged over N logins.

   Each prints one line of key=value pairs. */

#include "dms-audit.h"
#include "dms-grants.h"
#include "dms-policy.h"
#include "dms-totp.h"
#include "dms-store.h"

#include <crypt.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = tab[in[i] >> 2];
		out[o++] = tab[((in[i] & 3) << 4) | (in[i+1] >> 4)];
		out[o++] = tab[((in[i+1] & 15) << 2) | (in[i+2] >> 6)];
		out[o++] = tab[in[i+2] & 63];
	}
	if (i < len) {
		out[o++] = tab[in[i] >> 2];
		if (i + 1 < len) {
			out[o++] = tab[((in[i] & 3) << 4) | (in[i+1] >> 4)];
			out[o++] = tab[(in[i+1] & 15) << 2];
		} else {
			out[o++] = tab[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
}

struct conn {
	int fd;
	char buf[8192];
	size_t len;
	int ready;
	unsigned int id;
	double sent;
};

static int cmp_double(const void *a, const void *b)
{
	double x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));

	return x < y ? -1 : x > y;
}

/* "@FILE" logins, each used once */
static char **list_resp;
static unsigned int list_count, list_next;

static int read_list(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned char plain[600];
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		size_t ulen, plen;

		if (tab == NULL)
			continue;
		if (nl != NULL)
			*nl = '\0';
		*tab = '\0';
		ulen = strlen(line);
		plen = strlen(tab + 1);
		if (ulen + plen + 2 > sizeof(plain))
			continue;
		plain[0] = '\0';
		memcpy(plain + 1, line, ulen + 1);
		memcpy(plain + 2 + ulen, tab + 1, plen);
		list_resp = realloc(list_resp, (list_count + 1) *
				    sizeof(*list_resp));
		list_resp[list_count] = malloc(900);
		base64(plain, ulen + plen + 2, list_resp[list_count]);
		list_count++;
	}
	fclose(f);
	return list_count > 0 ? 0 : -1;
}

static int send_auth(struct conn *c, const char *resp)
{
	char line[1024];
	int n;

	if (list_resp != NULL)
		resp = list_resp[list_next++];
	c->id++;
	n = snprintf(line, sizeof(line), "AUTH\t%u\tPLAIN\tservice=imap\t"
		     "secured\tno-penalty\tresp=%s\n", c->id, resp);
	c->sent = now();
	return write(c->fd, line, (size_t)n) == n ? 0 : -1;
}

static int cmd_load(int argc, char **argv)
{
	const char *path, *user, *pass;
	unsigned int conns, maxreq, done = 0, failed = 0;
	double seconds, start, end, *lat;
	unsigned char plain[512];
	char resp[800];
	struct conn *c;
	struct pollfd *pfd;
	size_t ulen, plen;

	if (argc != 8)
		return 2;
	path = argv[2]; user = argv[3]; pass = argv[4];
	conns = (unsigned int)atoi(argv[5]);
	seconds = atof(argv[6]);
	maxreq = (unsigned int)atoi(argv[7]);
	ulen = strlen(user); plen = strlen(pass);
	if (conns == 0 || conns > 256 || ulen + plen + 2 > sizeof(plain))
		return 2;
	if (user[0] == '@') {
		if (read_list(user + 1) < 0)
			return 2;
		if (maxreq > list_count)
			maxreq = list_count;
		if (conns > maxreq)
			conns = maxreq;
	}
	plain[0] = '\0';
	memcpy(plain + 1, user, ulen + 1);
	memcpy(plain + 2 + ulen, pass, plen);
	base64(plain, ulen + plen + 2, resp);

	c = calloc(conns, sizeof(*c));
	pfd = calloc(conns, sizeof(*pfd));
	lat = malloc(sizeof(double) * (maxreq + conns));
	for (unsigned int i = 0; i < conns; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char hello[64];
		int n;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		c[i].fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c[i].fd, (const void *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "connect(%s): %s\n", path,
				strerror(errno));
			return 1;
		}
		n = snprintf(hello, sizeof(hello), "VERSION\t1\t2\nCPID\t%u\n",
			     (unsigned int)getpid() * 1000 + i);
		if (write(c[i].fd, hello, (size_t)n) != n)
			return 1;
		pfd[i].fd = c[i].fd;
		pfd[i].events = POLLIN;
	}
	start = now();
	end = start + seconds;
	while (now() < end && done < maxreq) {
		int ret = poll(pfd, conns, 100);

		if (ret < 0 && errno != EINTR)
			return 1;
		for (unsigned int i = 0; i < conns && ret > 0; i++) {
			struct conn *k = &c[i];
			ssize_t r;
			char *nl;

			if ((pfd[i].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			r = read(k->fd, k->buf + k->len,
				 sizeof(k->buf) - k->len - 1);
			if (r <= 0) {
				fprintf(stderr, "auth server closed the "
					"connection\n");
				return 1;
			}
			k->len += (size_t)r;
			k->buf[k->len] = '\0';
			while ((nl = strchr(k->buf, '\n')) != NULL) {
				*nl = '\0';
				if (!k->ready && strcmp(k->buf, "DONE") == 0) {
					k->ready = 1;
					if (send_auth(k, resp) < 0)
						return 1;
				} else if (k->ready &&
					   (strncmp(k->buf, "OK\t", 3) == 0 ||
					    strncmp(k->buf, "FAIL\t", 5) == 0)) {
					if (k->buf[0] == 'F')
						failed++;
					lat[done++] = now() - k->sent;
					if (done + conns <= maxreq &&
					    send_auth(k, resp) < 0)
						return 1;
				}
				k->len -= (size_t)(nl + 1 - k->buf);
				memmove(k->buf, nl + 1, k->len + 1);
			}
		}
	}
	end = now();
	if (done == 0) {
		fprintf(stderr, "no answers\n");
		return 1;
	}
	qsort(lat, done, sizeof(double), cmp_double);
	printf("requests=%u failed=%u secs=%.3f rate=%.1f p50_ms=%.3f "
	       "p99_ms=%.3f\n", done, failed, end - start,
	       done / (end - start), lat[done / 2] * 1e3,
	       lat[(size_t)(done * 0.99)] * 1e3);
	for (unsigned int i = 0; i < conns; i++)
		close(c[i].fd);
	free(c); free(pfd); free(lat);
	return 0;
}

static int cmd_crypt(int argc, char **argv)
{
	static struct crypt_data cd;
	unsigned int n = 0;
	double start, end;

	if (argc != 5)
		return 2;
	start = now();
	end = start + atof(argv[4]);
	do {
		memset(&cd, 0, sizeof(cd));
		if (crypt_rn(argv[3], argv[2], &cd, sizeof(cd)) == NULL)
			return 1;
		n++;
	} while (now() < end);
	printf("verifications=%u secs=%.3f rate=%.1f\n", n, now() - start,
	       n / (now() - start));
	return 0;
}

static char *make_store(unsigned int n, char *path)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/dms-bench-store-XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	for (unsigned int i = 0; i < n; i++) {
		fprintf(f, "master%u|{SHA512-CRYPT}$6$abcdefghijklmnop$"
			"%086u\n", i, i);
	}
	fclose(f);
	return path;
}

static int cmd_store(int argc, char **argv)
{
	unsigned int n, lookups = 1000000;
	char path[64], name[32];
	struct dms_store *store;
	const struct dms_store_entry *e;
	const char *error;
	struct mallinfo2 before, after;
	double t0, t1, t2;

	if (argc != 3)
		return 2;
	n = (unsigned int)atoi(argv[2]);
	make_store(n, path);
	before = mallinfo2();
	store = dms_store_new(path, DMS_DEFAULT_SCHEME);
	t0 = now();
	if (dms_store_refresh(store, NULL, NULL, &error) != 1)
		return 1;
	t1 = now();
	after = mallinfo2();
	/* the login path: stat() to see the file is unchanged, then look up */
	for (unsigned int i = 0; i < lookups; i++) {
		snprintf(name, sizeof(name), "master%u", (i * 7919u) % n);
		if (i % 1000 == 0 &&
		    dms_store_refresh(store, NULL, NULL, &error) != 0)
			return 1;
		if (dms_store_lookup(store, name, &e) != 1)
			return 1;
	}
	t2 = now();
	printf("masters=%u load_ms=%.3f memory_kib=%.0f lookup_ns=%.1f\n", n,
	       (t1 - t0) * 1e3,
	       (double)(after.uordblks + after.hblkhd - before.uordblks -
			before.hblkhd) / 1024, (t2 - t1) / lookups * 1e9);
	dms_store_free(&store);
	unlink(path);
	return 0;
}

static int cmd_reload(int argc, char **argv)
{
	unsigned int n, rounds = 50;
	char path[64];
	struct dms_store *store;
	const char *error;
	double t = 0, s0 = 0;

	if (argc != 3)
		return 2;
	n = (unsigned int)atoi(argv[2]);
	make_store(n, path);
	store = dms_store_new(path, DMS_DEFAULT_SCHEME);
	if (dms_store_refresh(store, NULL, NULL, &error) != 1)
		return 1;
	for (unsigned int i = 0; i < rounds; i++) {
		char tmp[80];
		double t0;

		/* a change as the CLI makes it: a new file renamed over */
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		{
			char cmd[200];
			snprintf(cmd, sizeof(cmd), "cp %s %s", path, tmp);
			if (system(cmd) != 0)
				return 1;
		}
		rename(tmp, path);
		t0 = now();
		if (dms_store_refresh(store, NULL, NULL, &error) != 1)
			return 1;
		t += now() - t0;
		t0 = now();
		if (dms_store_refresh(store, NULL, NULL, &error) != 0)
			return 1;
		s0 += now() - t0;
	}
	printf("masters=%u reload_ms=%.3f unchanged_check_us=%.2f\n", n,
	       t / rounds * 1e3, s0 / rounds * 1e6);
	dms_store_free(&store);
	unlink(path);
	return 0;
}

static int cmd_policy(int argc, char **argv)
{
	char options[] = "dms_allow=support-*@example.org,*@example.com "
		"dms_services=imap dms_expires=2099-01-01 dms_read_only=yes";
	char site_text[] = "dms_services=imap,pop3", ebuf[128];
	char path[] = "/tmp/dms-audit-XXXXXX";
	struct dms_policy policy;
	struct dms_policy_site site;
	struct dms_policy_login login = {
		.target = "user@example.com", .service = "imap",
		.local_ip = "127.0.0.1", .local_port = 143,
	};
	struct dms_audit_record r = {
		.master = "admin", .target = "user@example.com",
		.service = "imap", .remote_ip = "127.0.0.1", .result = "ok",
		.rule = "allow", .read_only = true,
	};
	enum dms_policy_rule rule;
	const char *error;
	double t0, t_check, t_text, t_json, t_append;
	unsigned int n, allowed = 0;
	int fd;

	if (argc != 3)
		return 2;
	n = (unsigned int)atoi(argv[2]);
	if (dms_policy_parse(options, true, &policy, ebuf, sizeof(ebuf),
			     &error) < 0 ||
	    dms_policy_site_parse(site_text, &site, ebuf, sizeof(ebuf),
				  &error) < 0 ||
	    (fd = mkstemp(path)) < 0)
		return 1;
	close(fd);

	t0 = now();
	for (unsigned int i = 0; i < n; i++) {
		login.now = (int64_t)time(NULL);
		allowed += dms_policy_check(&policy, &site, &login, &rule,
					    &r.pattern);
	}
	t_check = now() - t0;
	t0 = now();
	for (unsigned int i = 0; i < n; i++)
		free(dms_audit_text(&r));
	t_text = now() - t0;
	t0 = now();
	for (unsigned int i = 0; i < n; i++)
		free(dms_audit_json(&r));
	t_json = now() - t0;
	char *json = dms_audit_json(&r);
	struct dms_path_trust trust = { geteuid(), getegid() };
	t0 = now();
	for (unsigned int i = 0; i < n; i++) {
		if (dms_audit_append(path, &trust, json, &error) < 0)
			return 1;
	}
	t_append = now() - t0;
	free(json);
	unlink(path);
	if (allowed != n)
		return 1;
	printf("logins=%u check_us=%.3f log_text_us=%.3f json_us=%.3f "
	       "append_us=%.3f\n", n, t_check / n * 1e6, t_text / n * 1e6,
	       t_json / n * 1e6, t_append / n * 1e6);
	return 0;
}

static int cmd_access(int argc, char **argv)
{
	struct dms_path_trust trust = { geteuid(), getegid() };
	unsigned int n, iters = 2000;
	struct dms_grants *grants;
	char *text, dir[] = "/tmp/dms-bench-totp-XXXXXX", path[64], code[7];
	char name[32], *secret;
	const char *error;
	size_t len = 0;
	int64_t step;
	double t0, grant_us, check_us, state_us;
	unsigned int found = 0;

	if (argc != 3)
		return 2;
	n = (unsigned int)atoi(argv[2]);
	if (n == 0 || mkdtemp(dir) == NULL)
		return 1;
	/* N grants, each of its own master; the last one is looked for */
	text = malloc((size_t)n * 128 + 1);
	for (unsigned int i = 0; i < n; i++) {
		len += (size_t)sprintf(text + len, "%016x|m%u|user@example.com|"
				       "2020-01-01|2099-01-01|active|-|bench\n",
				       i, i);
	}
	grants = dms_grants_from_buffer(text, len);
	snprintf(name, sizeof(name), "m%u", n - 1);
	t0 = now();
	for (unsigned int i = 0; i < iters; i++)
		found += dms_grants_find(grants, name, "user@example.com",
					 1798761600) != NULL;
	grant_us = (now() - t0) * 1e6 / iters;
	/* a code's check */
	secret = dms_totp_secret_new();
	if (found != iters || secret == NULL ||
	    dms_totp_generate(secret, 1798761600, code) < 0)
		return 1;
	t0 = now();
	for (unsigned int i = 0; i < iters; i++) {
		if (dms_totp_check(secret, code, 1798761600, &step,
				   &error) != 1)
			return 1;
	}
	check_us = (now() - t0) * 1e6 / iters;
	/* the replay state of N masters: each login rewrites it */
	snprintf(path, sizeof(path), "%s/state", dir);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "m%u", i);
		if (dms_totp_use_step(path, &trust, name, 1, &error) != 1)
			return 1;
	}
	t0 = now();
	for (unsigned int i = 0; i < iters; i++) {
		snprintf(name, sizeof(name), "m%u", i % n);
		if (dms_totp_use_step(path, &trust, name, 2 + i, &error) != 1)
			return 1;
	}
	state_us = (now() - t0) * 1e6 / iters;
	printf("n=%u grant_find_us=%.3f totp_check_us=%.3f "
	       "totp_state_us=%.3f\n", n, grant_us, check_us, state_us);
	unlink(path);
	rmdir(dir);
	free(secret);
	free(text);
	dms_grants_free(&grants);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	if (argc >= 2 && strcmp(argv[1], "load") == 0)
		ret = cmd_load(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "crypt") == 0)
		ret = cmd_crypt(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "store") == 0)
		ret = cmd_store(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "reload") == 0)
		ret = cmd_reload(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "access") == 0)
		ret = cmd_access(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "policy") == 0)
		ret = cmd_policy(argc, argv);
	if (ret == 2)
		fprintf(stderr, "usage: see the comment at the top of "
			"bench/dms-bench.c\n");
	return ret;
}
