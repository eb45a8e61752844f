/* The masters' second factor: RFC 6238 codes by liboath, and the replay
   state (dms-totp.h). */

#include "dms-totp.h"
#include "dms-password.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX (4 * 1024 * 1024)

static char error_buf[PATH_MAX + 256];

static int totp_init(const char **error_r)
{
	static bool done = false;

	if (!done) {
		if (oath_init() != OATH_OK) {
			*error_r = "oath_init() failed";
			return -1;
		}
		done = true;
	}
	return 0;
}

bool dms_totp_split(const char *password, size_t *len_r, char code[7])
{
	size_t len = strlen(password);

	if (len <= DMS_TOTP_DIGITS)
		return false;
	for (size_t i = len - DMS_TOTP_DIGITS; i < len; i++) {
		if (password[i] < '0' || password[i] > '9')
			return false;
	}
	memcpy(code, password + len - DMS_TOTP_DIGITS, DMS_TOTP_DIGITS);
	code[DMS_TOTP_DIGITS] = '\0';
	*len_r = len - DMS_TOTP_DIGITS;
	return true;
}

static int secret_decode(const char *secret, char **raw_r, size_t *len_r,
			 const char **error_r)
{
	if (totp_init(error_r) < 0)
		return -1;
	if (oath_base32_decode(secret, strlen(secret), raw_r, len_r) !=
	    OATH_OK || *len_r == 0) {
		*error_r = "the secret is not base32";
		return -1;
	}
	return 0;
}

/* liboath compares the codes with strcmp(); this one takes the same time
   wherever they differ */
static int code_compare(void *handle, const char *test_otp)
{
	return dms_timing_safe_equal(handle, test_otp) ? 0 : 1;
}

int dms_totp_check(const char *secret, const char *code, int64_t now,
		   int64_t *step_r, const char **error_r)
{
	char *raw = NULL;
	size_t raw_len;
	int pos = 0, ret;

	if (secret_decode(secret, &raw, &raw_len, error_r) < 0)
		return -1;
	ret = oath_totp_validate2_callback(raw, raw_len, (time_t)now,
					   DMS_TOTP_STEP, 0, DMS_TOTP_DIGITS,
					   DMS_TOTP_WINDOW, &pos,
					   code_compare, (void *)code);
	dms_wipe(raw, raw_len);
	free(raw);
	if (ret == OATH_INVALID_OTP)
		return 0;
	if (ret < 0) {
		*error_r = oath_strerror(ret);
		return -1;
	}
	*step_r = now / DMS_TOTP_STEP + pos;
	return 1;
}

int dms_totp_accept(const char *secret, const char *code, int64_t now,
		    bool password_ok, int64_t *step_r, const char **error_r)
{
	int ret = code[0] == '\0' ? 0 :
		dms_totp_check(secret, code, now, step_r, error_r);

	if (ret < 0)
		return -1;
	return password_ok && ret > 0 ? 1 : 0;
}

int dms_totp_generate(const char *secret, int64_t now, char code[7])
{
	const char *error;
	char *raw = NULL;
	size_t raw_len;
	int ret;

	if (secret_decode(secret, &raw, &raw_len, &error) < 0)
		return -1;
	ret = oath_totp_generate(raw, raw_len, (time_t)now, DMS_TOTP_STEP, 0,
				 DMS_TOTP_DIGITS, code);
	dms_wipe(raw, raw_len);
	free(raw);
	return ret == OATH_OK ? 0 : -1;
}

char *dms_totp_secret_new(void)
{
	unsigned char raw[DMS_TOTP_SECRET_BYTES];
	char *out = NULL;
	size_t out_len;
	const char *error;

	if (totp_init(&error) < 0 ||
	    getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return NULL;
	if (oath_base32_encode((const char *)raw, sizeof(raw), &out,
			       &out_len) != OATH_OK)
		out = NULL;
	dms_wipe(raw, sizeof(raw));
	return out;
}

char *dms_totp_secret_find(const char *text, const char *name)
{
	size_t name_len = strlen(name);

	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

		if (len > name_len + 1 && line[name_len] == '|' &&
		    memcmp(line, name, name_len) == 0) {
			const char *s = line + name_len + 1;
			size_t slen = len - name_len - 1;

			/* a trailing '|' or CR is not part of it */
			while (slen > 0 && (s[slen - 1] == '|' ||
					    s[slen - 1] == '\r'))
				slen--;
			return slen == 0 ? NULL : strndup(s, slen);
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return NULL;
}

static int state_error(const char *what, const char *path,
		       const char **error_r)
{
	snprintf(error_buf, sizeof(error_buf), "%s(%s) failed: %s", what,
		 path, strerror(errno));
	*error_r = error_buf;
	return -1;
}

/* Open the state file, creating it with its directory's group so that
   the auth process (dovecot) and the auth-workers (root) share it. */
static int state_open(const char *path, const struct dms_path_trust *trust,
		      const char **error_r)
{
	const int flags = O_RDWR | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	char resolved[PATH_MAX], why[PATH_MAX + 128];
	struct stat st, dir_st;
	int fd;

	if (dms_path_check(path, trust, true, resolved, sizeof(resolved),
			   why, sizeof(why)) < 0) {
		snprintf(error_buf, sizeof(error_buf), "%s: refusing to use "
			 "%s", why, path);
		*error_r = error_buf;
		return -1;
	}
	fd = open(resolved, flags);
	if (fd < 0 && errno == ENOENT) {
		char dir[PATH_MAX];
		const char *slash = strrchr(resolved, '/');

		fd = open(resolved, flags | O_CREAT | O_EXCL, 0660);
		/* whatever the creator's umask: the other kind of process
		   (auth or auth-worker) writes it too */
		if (fd >= 0 && fchmod(fd, 0660) < 0) {
			close(fd);
			return state_error("fchmod", path, error_r);
		}
		if (fd < 0 && errno == EEXIST)
			fd = open(resolved, flags);
		if (fd >= 0 && slash != NULL &&
		    (size_t)(slash - resolved) < sizeof(dir)) {
			memcpy(dir, resolved, (size_t)(slash - resolved));
			dir[slash - resolved] = '\0';
			if (stat(dir[0] == '\0' ? "/" : dir, &dir_st) == 0 &&
			    fchown(fd, (uid_t)-1, dir_st.st_gid) < 0) {
				/* the creator's group: the other process
				   may not write it (logged when it tries) */
			}
		}
	}
	if (fd < 0)
		return state_error("open", path, error_r);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATE_MAX ||
	    dms_path_stat_check(resolved, &st, trust, why, sizeof(why)) < 0) {
		snprintf(error_buf, sizeof(error_buf), "%s: not a trusted "
			 "regular file of at most 4 MiB", path);
		*error_r = error_buf;
		close(fd);
		return -1;
	}
	return fd;
}

int dms_totp_use_step(const char *path, const struct dms_path_trust *trust,
		      const char *name, int64_t step, const char **error_r)
{
	size_t name_len = strlen(name), len = 0, out_len = 0;
	char *text = NULL, *out = NULL;
	struct stat st;
	bool found = false;
	int fd, ret = -1;

	if ((fd = state_open(path, trust, error_r)) < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		state_error("flock", path, error_r);
		goto out;
	}
	/* under the lock: what the others wrote before */
	if (fstat(fd, &st) < 0) {
		state_error("fstat", path, error_r);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	out = malloc((size_t)st.st_size + name_len + 32);
	if (text == NULL || out == NULL) {
		*error_r = "out of memory";
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = pread(fd, text + len, (size_t)st.st_size - len,
				  (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			state_error("read", path, error_r);
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	/* "NAME STEP" lines: NAME's is replaced, the others kept */
	for (char *line = text, *nl; line != NULL && *line != '\0';
	     line = nl) {
		size_t line_len;

		nl = strchr(line, '\n');
		line_len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (nl != NULL)
			nl++;
		if (line_len > name_len && line[name_len] == ' ' &&
		    memcmp(line, name, name_len) == 0) {
			long long last = strtoll(line + name_len + 1, NULL,
						 10);

			found = true;
			if (step <= (int64_t)last) {
				/* the same code, or an older one */
				ret = 0;
				goto out;
			}
			continue;
		}
		memcpy(out + out_len, line, line_len);
		out_len += line_len;
		out[out_len++] = '\n';
	}
	out_len += (size_t)snprintf(out + out_len, name_len + 32, "%s %lld\n",
				    name, (long long)step);
	if (pwrite(fd, out, out_len, 0) != (ssize_t)out_len ||
	    ftruncate(fd, (off_t)out_len) < 0 || fdatasync(fd) < 0) {
		state_error("write", path, error_r);
		goto out;
	}
	(void)found;
	ret = 1;
out:
	free(text);
	free(out);
	close(fd);
	return ret;
}

char *dms_totp_uri(const char *issuer, const char *name, const char *secret)
{
	size_t size = 2 * strlen(issuer) + 3 * strlen(name) + strlen(secret) +
		128;
	char *uri = malloc(size), *p;
	static const char hex[] = "0123456789ABCDEF";

	if (uri == NULL)
		return NULL;
	p = uri + snprintf(uri, size, "otpauth://totp/%s:", issuer);
	/* the label percent-encoded: a name may hold '@' or '+' */
	for (const unsigned char *c = (const unsigned char *)name; *c != '\0';
	     c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-._~", *c) != NULL) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	snprintf(p, size - (size_t)(p - uri), "?secret=%s&issuer=%s&"
		 "algorithm=SHA1&digits=%d&period=%d", secret, issuer,
		 DMS_TOTP_DIGITS, DMS_TOTP_STEP);
	return uri;
}
