/* The owner's notice (service-dms-session-notice.h). */

#include "lib.h"
#include "str.h"
#include "fd-util.h"
#include "child-wait.h"
#include "hostpid.h"
#include "ioloop.h"
#include "message-date.h"
#include "master-service.h"

#include "dms-notice.h"
#include "service-dms-session-notice.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* i_strdup()ed copies of the settings */
static struct {
	char *template_path, *from, *reviewer, *sendmail_path, *doveadm_path;
} notice_set;
static char *notice_template;
static struct child_wait *notice_wait;
static unsigned int notice_counter;

static void dms_session_notice_child(const struct child_wait_status *status,
				     void *context ATTR_UNUSED)
{
	if (WIFEXITED(status->status) && WEXITSTATUS(status->status) == 0)
		return;
	if (WIFEXITED(status->status)) {
		i_error("dms-session: owner notice: process %ld exited with "
			"status %d", (long)status->pid,
			WEXITSTATUS(status->status));
	} else {
		i_error("dms-session: owner notice: process %ld ended by "
			"signal %d", (long)status->pid,
			WTERMSIG(status->status));
	}
}

void dms_session_notice_init(const struct dms_session_notice_settings *set)
{
	const char *vars[] = { NULL };
	const char *error;
	struct stat st;
	char *text;
	int fd;

	notice_set.template_path = i_strdup(set->template_path);
	notice_set.from = i_strdup(set->from);
	notice_set.reviewer = i_strdup(set->reviewer);
	notice_set.sendmail_path = i_strdup(set->sendmail_path);
	notice_set.doveadm_path = i_strdup(set->doveadm_path);

	fd = open(set->template_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		i_fatal("dms-session: open(%s) failed: %m", set->template_path);
	if (fstat(fd, &st) < 0)
		i_fatal("dms-session: fstat(%s) failed: %m", set->template_path);
	if (!S_ISREG(st.st_mode) || st.st_size > DMS_NOTICE_MAX)
		i_fatal("dms-session: %s: not a file of at most %d bytes",
			set->template_path, DMS_NOTICE_MAX);
	notice_template = i_malloc(st.st_size + 1);
	if (read(fd, notice_template, st.st_size) != st.st_size)
		i_fatal("dms-session: read(%s) failed", set->template_path);
	i_close_fd(&fd);
	/* CRLF templates are fine; the notice is written with LF */
	for (char *p = notice_template; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			memmove(p, p + 1, strlen(p + 1) + 1);
	}
	if ((text = dms_notice_expand(notice_template, vars, &error)) == NULL)
		i_fatal("dms-session: %s: %s", set->template_path, error);
	free(text);
	child_wait_init();
	notice_wait = child_wait_new(dms_session_notice_child, NULL);
}

void dms_session_notice_deinit(void)
{
	if (notice_wait != NULL)
		child_wait_free(&notice_wait);
	i_free(notice_template);
	i_free(notice_set.template_path);
	i_free(notice_set.from);
	i_free(notice_set.reviewer);
	i_free(notice_set.sendmail_path);
	i_free(notice_set.doveadm_path);
}

/* Run ARGV with MESSAGE on its standard input; its end is logged by
   dms_session_notice_child(). */
static void dms_session_notice_exec(const char *const *argv,
				    const char *message)
{
	static const char *const env[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};
	size_t len = strlen(message);
	int fd[2];
	pid_t pid;

	if (pipe(fd) < 0) {
		i_error("dms-session: owner notice: pipe() failed: %m");
		return;
	}
	if ((pid = fork()) < 0) {
		i_error("dms-session: owner notice: fork() failed: %m");
		i_close_fd(&fd[0]);
		i_close_fd(&fd[1]);
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (dup2(fd[0], STDIN_FILENO) < 0 ||
		    (null >= 0 && dup2(null, STDOUT_FILENO) < 0))
			_exit(127);
		/* the listeners and the audit file stay here */
		for (int i = 3; i < 1024; i++)
			(void)close(i);
		/* a clean environment: Dovecot's own (listener counts,
		   log settings) would make doveadm act as this service */
		execve(argv[0], (char *const *)argv, (char *const *)env);
		/* stderr is the service's: Dovecot's log */
		i_error("dms-session: owner notice: execve(%s) failed: %m",
			argv[0]);
		_exit(127);
	}
	i_close_fd(&fd[0]);
	/* the notice is smaller than the pipe's buffer
	   (DMS_NOTICE_MAX < 64 kB) */
	if (write(fd[1], message, len) != (ssize_t)len)
		i_error("dms-session: owner notice: write() to %s failed: %m",
			argv[0]);
	i_close_fd(&fd[1]);
	child_wait_add_pid(notice_wait, pid);
}

void dms_session_notice_send(const char *user, const char *session,
			     const char *const *vars)
{
	const char *error, *config;
	string_t *message;
	char *text;

	if ((text = dms_notice_expand(notice_template, vars, &error)) == NULL) {
		i_error("dms-session: owner notice of session %s: %s",
			session, error);
		return;
	}
	message = t_str_new(strlen(text) + 256);
	str_printfa(message, "From: %s\nTo: %s\nDate: %s\n"
		    "Message-ID: <dms-notice.%s.%ld.%u@%s>\n", notice_set.from,
		    user, message_date_create(ioloop_time), session,
		    (long)ioloop_time, ++notice_counter, my_hostname);
	str_append(message, text);
	free(text);

	config = master_service_get_config_path(master_service);
	const char *save_argv[] = {
		notice_set.doveadm_path, "-c", config, "save", "-u", user,
		"-m", "INBOX", NULL
	};
	dms_session_notice_exec(save_argv, str_c(message));
	if (notice_set.reviewer != NULL) {
		const char *mail_argv[] = {
			notice_set.sendmail_path, "-i", "--",
			notice_set.reviewer, NULL
		};
		dms_session_notice_exec(mail_argv, str_c(message));
	}
	i_info("dms-session: owner notice of session %s sent to %s%s%s",
	       session, user, notice_set.reviewer != NULL ?
	       " and the reviewer " : "", notice_set.reviewer != NULL ?
	       notice_set.reviewer : "");
}
