/* Parsing the master store into a hash table, and reloading it when the
   file changes. */

#include "dms-store.h"
#include "dms-path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Verifications of distinct costs measured at most; masters are few, and
   most share one scheme and cost */
#define DMS_STORE_DUMMY_COSTS_MAX 16
/* Padding verifications at most (a DES-cheap master in a yescrypt store) */
#define DMS_STORE_PAD_MAX 100000

struct dms_store_cost {
	/* the cost prefix of a hash in the buffer */
	const char *prefix;
	size_t prefix_len;
	unsigned long long nsec;
	/* a hash of this cost, not a master's */
	char dummy[DMS_PASSWORD_HASH_MAX];
};

/* One parsed version of the file. Names and passwords point into buf,
   NUL-terminated in place. */
struct dms_store_data {
	char *buf;
	size_t buf_len;
	struct dms_store_entry *entries;
	size_t count;
	/* open addressing: entry index + 1, 0 = empty slot */
	uint32_t *slots;
	size_t slot_mask;
	unsigned int skipped;
	/* what an unknown name is verified against: made on first use */
	bool dummy_done;
	char dummy[DMS_PASSWORD_HASH_MAX];
	/* the verification cost of each scheme and cost prefix seen */
	struct dms_store_cost costs[DMS_STORE_DUMMY_COSTS_MAX];
	unsigned int n_costs;
	unsigned long long max_cost;
};

struct dms_store {
	char *path;
	enum dms_scheme default_scheme;
	struct dms_path_trust trust;
	struct stat st;
	struct dms_store_data *data;
	char error[PATH_MAX + 256];
};

struct parse_ctx {
	dms_store_warning_t *warning;
	void *context;
	unsigned int warnings;
};

static uint64_t hash_name(const char *name)
{
	/* FNV-1a: the keys come from the administrator's file, so a simple
	   hash without a secret seed cannot be flooded by clients */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The policy of every line without options. */
static const struct dms_policy no_policy;

static void data_free(struct dms_store_data **_data)
{
	struct dms_store_data *data = *_data;

	if (data == NULL)
		return;
	*_data = NULL;
	for (size_t i = 0; i < data->count; i++) {
		if (data->entries[i].policy != &no_policy) {
			struct dms_policy *p =
				(struct dms_policy *)data->entries[i].policy;

			free(p->extra_fields);
			free(p);
		}
	}
	/* the buffer holds password hashes */
	if (data->buf != NULL) {
		dms_wipe(data->buf, data->buf_len);
		free(data->buf);
	}
	free(data->entries);
	free(data->slots);
	free(data);
}

static void __attribute__((format(printf, 3, 4)))
parse_warn(struct parse_ctx *ctx, unsigned int line, const char *fmt, ...);

static void parse_warn(struct parse_ctx *ctx, unsigned int line,
		       const char *fmt, ...)
{
	char msg[512];
	va_list args;

	if (ctx->warning == NULL || ++ctx->warnings > DMS_STORE_WARNINGS_MAX)
		return;
	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	ctx->warning(ctx->context, line, msg);
}

static bool name_char_ok(unsigned char c)
{
	return c > ' ' && c != 0x7f;
}

static struct dms_store_entry *
data_find(const struct dms_store_data *data, const char *name,
	  size_t *slot_r)
{
	size_t i = hash_name(name) & data->slot_mask;

	for (; data->slots[i] != 0; i = (i + 1) & data->slot_mask) {
		struct dms_store_entry *e = &data->entries[data->slots[i] - 1];

		if (strcmp(e->name, name) == 0)
			return e;
	}
	*slot_r = i;
	return NULL;
}

int dms_store_line_name(const char *line, size_t len, const char **name_r,
			size_t *name_len_r)
{
	const char *end = line + len, *p;

	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	if (line == end || *line == '#' || *line == '\r')
		return 0;
	for (p = line; p < end; p++) {
		if (*p == ':' || *p == '|') {
			*name_r = line;
			*name_len_r = (size_t)(p - line);
			return *p;
		}
	}
	return -1;
}

int dms_store_line_fields(const char *line, size_t len,
			  struct dms_store_line *f)
{
	const char *end = line + len, *p, *q;
	int delim;

	memset(f, 0, sizeof(*f));
	if (len > 0 && end[-1] == '\r') {
		f->crlf = true;
		end--;
	}
	delim = dms_store_line_name(line, (size_t)(end - line), &f->name,
				    &f->name_len);
	if (delim <= 0)
		return delim;
	f->delim = (char)delim;
	f->password = p = f->name + f->name_len + 1;
	q = memchr(p, delim, (size_t)(end - p));
	f->password_len = (size_t)((q != NULL ? q : end) - p);
	if (q == NULL)
		return 1;
	if (delim == '|') {
		/* NAME|PASSWORD|OPTIONS */
		f->options = q + 1;
		f->options_len = (size_t)(end - f->options);
		return 1;
	}
	/* NAME:PASSWORD:UID:GID:GECOS:HOME:SHELL:EXTRA FIELDS; like Dovecot,
	   the extra fields are all the rest, ':' included */
	f->middle = q;
	for (unsigned int i = 0; i < 5; i++) {
		p = q + 1;
		q = memchr(p, ':', (size_t)(end - p));
		if (q == NULL) {
			f->middle_len = (size_t)(end - f->middle);
			return 1;
		}
	}
	f->middle_len = (size_t)(q + 1 - f->middle);
	f->options = q + 1;
	f->options_len = (size_t)(end - f->options);
	return 1;
}

/* Parse one line (NUL-terminated in place, without its '\n'). Returns 1
   with the entry, 0 for a comment or blank line, -1 for a line skipped
   with a warning. */
/* The tokens of OPTIONS that are not dms_ options, space-separated, in
   *extra_r (malloc()ed; NULL when there are none). Returns -1 when out of
   memory. */
static int extra_fields_copy(const char *options, char **extra_r)
{
	size_t len = 0, n;
	const char *p = options, *token;
	char *extra = NULL;

	*extra_r = NULL;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		token = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		n = p - token;
		if (n == 0 || strncmp(token, "dms_", 4) == 0)
			continue;
		if (extra == NULL && (extra = malloc(strlen(options) + 1)) == NULL)
			return -1;
		if (len > 0)
			extra[len++] = ' ';
		memcpy(extra + len, token, n);
		len += n;
	}
	if (extra != NULL)
		extra[len] = '\0';
	*extra_r = extra;
	return 0;
}

static int parse_line(struct parse_ctx *ctx, unsigned int lineno,
		       char *line, size_t len, enum dms_scheme default_scheme,
		       struct dms_store_entry *entry_r,
		       struct dms_policy *policy_r)
{
	struct dms_store_line f;
	char *name, *password, *options = NULL, *extra = NULL, ebuf[256];
	enum dms_scheme scheme;
	const char *hash, *error;
	int ret;

	if (memchr(line, '\0', len) != NULL) {
		parse_warn(ctx, lineno, "NUL byte in line; line skipped");
		return -1;
	}
	/* trailing CR (CRLF files) and white space */
	while (len > 0 && (line[len-1] == '\r' || line[len-1] == ' ' ||
			   line[len-1] == '\t'))
		line[--len] = '\0';
	ret = dms_store_line_fields(line, len, &f);
	if (ret == 0)
		return 0;
	if (ret < 0) {
		parse_warn(ctx, lineno, "missing '|' or ':' after the name; "
			   "line skipped");
		return -1;
	}
	if (f.name_len == 0) {
		parse_warn(ctx, lineno, "empty name; line skipped");
		return -1;
	}
	if (f.name_len > DMS_STORE_NAME_MAX) {
		parse_warn(ctx, lineno, "name longer than %d bytes; "
			   "line skipped", DMS_STORE_NAME_MAX);
		return -1;
	}
	name = line + (f.name - line);
	password = line + (f.password - line);
	for (size_t i = 0; i < f.name_len; i++) {
		if (!name_char_ok((unsigned char)name[i])) {
			parse_warn(ctx, lineno, "white space or control "
				   "character in the name; line skipped");
			return -1;
		}
	}
	if (f.options != NULL)
		options = line + (f.options - line);
	name[f.name_len] = '\0';
	password[f.password_len] = '\0';
	if (*password == '\0') {
		parse_warn(ctx, lineno, "%s: empty password; line skipped",
			   name);
		return -1;
	}
	if (f.password_len > DMS_STORE_PASSWORD_MAX) {
		parse_warn(ctx, lineno, "%s: password field longer than %d "
			   "bytes; line skipped", name,
			   DMS_STORE_PASSWORD_MAX);
		return -1;
	}
	/* Dovecot's passwd-file applies a master line's other extra fields
	   (allow_nets=, nologin, ...): so does the module, so that an
	   operator who switches loses no restriction */
	if (options != NULL && f.delim == ':' &&
	    extra_fields_copy(options, &extra) < 0) {
		parse_warn(ctx, lineno, "%s: out of memory; line skipped",
			   name);
		return -1;
	}
	/* a bad option makes the master unusable rather than less
	   restricted than the operator meant */
	if (options != NULL &&
	    dms_policy_parse(options, f.delim == '|', policy_r, ebuf,
			     sizeof(ebuf), &error) < 0) {
		parse_warn(ctx, lineno, "%s: %s; line skipped", name, error);
		free(extra);
		return -1;
	}
	policy_r->extra_fields = extra;
	/* kept, so that a login says precisely why it is refused */
	if (dms_password_parse(password, default_scheme, &scheme, &hash,
			       &error) < 0) {
		parse_warn(ctx, lineno, "%s: %s; logins as %s will fail",
			   name, error, name);
	}
	entry_r->name = name;
	entry_r->password = password;
	entry_r->line = lineno;
	return 1;
}

static struct dms_store_data *
data_parse(char *buf, size_t len, enum dms_scheme default_scheme,
	   struct parse_ctx *ctx)
{
	struct dms_store_data *data;
	size_t lines = 1, cap = 16, i, slot;
	unsigned int lineno = 0;
	char *line, *next, *bufend = buf + len;

	data = calloc(1, sizeof(*data));
	if (data == NULL)
		return NULL;
	data->buf = buf;
	data->buf_len = len;
	for (i = 0; i < len; i++) {
		if (buf[i] == '\n')
			lines++;
	}
	while (cap < lines * 2)
		cap *= 2;
	data->entries = calloc(lines, sizeof(*data->entries));
	data->slots = calloc(cap, sizeof(*data->slots));
	if (data->entries == NULL || data->slots == NULL ||
	    lines > UINT32_MAX - 1) {
		data->buf = NULL;
		data_free(&data);
		return NULL;
	}
	data->slot_mask = cap - 1;

	for (line = buf; line < bufend; line = next) {
		struct dms_store_entry entry;
		struct dms_policy policy;
		size_t line_len;
		int ret;
		char *nl = memchr(line, '\n', (size_t)(bufend - line));

		lineno++;
		line_len = (nl != NULL ? nl : bufend) - line;
		next = nl != NULL ? nl + 1 : bufend;
		line[line_len] = '\0';

		memset(&entry, 0, sizeof(entry));
		memset(&policy, 0, sizeof(policy));
		ret = parse_line(ctx, lineno, line, line_len, default_scheme,
				 &entry, &policy);
		if (ret <= 0) {
			if (ret < 0)
				data->skipped++;
			continue;
		}
		struct dms_store_entry *dup = data_find(data, entry.name,
							&slot);
		if (dup != NULL) {
			parse_warn(ctx, lineno, "%s: duplicate name (first at "
				   "line %u); line skipped", entry.name,
				   dup->line);
			data->skipped++;
			free(policy.extra_fields);
			continue;
		}
		entry.policy = &no_policy;
		if (dms_policy_is_set(&policy) || policy.extra_fields != NULL) {
			struct dms_policy *p = malloc(sizeof(*p));

			if (p == NULL) {
				free(policy.extra_fields);
				data->buf = NULL;
				data_free(&data);
				return NULL;
			}
			*p = policy;
			entry.policy = p;
		}
		data->entries[data->count] = entry;
		data->slots[slot] = (uint32_t)++data->count;
	}
	if (ctx->warnings > DMS_STORE_WARNINGS_MAX && ctx->warning != NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%u more malformed lines skipped",
			 ctx->warnings - DMS_STORE_WARNINGS_MAX);
		ctx->warning(ctx->context, 0, msg);
	}
	return data;
}

struct dms_store *dms_store_new(const char *path,
				enum dms_scheme default_scheme)
{
	struct dms_store *store = calloc(1, sizeof(*store));

	if (store == NULL)
		return NULL;
	store->path = strdup(path);
	if (store->path == NULL) {
		free(store);
		return NULL;
	}
	store->default_scheme = default_scheme;
	store->trust.uid = geteuid();
	store->trust.gid = getegid();
	return store;
}

void dms_store_set_trust(struct dms_store *store,
			 const struct dms_path_trust *trust)
{
	store->trust = *trust;
}

struct dms_store *dms_store_new_from_buffer(const char *text, size_t len,
					    enum dms_scheme default_scheme,
					    dms_store_warning_t *warning,
					    void *context)
{
	struct parse_ctx ctx = { warning, context, 0 };
	struct dms_store *store;
	char *buf;

	store = calloc(1, sizeof(*store));
	buf = malloc(len + 1);
	if (store == NULL || buf == NULL) {
		free(store);
		free(buf);
		return NULL;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	store->default_scheme = default_scheme;
	store->data = data_parse(buf, len, default_scheme, &ctx);
	if (store->data == NULL) {
		free(buf);
		free(store);
		return NULL;
	}
	return store;
}

void dms_store_free(struct dms_store **_store)
{
	struct dms_store *store = *_store;

	if (store == NULL)
		return;
	*_store = NULL;
	data_free(&store->data);
	free(store->path);
	free(store);
}

static int store_fail(struct dms_store *store, const char **error_r,
		      const char *func)
{
	snprintf(store->error, sizeof(store->error), "%s(%s) failed: %s",
		 func, store->path, strerror(errno));
	*error_r = store->error;
	return -1;
}

/* Who may change the store decides who can log in as anyone: the file
   that was opened must be trusted as its path was (dms-path.h), and one
   that others can read is warned about (the hashes can be cracked
   offline). */
static int check_permissions(struct dms_store *store, const struct stat *st,
			     struct parse_ctx *ctx, const char **error_r)
{
	mode_t mode = st->st_mode & 07777;

	if (dms_path_stat_check(store->path, st, &store->trust, store->error,
				sizeof(store->error)) < 0) {
		*error_r = store->error;
		return -1;
	}
	if ((mode & S_IROTH) != 0 && ctx->warning != NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "readable by everyone (mode %04o): "
			 "the password hashes are exposed; chmod 0640 it",
			 (unsigned int)mode);
		ctx->warning(ctx->context, 0, msg);
	}
	return 0;
}

/* Read the whole file into a NUL-terminated buffer. */
static int read_file(struct dms_store *store, int fd, struct stat *st,
		     struct parse_ctx *ctx, char **buf_r, size_t *len_r,
		     const char **error_r)
{
	size_t size, len = 0;
	char *buf;
	ssize_t ret;

	if (fstat(fd, st) < 0)
		return store_fail(store, error_r, "fstat");
	if (!S_ISREG(st->st_mode)) {
		snprintf(store->error, sizeof(store->error),
			 "%s is not a regular file", store->path);
		*error_r = store->error;
		return -1;
	}
	/* before reading: an untrusted file is not read at all */
	if (check_permissions(store, st, ctx, error_r) < 0)
		return -1;
	if ((unsigned long long)st->st_size > DMS_STORE_FILE_MAX) {
		snprintf(store->error, sizeof(store->error),
			 "%s is larger than %lu bytes; refusing to load it",
			 store->path, DMS_STORE_FILE_MAX);
		*error_r = store->error;
		return -1;
	}
	size = (size_t)st->st_size + 1;
	buf = malloc(size + 1);
	if (buf == NULL)
		return store_fail(store, error_r, "malloc");
	/* the file may grow while it is read; read to EOF regardless */
	for (;;) {
		if (len == size) {
			char *nbuf;

			if (size > DMS_STORE_FILE_MAX) {
				free(buf);
				snprintf(store->error, sizeof(store->error),
					 "%s grew past %lu bytes while read",
					 store->path, DMS_STORE_FILE_MAX);
				*error_r = store->error;
				return -1;
			}
			size *= 2;
			nbuf = realloc(buf, size + 1);
			if (nbuf == NULL) {
				free(buf);
				return store_fail(store, error_r, "realloc");
			}
			buf = nbuf;
		}
		ret = read(fd, buf + len, size - len);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			free(buf);
			return store_fail(store, error_r, "read");
		}
		if (ret == 0)
			break;
		len += (size_t)ret;
	}
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
}

/* A file written in place may be read half-way: the last line is then
   cut, and "dms_allow=*@example.com" can read as "dms_allow=*". A last
   line without a newline is taken as complete only once the file has been
   left alone for this long. */
#define DMS_STORE_SETTLE_SECS 2
/* Reads of a file that changes while it is read */
#define DMS_STORE_READ_TRIES 3

static bool recently_changed(const struct stat *st)
{
	struct timespec now;
	long long age;

	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return true;
	age = (long long)now.tv_sec - (long long)st->st_mtim.tv_sec;
	return age < DMS_STORE_SETTLE_SECS && age > -DMS_STORE_SETTLE_SECS;
}

static void buf_free(char *buf, size_t len)
{
	/* the buffer holds password hashes */
	dms_wipe(buf, len);
	free(buf);
}

/* Read the file at the (resolved) PATH as one consistent version: stat()
   before and after the read must agree, else read again. */
static int read_stable(struct dms_store *store, const char *path,
		       struct parse_ctx *ctx, struct stat *st_r,
		       char **buf_r, size_t *len_r, const char **error_r)
{
	struct stat after;
	int fd, ret;

	for (unsigned int try = 1;; try++) {
		fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return store_fail(store, error_r, "open");
		ret = read_file(store, fd, st_r, ctx, buf_r, len_r, error_r);
		if (ret == 0 && fstat(fd, &after) < 0) {
			buf_free(*buf_r, *len_r);
			ret = store_fail(store, error_r, "fstat");
		}
		(void)close(fd);
		if (ret < 0)
			return -1;
		if (dms_path_stat_unchanged(st_r, &after))
			break;
		buf_free(*buf_r, *len_r);
		if (try == DMS_STORE_READ_TRIES) {
			snprintf(store->error, sizeof(store->error),
				 "%s changed while it was read, %u times: "
				 "it is being written in place (write a new "
				 "file and rename it instead)", store->path,
				 try);
			*error_r = store->error;
			return -1;
		}
	}
	if (*len_r > 0 && (*buf_r)[*len_r - 1] != '\n' &&
	    recently_changed(st_r)) {
		buf_free(*buf_r, *len_r);
		snprintf(store->error, sizeof(store->error),
			 "%s ends in a line without a newline and changed "
			 "less than %d seconds ago: it may be half written",
			 store->path, DMS_STORE_SETTLE_SECS);
		*error_r = store->error;
		return -1;
	}
	return 0;
}

int dms_store_refresh(struct dms_store *store, dms_store_warning_t *warning,
		      void *context, const char **error_r)
{
	struct parse_ctx ctx = { warning, context, 0 };
	struct dms_store_data *data;
	char resolved[PATH_MAX], why[PATH_MAX + 128];
	struct stat st;
	size_t len = 0;
	char *buf = NULL;

	if (store->path == NULL)
		return 0;
	if (stat(store->path, &st) < 0) {
		data_free(&store->data);
		return store_fail(store, error_r, "stat");
	}
	if (store->data != NULL && dms_path_stat_unchanged(&st, &store->st))
		return 0;

	/* whatever happens next, the old contents are not used again */
	data_free(&store->data);
	/* checked at every load: any change of the file, a link swapped in
	   included, changes what stat() sees */
	if (dms_path_check(store->path, &store->trust, false, resolved,
			   sizeof(resolved), why, sizeof(why)) < 0) {
		snprintf(store->error, sizeof(store->error),
			 "%s: refusing to use %s", why, store->path);
		*error_r = store->error;
		return -1;
	}
	if (read_stable(store, resolved, &ctx, &st, &buf, &len, error_r) < 0)
		return -1;
	data = data_parse(buf, len, store->default_scheme, &ctx);
	if (data == NULL) {
		buf_free(buf, len);
		errno = ENOMEM;
		return store_fail(store, error_r, "parse");
	}
	store->data = data;
	/* fstat() of what was read: a file replaced meanwhile is seen as
	   changed by the next refresh */
	store->st = st;
	return 1;
}

/* Rounds of cost measures: each distinct cost is measured once a round,
   the rounds one after the other, and the lowest of its measures kept.
   The first run also pays for cold caches, and a busy machine only ever
   makes a run slower; measuring the costs in turn, rather than each three
   times in a row, keeps a burst of load (a sibling hyperthread busy) from
   landing on one cost only: that made a SHA512-CRYPT master look half as
   costly as a SHA256-CRYPT one and padded it to twice an unknown name's
   cost. */
#define DMS_STORE_COST_ROUNDS 3

const char *dms_store_dummy_hash(struct dms_store *store)
{
	struct dms_store_data *data = store->data;
	unsigned long long cost;
	char dummy[DMS_PASSWORD_HASH_MAX];

	if (data == NULL)
		return NULL;
	if (data->dummy_done)
		return data->dummy[0] == '\0' ? NULL : data->dummy;
	data->dummy_done = true;
	/* the distinct costs, each with a dummy of its own */
	for (size_t i = 0; i < data->count; i++) {
		enum dms_scheme scheme;
		const char *hash, *error;
		size_t prefix_len;
		unsigned int j;

		if (dms_password_parse(data->entries[i].password,
				       store->default_scheme, &scheme, &hash,
				       &error) < 0)
			continue;
		prefix_len = dms_password_cost_prefix_len(hash);
		for (j = 0; j < data->n_costs; j++) {
			if (data->costs[j].prefix_len == prefix_len &&
			    memcmp(data->costs[j].prefix, hash,
				   prefix_len) == 0)
				break;
		}
		if (j < data->n_costs)
			continue;
		if (data->n_costs == DMS_STORE_DUMMY_COSTS_MAX)
			break;
		if (dms_password_dummy_from(hash, dummy, sizeof(dummy),
					    &cost) < 0)
			continue;
		data->costs[data->n_costs].prefix = hash;
		data->costs[data->n_costs].prefix_len = prefix_len;
		data->costs[data->n_costs].nsec = cost;
		memcpy(data->costs[data->n_costs++].dummy, dummy,
		       sizeof(dummy));
	}
	for (unsigned int round = 1; round < DMS_STORE_COST_ROUNDS; round++) {
		for (unsigned int j = 0; j < data->n_costs; j++) {
			struct dms_store_cost *c = &data->costs[j];

			if (dms_password_dummy_from(c->dummy, dummy,
						    sizeof(dummy), &cost) == 0 &&
			    cost < c->nsec)
				c->nsec = cost;
		}
	}
	for (unsigned int j = 0; j < data->n_costs; j++) {
		if (data->costs[j].nsec >= data->max_cost) {
			data->max_cost = data->costs[j].nsec;
			memcpy(data->dummy, data->costs[j].dummy,
			       sizeof(data->dummy));
		}
	}
	return data->dummy[0] == '\0' ? NULL : data->dummy;
}

const char *dms_store_pad_hash(struct dms_store *store,
			       const struct dms_store_entry *entry,
			       unsigned int *times_r)
{
	const char *dummy = dms_store_dummy_hash(store), *hash, *error;
	struct dms_store_data *data = store->data;
	const struct dms_store_cost *c;
	enum dms_scheme scheme;
	unsigned long long times;
	size_t prefix_len;

	if (dummy == NULL || dms_password_parse(entry->password,
						store->default_scheme,
						&scheme, &hash, &error) < 0)
		return NULL;
	prefix_len = dms_password_cost_prefix_len(hash);
	for (unsigned int j = 0; j < data->n_costs; j++) {
		c = &data->costs[j];
		if (c->prefix_len != prefix_len ||
		    memcmp(c->prefix, hash, prefix_len) != 0)
			continue;
		/* own cost times (1 + times) nearest the costliest: within
		   0.75-1.5 of it */
		times = (data->max_cost + c->nsec / 2) / (c->nsec + 1);
		if (times <= 1)
			return NULL;
		*times_r = times - 1 > DMS_STORE_PAD_MAX ?
			DMS_STORE_PAD_MAX : (unsigned int)(times - 1);
		return c->dummy;
	}
	/* a cost not measured (more than DMS_STORE_DUMMY_COSTS_MAX): the
	   costliest once more, at most 2x */
	*times_r = 1;
	return dummy;
}

int dms_store_lookup(const struct dms_store *store, const char *name,
		     const struct dms_store_entry **entry_r)
{
	size_t slot;
	const struct dms_store_entry *e;

	if (store->data == NULL)
		return 0;
	e = data_find(store->data, name, &slot);
	if (e == NULL)
		return 0;
	*entry_r = e;
	return 1;
}

const struct dms_store_entry *
dms_store_entries(const struct dms_store *store, size_t *count_r)
{
	*count_r = dms_store_count(store);
	return store->data == NULL ? NULL : store->data->entries;
}

size_t dms_store_count(const struct dms_store *store)
{
	return store->data == NULL ? 0 : store->data->count;
}

const char *dms_store_path(const struct dms_store *store)
{
	return store->path;
}

unsigned int dms_store_skipped_lines(const struct dms_store *store)
{
	return store->data == NULL ? 0 : store->data->skipped;
}
