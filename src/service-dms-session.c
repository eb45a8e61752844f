/* dms-session: the Dovecot service that owns the session records of
   master sessions. The dms_session mail plugin, loaded only in master
   sessions and running as the mail user, sends it what the session does;
   this process (root) writes the records to the audit file, which the mail
   processes cannot open, let alone rewrite or truncate. It also ends
   sessions: "setup dovecot-master kick NAME" asks it through its admin
   socket. And it checks every open session's master again every 2 s
   (dms-session-check.h): a master deleted, disabled, expired, made
   read-only, or whose dms_allow or dms_services no longer cover the
   session has its sessions ended.

     service dms-session {
       executable = dms-session [-u AUTH_USER] [-n] [-t TEMPLATE]
                                [-r REVIEWER] [-f FROM] [-s SENDMAIL]
                                [-a DOVEADM] [AUDIT_FILE]
       ...    (conf.d/auth-dms-userdb.conf.ext)
     }

   Without AUDIT_FILE the records go to Dovecot's log. AUTH_USER (default
   dovecot, Dovecot's default_internal_user) is the auth process's user,
   which may own the audit file and its directory besides root, as the
   dms_master passdb writes its login records to the same file.

   Owner notices (service-dms-session-notice.h): -n sends one for every master
   session that read or changed something, unless the master's
   dms_notify_owner=no; without -n only for masters with
   dms_notify_owner=yes. -t is the template (default
   DMS_NOTICE_TEMPLATE_DEFAULT), -r a reviewer address that gets a copy
   through sendmail (-s, default /usr/sbin/sendmail), -f the notices'
   From: (default postmaster), -a doveadm's path (default
   /usr/bin/doveadm).

   Plugin protocol (lines of tab-separated, tab-escaped fields, after
   Dovecot's VERSION handshake):
     START  SESSION MASTER USER SERVICE REMOTE_IP LEVEL READ_ONLY STORE
            SITE NOTIFY LOCAL_IP LOCAL_PORT GRANT GRANT_REASON
            -> OK | FAIL <reason>   (the started record is written first:
                                     a session that cannot be recorded is
                                     refused)
     REC    EVENT KEY VALUE ...     a record (dms-session-record.h)
     END    HOW BYTES_OUT [REASON]  the session ends from the client's
                                    side: logout (LOGOUT, QUIT),
                                    disconnect (Dovecot's reason), ended
   and from here to the plugin:
     KICK   HOW REASON              end the session (kicked, revoked)
   Admin protocol: KICK MASTER -> OK <sessions told>. */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "str.h"
#include "strescape.h"
#include "ostream.h"
#include "connection.h"
#include "restrict-access.h"
#include "master-service.h"

#include "dms-path.h"
#include "dms-audit.h"
#include "dms-session-record.h"
#include "dms-session-check.h"
#include "service-dms-session-notice.h"
#include "dms-policy.h"

#include <pwd.h>
#include <signal.h>
#include <sys/time.h>

#define DMS_SESSION_ADMIN_LISTENER "dms-session-admin"
#ifndef DMS_NOTICE_TEMPLATE_DEFAULT
#  define DMS_NOTICE_TEMPLATE_DEFAULT \
	"/etc/dovecot/conf.d/dms-session-notice.txt"
#endif
/* the mailboxes a notice names */
#define DMS_SESSION_NOTICE_MAILBOXES 50
/* a kicked mail process that has not ended this long after being told is
   sent SIGTERM (a client holding it in a long command) */
#define DMS_SESSION_KICK_GRACE_MSECS 3000
/* how often every open session's master is checked again: a change to
   the store ends the sessions it no longer allows within this (plus a
   file's re-read, or LDAP's cache_ttl) */
#define DMS_SESSION_CHECK_MSECS 2000
/* records are written together, once the input at hand is read */
#define DMS_SESSION_WRITE_MAX 65536

struct dms_session_conn {
	struct connection conn;
	bool admin;

	/* START's fields; NULL until then */
	char *session, *master, *user, *service, *remote_ip;
	char *store, *site, *local_ip, *grant, *grant_reason;
	unsigned int local_port;
	bool read_only;
	/* the owner gets a notice when the session ends */
	bool notify;
	time_t started;
	/* the mailboxes opened or changed, for the notice */
	ARRAY(char *) mailboxes;
	/* totals for the finished record */
	uint64_t messages_read, messages_changed, bytes_out;
	/* set when this side ended the session */
	const char *end_how;
	char *end_reason;
	struct timeout *to_kill;
	bool ended;
};

static struct connection_list *plugin_conns, *admin_conns;
static const char *audit_file;
static struct dms_path_trust audit_trust;
static string_t *pending;
static struct timeout *to_write;
static struct event *dms_session_event;
static struct dms_session_checker *checker;
static bool notify_all, notices;
static struct timeout *to_check;

static struct event_category dms_session_category = {
	.name = "dms-session",
};

static int64_t now_usec(void)
{
	struct timeval tv;

	if (gettimeofday(&tv, NULL) < 0)
		i_fatal("gettimeofday() failed: %m");
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The pending records in Dovecot's log, one line per record. */
static void dms_session_log_pending(void)
{
	const char *const *lines = t_strsplit(str_c(pending), "\n");

	for (; *lines != NULL; lines++) {
		if (**lines != '\0')
			e_info(dms_session_event, "%s", *lines);
	}
}

/* Write what is pending. Returns 0, or -1 (logged) when the audit file
   cannot be written: the lines then go to Dovecot's log, so that nothing
   is lost. */
static int dms_session_write(void)
{
	const char *error;
	int ret = 0;

	timeout_remove(&to_write);
	if (str_len(pending) == 0)
		return 0;
	if (audit_file == NULL) {
		dms_session_log_pending();
	} else if (dms_audit_append(audit_file, &audit_trust,
				    str_c(pending), &error) < 0) {
		e_error(dms_session_event, "audit file %s: %s "
			"(the records follow here)", audit_file, error);
		dms_session_log_pending();
		ret = -1;
	}
	str_truncate(pending, 0);
	return ret;
}

static void dms_session_write_timeout(void *context ATTR_UNUSED)
{
	(void)dms_session_write();
}

/* Add a record of C's session for EVENT with the plugin's KV pairs
   (NULL-terminated). Returns -1 with *error_r for a record that does not
   check out. */
static int
dms_session_record(struct dms_session_conn *c, const char *event,
		   const char *const *kv, const char **error_r)
{
	ARRAY_TYPE(const_string) fields;
	char *line;

	t_array_init(&fields, 32);
#define ADD(k, v) STMT_START { const char *_k = (k), *_v = (v); \
	array_push_back(&fields, &_k); array_push_back(&fields, &_v); \
	} STMT_END
	ADD("session", c->session);
	ADD("master", c->master);
	ADD("user", c->user);
	ADD("service", c->service);
	ADD("remote_ip", c->remote_ip);
	ADD("pid", dec2str(c->conn.remote_pid));
	ADD("process_uid", dec2str(c->conn.remote_uid));
	for (; kv[0] != NULL; kv += 2) {
		if (kv[1] == NULL) {
			*error_r = "key without a value";
			return -1;
		}
		ADD(kv[0], kv[1]);
	}
#undef ADD
	array_append_zero(&fields);
	line = dms_session_json(now_usec(), event, array_front(&fields),
				error_r);
	if (line == NULL)
		return -1;
	str_append(pending, line);
	free(line);
	if (str_len(pending) >= DMS_SESSION_WRITE_MAX)
		(void)dms_session_write();
	else if (to_write == NULL)
		to_write = timeout_add_short(0, dms_session_write_timeout,
					     NULL);
	return 0;
}

static void dms_session_mailbox_add(struct dms_session_conn *c,
				    const char *mailbox)
{
	char *name;

	array_foreach_elem(&c->mailboxes, name) {
		if (strcmp(name, mailbox) == 0)
			return;
	}
	if (array_count(&c->mailboxes) < DMS_SESSION_NOTICE_MAILBOXES) {
		name = i_strdup(mailbox);
		array_push_back(&c->mailboxes, &name);
	}
}

/* The owner's notice of a session that read or changed something. */
static void dms_session_notice(struct dms_session_conn *c, const char *how)
{
	char started[DMS_TIME_BUF], ended[DMS_TIME_BUF];
	string_t *boxes = t_str_new(128);
	char *name;

	if (!c->notify || c->messages_read + c->messages_changed == 0)
		return;
	array_foreach_elem(&c->mailboxes, name) {
		if (str_len(boxes) > 0)
			str_append(boxes, ", ");
		str_append(boxes, name);
	}
	if (array_count(&c->mailboxes) == DMS_SESSION_NOTICE_MAILBOXES)
		str_append(boxes, ", ...");
	dms_time_format(c->started, started);
	dms_time_format(ioloop_time, ended);
	const char *vars[] = {
		"master", c->master, "user", c->user, "service", c->service,
		"remote_ip", c->remote_ip[0] == '\0' ? "-" : c->remote_ip,
		"session", c->session, "started", started, "ended", ended,
		"how", how, "mailboxes", str_len(boxes) == 0 ? "-" :
		str_c(boxes), "read", dec2str(c->messages_read),
		"changed", dec2str(c->messages_changed),
		"reason", c->grant_reason[0] != '\0' ? c->grant_reason :
		"none given (the master has standing access)", NULL
	};
	dms_session_notice_send(c->user, c->session, vars);
}

/* Sum what a mailbox record says, for the finished record's totals. */
static void
dms_session_count(struct dms_session_conn *c, const char *const *kv)
{
	static const char *const changes[] = {
		"appended", "copied", "expunged", "flags_changed",
		"metadata_changed", "created", "deleted", "renamed",
		"subscribed", "unsubscribed", NULL
	};
	uint64_t n;

	const char *mailbox = NULL;
	bool opened = FALSE;

	for (; kv[0] != NULL && kv[1] != NULL; kv += 2) {
		if (strcmp(kv[0], "mailbox") == 0)
			mailbox = kv[1];
		else if (strcmp(kv[0], "access") == 0)
			opened = strcmp(kv[1], "select") == 0 ||
				strcmp(kv[1], "examine") == 0;
		if (str_to_uint64(kv[1], &n) < 0 || n == 0)
			continue;
		if (strcmp(kv[0], "read") == 0) {
			c->messages_read += n;
		} else if (str_array_find(changes, kv[0])) {
			c->messages_changed += n;
			opened = TRUE;
		}
	}
	if (mailbox != NULL && opened && c->notify)
		dms_session_mailbox_add(c, mailbox);
}

static void dms_session_finish(struct dms_session_conn *c, const char *how)
{
	const char *error;

	if (c->session == NULL || c->ended)
		return;
	c->ended = TRUE;
	ARRAY_TYPE(const_string) kv;
	const char *value;

	t_array_init(&kv, 12);
#define ADD(k, v) STMT_START { const char *_k = (k), *_v = (v); \
	array_push_back(&kv, &_k); array_push_back(&kv, &_v); } STMT_END
	ADD("how", c->end_how != NULL ? c->end_how : how);
	if (c->end_reason != NULL)
		ADD("reason", c->end_reason);
	value = dec2str(ioloop_time - c->started);
	ADD("seconds", value);
	value = dec2str(c->messages_read);
	ADD("messages_read", value);
	value = dec2str(c->messages_changed);
	ADD("messages_changed", value);
	if (c->bytes_out > 0) {
		value = dec2str(c->bytes_out);
		ADD("bytes_out", value);
	}
#undef ADD
	array_append_zero(&kv);
	if (dms_session_record(c, "dms_master_session_finished",
			       array_front(&kv), &error) < 0) {
		e_error(c->conn.event, "finished record: %s", error);
	}
	dms_session_notice(c, c->end_how != NULL ? c->end_how : how);
}

static int
dms_session_start(struct dms_session_conn *c, const char *const *args)
{
	const char *error;

	if (c->session != NULL || str_array_length(args) != 15) {
		e_error(c->conn.event, "Invalid START");
		return -1;
	}
	c->session = i_strdup(args[1]);
	c->master = i_strdup(args[2]);
	c->user = i_strdup(args[3]);
	c->service = i_strdup(args[4]);
	c->remote_ip = i_strdup(args[5]);
	c->read_only = strcmp(args[7], "yes") == 0;
	c->store = i_strdup(args[8]);
	c->site = i_strdup(args[9]);
	c->local_ip = i_strdup(args[11]);
	c->grant = i_strdup(args[13]);
	c->grant_reason = i_strdup(args[14]);
	if (str_to_uint(args[12], &c->local_port) < 0) {
		e_error(c->conn.event, "Invalid START: LOCAL_PORT %s",
			args[12]);
		return -1;
	}
	/* the master's dms_notify_owner, else the site's -n */
	c->notify = strcmp(args[10], "yes") == 0 ||
		(notify_all && strcmp(args[10], "no") != 0);
	if (c->notify && !notices) {
		e_warning(c->conn.event, "master %s has dms_notify_owner=yes, "
			  "but there is no notice template ("
			  DMS_NOTICE_TEMPLATE_DEFAULT ", or -t): no notice",
			  c->master);
		c->notify = FALSE;
	}
	c->started = ioloop_time;
	event_set_append_log_prefix(c->conn.event, t_strdup_printf(
		"session %s (master %s, user %s): ", c->session, c->master,
		c->user));
	const char *kv[] = {
		"level", args[6], "read_only", args[7],
		args[13][0] == '\0' ? NULL : "grant", args[13],
		"grant_reason", args[14], NULL
	};
	if (dms_session_record(c, "dms_master_session_started", kv,
			       &error) < 0) {
		e_error(c->conn.event, "Invalid START: %s", error);
		return -1;
	}
	/* the session goes on only once its start is on record */
	if (dms_session_write() < 0) {
		o_stream_nsend_str(c->conn.output,
				   "FAIL\taudit file not writable\n");
		c->ended = TRUE;
		return 1;
	}
	e_debug(c->conn.event, "started");
	o_stream_nsend_str(c->conn.output, "OK\n");
	return 1;
}

static int
dms_session_plugin_input(struct dms_session_conn *c, const char *const *args)
{
	const char *error;

	if (strcmp(args[0], "START") == 0)
		return dms_session_start(c, args);
	if (c->session == NULL || c->ended) {
		e_error(c->conn.event, "%s before START", args[0]);
		return -1;
	}
	if (strcmp(args[0], "REC") == 0 && args[1] != NULL) {
		if (strcmp(args[1], "dms_master_session_started") == 0 ||
		    strcmp(args[1], "dms_master_session_finished") == 0 ||
		    dms_session_record(c, args[1], args + 2, &error) < 0) {
			e_error(c->conn.event, "Invalid record %s: %s",
				args[1], error);
			return -1;
		}
		if (strcmp(args[1], "dms_master_session_mailbox") == 0)
			dms_session_count(c, args + 2);
		return 1;
	}
	if (strcmp(args[0], "END") == 0 && args[1] != NULL) {
		static const char *const client_ends[] = {
			"logout", "disconnect", "ended", NULL
		};

		uint64_t bytes;

		if (!str_array_find(client_ends, args[1]) || args[2] == NULL ||
		    str_to_uint64(args[2], &bytes) < 0 ||
		    (args[3] != NULL &&
		     strlen(args[3]) > DMS_SESSION_VALUE_MAX)) {
			e_error(c->conn.event, "Invalid END");
			return -1;
		}
		c->bytes_out = bytes;
		if (c->end_reason == NULL && args[3] != NULL)
			c->end_reason = i_strdup(args[3]);
		dms_session_finish(c, args[1]);
		return 1;
	}
	e_error(c->conn.event, "Unknown command %s", args[0]);
	return -1;
}

static void dms_session_kill(struct dms_session_conn *c)
{
	timeout_remove(&c->to_kill);
	e_warning(c->conn.event, "mail process %ld still running %u ms "
		  "after being told to end the session: sending SIGTERM",
		  (long)c->conn.remote_pid, DMS_SESSION_KICK_GRACE_MSECS);
	if (c->conn.remote_pid > 0 && kill(c->conn.remote_pid, SIGTERM) < 0 &&
	    errno != ESRCH)
		e_error(c->conn.event, "kill(%ld) failed: %m",
			(long)c->conn.remote_pid);
}

/* Tell C's mail process to end the session; it is then ended by force
   if it has not ended within the grace time. */
static void
dms_session_end(struct dms_session_conn *c, const char *how,
		const char *reason)
{
	if (c->session == NULL || c->ended || c->end_how != NULL)
		return;
	c->end_how = how;
	c->end_reason = i_strdup(reason);
	e_info(c->conn.event, "ending the session: %s (%s)", how, reason);
	o_stream_nsend_str(c->conn.output, t_strdup_printf(
		"KICK\t%s\t%s\n", how, str_tabescape(reason)));
	c->to_kill = timeout_add(DMS_SESSION_KICK_GRACE_MSECS,
				 dms_session_kill, c);
}

static uint64_t monotonic_msec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Every open session's master, checked again: the sessions that the
   store no longer allows end, as revoked, with the rule that refuses
   them. */
static void dms_session_check_all(void *context ATTR_UNUSED)
{
	struct connection *conn;
	const char *reason;

	for (conn = plugin_conns->connections; conn != NULL;
	     conn = conn->next) {
		struct dms_session_conn *c =
			container_of(conn, struct dms_session_conn, conn);
		struct dms_session_subject subject = {
			.master = c->master,
			.user = c->user,
			.service = c->service,
			.store = c->store,
			.site = c->site,
			.local_ip = c->local_ip,
			.local_port = c->local_port,
			.read_only = c->read_only,
		};

		if (c->session == NULL || c->ended || c->end_how != NULL)
			continue;
		if (dms_session_check(checker, &subject, ioloop_time,
				      monotonic_msec(), &reason) == 0)
			dms_session_end(c, "revoked", reason);
	}
}

static int
dms_session_admin_input(struct dms_session_conn *c, const char *const *args)
{
	struct connection *conn;
	unsigned int count = 0;

	if (strcmp(args[0], "KICK") != 0 || args[1] == NULL ||
	    args[2] != NULL) {
		e_error(c->conn.event, "Invalid admin command");
		return -1;
	}
	for (conn = plugin_conns->connections; conn != NULL;
	     conn = conn->next) {
		struct dms_session_conn *p =
			container_of(conn, struct dms_session_conn, conn);

		if (p->master != NULL && strcmp(p->master, args[1]) == 0 &&
		    !p->ended && p->end_how == NULL) {
			dms_session_end(p, "kicked",
					"setup dovecot-master kick");
			count++;
		}
	}
	e_info(dms_session_event, "kick %s: %u sessions told to end",
	       args[1], count);
	o_stream_nsend_str(c->conn.output,
			   t_strdup_printf("OK\t%u\n", count));
	return 1;
}

static int
dms_session_input_args(struct connection *conn, const char *const *args)
{
	struct dms_session_conn *c =
		container_of(conn, struct dms_session_conn, conn);

	if (args[0] == NULL) {
		e_error(conn->event, "Empty line");
		return -1;
	}
	return c->admin ? dms_session_admin_input(c, args) :
		dms_session_plugin_input(c, args);
}

static void dms_session_destroy(struct connection *conn)
{
	struct dms_session_conn *c =
		container_of(conn, struct dms_session_conn, conn);

	/* a session that did not say how it ended: its mail process was
	   killed or crashed (or this side ended it) */
	dms_session_finish(c, "lost");
	timeout_remove(&c->to_kill);
	connection_deinit(conn);
	i_free(c->session);
	i_free(c->master);
	i_free(c->user);
	i_free(c->service);
	i_free(c->remote_ip);
	i_free(c->store);
	i_free(c->site);
	i_free(c->local_ip);
	i_free(c->grant);
	i_free(c->grant_reason);
	i_free(c->end_reason);
	char *name;
	array_foreach_elem(&c->mailboxes, name)
		i_free(name);
	array_free(&c->mailboxes);
	i_free(c);
	master_service_client_connection_destroyed(master_service);
}

static const struct connection_vfuncs dms_session_vfuncs = {
	.input_args = dms_session_input_args,
	.destroy = dms_session_destroy,
};

static const struct connection_settings dms_session_plugin_set = {
	.service_name_in = "dms-session-client",
	.service_name_out = "dms-session",
	.major_version = 1,
	.minor_version = 0,
	.input_max_size = 16384,
	.output_max_size = SIZE_MAX,
};

static const struct connection_settings dms_session_admin_set = {
	.service_name_in = "dms-session-admin-client",
	.service_name_out = "dms-session-admin",
	.major_version = 1,
	.minor_version = 0,
	.input_max_size = 1024,
	.output_max_size = SIZE_MAX,
};

static void client_connected(struct master_service_connection *master_conn)
{
	struct dms_session_conn *c = i_new(struct dms_session_conn, 1);
	bool admin = strcmp(master_conn->name,
			    DMS_SESSION_ADMIN_LISTENER) == 0;

	c->admin = admin;
	i_array_init(&c->mailboxes, 8);
	master_service_client_connection_accept(master_conn);
	connection_init_server(admin ? admin_conns : plugin_conns, &c->conn,
			       master_conn->name, master_conn->fd,
			       master_conn->fd);
	event_add_category(c->conn.event, &dms_session_category);
}

static void dms_session_trust(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL)
		i_fatal("-u %s: no such user", user);
	audit_trust.uid = pw->pw_uid;
	audit_trust.gid = pw->pw_gid;
}

int main(int argc, char *argv[])
{
	struct dms_session_notice_settings notice_set = {
		.template_path = DMS_NOTICE_TEMPLATE_DEFAULT,
		.from = "postmaster",
		.sendmail_path = "/usr/sbin/sendmail",
		.doveadm_path = "/usr/bin/doveadm",
	};
	const char *trusted_user = "dovecot";
	bool template_given = FALSE;
	int c;

	master_service = master_service_init("dms-session", 0, &argc, &argv,
					     "u:nt:r:f:s:a:");
	while ((c = master_getopt(master_service)) > 0) {
		switch (c) {
		case 'u':
			trusted_user = optarg;
			break;
		case 'n':
			notify_all = TRUE;
			break;
		case 't':
			notice_set.template_path = optarg;
			template_given = TRUE;
			break;
		case 'r':
			notice_set.reviewer = optarg;
			break;
		case 'f':
			notice_set.from = optarg;
			break;
		case 's':
			notice_set.sendmail_path = optarg;
			break;
		case 'a':
			notice_set.doveadm_path = optarg;
			break;
		default:
			return FATAL_DEFAULT;
		}
	}
	argv += optind;
	/* Dovecot 2.4 splits the executable line at each blank: two in a
	   row make an empty argument */
	while (argv[0] != NULL && argv[0][0] == '\0')
		argv++;
	if (argv[0] != NULL) {
		audit_file = *argv++;
		while (argv[0] != NULL && argv[0][0] == '\0')
			argv++;
		if (audit_file[0] != '/' || argv[0] != NULL)
			i_fatal("Usage: dms-session [-u AUTH_USER] [-n] "
				"[-t TEMPLATE] [-r REVIEWER] [-f FROM] "
				"[-s SENDMAIL] [-a DOVEADM] "
				"[/ABSOLUTE/AUDIT_FILE]");
	}
	master_service_init_log(master_service);
	dms_session_event = event_create(NULL);
	event_add_category(dms_session_event, &dms_session_category);
	restrict_access_by_env(RESTRICT_ACCESS_FLAG_ALLOW_ROOT, NULL);
	restrict_access_allow_coredumps(TRUE);
	dms_session_trust(trusted_user);
	/* notices are on when they may be wanted: for every master (-n), or
	   for masters with dms_notify_owner=yes when the template exists */
	if (notify_all || template_given || notice_set.reviewer != NULL ||
	    access(notice_set.template_path, F_OK) == 0) {
		dms_session_notice_init(&notice_set);
		notices = TRUE;
	}

	pending = str_new(default_pool, 4096);
	if ((checker = dms_session_checker_new(&audit_trust)) == NULL)
		i_fatal_status(FATAL_OUTOFMEM, "Out of memory");
	to_check = timeout_add(DMS_SESSION_CHECK_MSECS,
			       dms_session_check_all, NULL);
	plugin_conns = connection_list_init(&dms_session_plugin_set,
					    &dms_session_vfuncs);
	admin_conns = connection_list_init(&dms_session_admin_set,
					   &dms_session_vfuncs);
	master_service_init_finish(master_service);
	master_service_run(master_service, client_connected);

	/* sessions still open are written as lost */
	connection_list_deinit(&plugin_conns);
	connection_list_deinit(&admin_conns);
	(void)dms_session_write();
	timeout_remove(&to_check);
	dms_session_checker_free(&checker);
	if (notices)
		dms_session_notice_deinit();
	str_free(&pending);
	event_unref(&dms_session_event);
	master_service_deinit(&master_service);
	return 0;
}
