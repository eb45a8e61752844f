/* Ending a master's sessions through the dms-session service
   (setup-kick.h). */

#include "setup-kick.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KICK_TIMEOUT_MSECS 10000

static char kick_error[512];

/* "WHAT PATH failed: ERRNO's text" */
static const char *kick_fail(const char *what, const char *path)
{
	snprintf(kick_error, sizeof(kick_error), "%s %s failed: %s", what,
		 path, strerror(errno));
	return kick_error;
}

/* Read until the line starting with PREFIX; returns it (in BUF), or
   NULL. */
static const char *read_reply(int fd, char *buf, size_t size, size_t *len,
			      const char *prefix)
{
	for (;;) {
		char *nl;

		buf[*len] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			if (strncmp(buf, prefix, strlen(prefix)) == 0)
				return buf;
			*len -= nl + 1 - buf;
			memmove(buf, nl + 1, *len + 1);
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (*len + 1 >= size || poll(&pfd, 1, KICK_TIMEOUT_MSECS) <= 0)
			return NULL;
		ssize_t n = read(fd, buf + *len, size - 1 - *len);
		if (n <= 0)
			return NULL;
		*len += n;
	}
}

int setup_kick(const char *base_dir, const char *name, const char **error_r)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} addr = { .un = { .sun_family = AF_UNIX } };
	char buf[1024], request[512];
	const char *line;
	size_t len = 0;
	int fd, count;

	if ((size_t)snprintf(addr.un.sun_path, sizeof(addr.un.sun_path),
			     "%s/dms-session-admin", base_dir) >=
	    sizeof(addr.un.sun_path)) {
		*error_r = "--base-dir: path too long";
		return -1;
	}
	if ((size_t)snprintf(request, sizeof(request),
			     "VERSION\tdms-session-admin-client\t1\t0\n"
			     "KICK\t%s\n", name) >= sizeof(request)) {
		*error_r = "name too long";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = kick_fail("socket()", "for the admin socket");
		return -1;
	}
	if (connect(fd, &addr.sa, sizeof(addr.un)) < 0) {
		snprintf(kick_error, sizeof(kick_error), "cannot reach the "
			 "dms-session service at %s: %s (is Dovecot running "
			 "with this base_dir? see --base-dir)", addr.un.sun_path,
			 strerror(errno));
		*error_r = kick_error;
		close(fd);
		return -1;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		*error_r = kick_fail("write() to", addr.un.sun_path);
		close(fd);
		return -1;
	}
	line = read_reply(fd, buf, sizeof(buf), &len, "OK\t");
	close(fd);
	if (line == NULL || (count = atoi(line + 3)) < 0) {
		snprintf(kick_error, sizeof(kick_error), "%s: no answer "
			 "from the dms-session service (see Dovecot's log)",
			 addr.un.sun_path);
		*error_r = kick_error;
		return -1;
	}
	return count;
}
