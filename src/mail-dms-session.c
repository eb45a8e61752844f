/* lib20_dms_session_plugin.so: the session record of master sessions.

   Loaded only in master sessions: the dms_master userdb adds it (with the
   notify plugin it builds on) to the session's mail_plugins and sets
   dms_session_master to the master's name. Ordinary users' sessions do
   not load it and pay nothing.

   What the session does is counted per mailbox and sent to the
   dms-session service (src/service-dms-session.c), which owns the audit file: at
   least every dms_session_flush_interval (60 s at most) and at the end.
   With dms_session_record = messages, each message read or changed is
   also sent as it happens, with its UID, Message-ID and INTERNALDATE
   (never the subject or the content). A session whose start the service cannot
   record is refused, and a session the service tells to end (kick,
   revocation) or loses contact with ends: the mail process stops, as
   doveadm kick would end it.

   What counts:
   - access: select or examine (the mailbox was read in full for the
     client: SELECT, EXAMINE, POP3's INBOX), status (STATUS, LIST-STATUS),
     list (its name was listed);
   - read: a message's body or header handed out (IMAP BODY[...],
     RFC822*, ENVELOPE; POP3 RETR, TOP), counted once per message and
     session; what a search looks at is not a read, the search is
     counted (searches: those with a key beyond message sets and ALL);
   - changes, once committed (the notify plugin): appended, copied (into
     the mailbox; a MOVE is a copy here and an expunge in its source),
     expunged, flags_changed, and mailbox created, deleted, renamed,
     subscribed, unsubscribed; metadata_changed (mailbox attributes). */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "ioloop.h"
#include "istream.h"
#include "ostream.h"
#include "net.h"
#include "str.h"
#include "strescape.h"
#include "seq-range-array.h"
#include "time-util.h"
#include "message-size.h"
#include "write-full.h"
#include "master-service.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mailbox-list-private.h"
#include "mail-search.h"
#include "notify-plugin.h"
#ifdef DMS_DOVECOT_24
#  include "settings.h"
#  include "mail-dms-session-settings.h"
#  include "mail-dms-read-only-settings.h"
#else
#  include "settings-parser.h"
#endif

#include <poll.h>
#include <sys/time.h>

#define DMS_SESSION_SOCKET "dms-session"
#define DMS_SESSION_HANDSHAKE "VERSION\tdms-session-client\t1\t0\n"
/* how long a session's start waits for the service's answer */
#define DMS_SESSION_START_TIMEOUT_MSECS 10000
#define DMS_SESSION_FLUSH_MAX 60

#define DMS_SESSION_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_session_user_module)
#define DMS_SESSION_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_session_storage_module)
#define DMS_SESSION_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_session_mail_module)
#define DMS_SESSION_LIST_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_session_mailbox_list_module)

enum dms_session_access {
	DMS_ACCESS_NONE = 0,
	DMS_ACCESS_LIST,
	DMS_ACCESS_STATUS,
	DMS_ACCESS_EXAMINE,
	DMS_ACCESS_SELECT,
};
static const char *const dms_access_names[] = {
	"none", "list", "status", "examine", "select"
};

/* The counters of one mailbox's record. */
enum dms_counter {
	DMS_READ, DMS_BYTES, DMS_SEARCHES, DMS_APPENDED, DMS_COPIED,
	DMS_EXPUNGED, DMS_FLAGS_CHANGED, DMS_METADATA_CHANGED, DMS_CREATED,
	DMS_DELETED, DMS_RENAMED, DMS_SUBSCRIBED, DMS_UNSUBSCRIBED,
	DMS_COUNTER_COUNT
};
static const char *const dms_counter_names[DMS_COUNTER_COUNT] = {
	"read", "bytes", "searches", "appended", "copied", "expunged",
	"flags_changed", "metadata_changed", "created", "deleted",
	"renamed", "subscribed", "unsubscribed",
};

struct dms_session_mailbox {
	char *vname;
	enum dms_session_access access;
	uint64_t counters[DMS_COUNTER_COUNT];
	/* renamed: the new name */
	char *renamed_to;
	/* messages read this session, by UID: a message counts once */
	ARRAY_TYPE(seq_range) read_uids;
	ARRAY_TYPE(seq_range) header_uids, body_uids;
	/* something to send at the next flush */
	bool dirty;
};

struct dms_session_user {
	union mail_user_module_context module_ctx;
	struct mail_user *user;

	const char *master;
	bool messages_level;
	unsigned int flush_interval;

	int fd;
	struct istream *input;
	struct ostream *output;
	struct io *io;
	struct timeout *to_flush;

	pool_t pool;
	HASH_TABLE(const char *, struct dms_session_mailbox *) mailboxes;

	/* > 0 while a search looks at messages, or this plugin reads a
	   header itself: no read counted then */
	unsigned int not_a_read;
	/* the session's totals, for the finished event */
	uint64_t messages_read, messages_changed;
	/* how the service ended the session (kicked, revoked), or why it
	   could not go on; NULL: the client's own end */
	const char *end_how;
	bool ending;
};

struct dms_session_mail {
	union mail_module_context module_ctx;
};

const char *dms_session_plugin_version = DOVECOT_ABI_VERSION;
const char *dms_session_plugin_dependencies[] = { "notify", NULL };

void dms_session_plugin_init(struct module *module);
void dms_session_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(dms_session_user_module,
				  &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(dms_session_storage_module,
				  &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(dms_session_mail_module,
				  &mail_module_register);
static MODULE_CONTEXT_DEFINE_INIT(dms_session_mailbox_list_module,
				  &mailbox_list_module_register);

static struct notify_context *dms_session_notify_ctx;

/* How the client ended its session. Dovecot's imap and pop3 (2.3 and
   2.4) log "Disconnected: REASON STATS" just before they deinitialize
   the session's user, REASON "Logged out" for LOGOUT and QUIT: the info
   handler is wrapped to see that line, and passes it on unchanged. */
#define DMS_SESSION_DISCONNECTED_FORMAT "Disconnected: %s %s"
static failure_callback_t *dms_session_prev_info_handler;
static char *dms_session_disconnect_reason, *dms_session_disconnect_stats;

/* The session's record, also for the users Dovecot makes inside it for
   shared mailboxes (whose creator is the session's user). */
static struct dms_session_user *dms_suser(struct mail_user *user)
{
	struct dms_session_user *suser = DMS_SESSION_USER_CONTEXT(user);

	if (suser == NULL && user->creator != NULL)
		suser = DMS_SESSION_USER_CONTEXT(user->creator);
	return suser;
}

static struct dms_session_mailbox *
dms_session_mailbox_get(struct dms_session_user *suser, const char *vname)
{
	struct dms_session_mailbox *mbox;

	mbox = hash_table_lookup(suser->mailboxes, vname);
	if (mbox == NULL) {
		mbox = p_new(suser->pool, struct dms_session_mailbox, 1);
		mbox->vname = p_strdup(suser->pool, vname);
		p_array_init(&mbox->read_uids, suser->pool, 16);
		p_array_init(&mbox->header_uids, suser->pool, 16);
		p_array_init(&mbox->body_uids, suser->pool, 16);
		hash_table_insert(suser->mailboxes,
				  (const char *)mbox->vname, mbox);
	}
	return mbox;
}

static struct dms_session_mailbox *
dms_session_box(struct mailbox *box, struct dms_session_user **suser_r)
{
	struct dms_session_user *suser = dms_suser(box->storage->user);

	*suser_r = suser;
	if (suser == NULL || suser->ending)
		return NULL;
	/* Dovecot's own internal opens, not the client's */
	if ((box->flags & MAILBOX_FLAG_IGNORE_ACLS) != 0)
		return NULL;
	return dms_session_mailbox_get(suser, mailbox_get_vname(box));
}

static void
dms_session_access(struct dms_session_mailbox *mbox,
		   enum dms_session_access access)
{
	if (mbox->access < access) {
		mbox->access = access;
		mbox->dirty = TRUE;
	}
}

static void
dms_session_count(struct dms_session_user *suser,
		  struct dms_session_mailbox *mbox, enum dms_counter counter,
		  uint64_t n)
{
	mbox->counters[counter] += n;
	mbox->dirty = TRUE;
	if (counter == DMS_READ)
		suser->messages_read += n;
	else if (counter != DMS_BYTES && counter != DMS_SEARCHES)
		suser->messages_changed += n;
}

/* -- sending ------------------------------------------------------------ */

static void dms_session_send(struct dms_session_user *suser,
			     const char *const *fields)
{
	string_t *line = t_str_new(256);

	if (suser->output == NULL)
		return;
	for (; *fields != NULL; fields++) {
		if (str_len(line) > 0)
			str_append_c(line, '\t');
		str_append_tabescaped(line, *fields);
	}
	str_append_c(line, '\n');
	o_stream_nsend(suser->output, str_data(line), str_len(line));
}

static void
dms_session_send_mailbox(struct dms_session_user *suser,
			 struct dms_session_mailbox *mbox)
{
	ARRAY_TYPE(const_string) fields;
	struct event_passthrough *e;
	const char *value;

	t_array_init(&fields, 40);
	e = event_create_passthrough(suser->user->event)->
		set_name("dms_master_session_mailbox")->
		add_str("master", suser->master)->
		add_str("mailbox", mbox->vname)->
		add_str("access", dms_access_names[mbox->access]);
#define ADD(v) STMT_START { const char *_v = (v); \
	array_push_back(&fields, &_v); } STMT_END
	ADD("REC");
	ADD("dms_master_session_mailbox");
	ADD("mailbox");
	ADD(mbox->vname);
	ADD("access");
	ADD(dms_access_names[mbox->access]);
	for (unsigned int i = 0; i < DMS_COUNTER_COUNT; i++) {
		if (mbox->counters[i] == 0)
			continue;
		value = dec2str(mbox->counters[i]);
		ADD(dms_counter_names[i]);
		ADD(value);
		e->add_int(dms_counter_names[i], mbox->counters[i]);
	}
	if (mbox->renamed_to != NULL) {
		ADD("renamed_to");
		ADD(mbox->renamed_to);
		e->add_str("renamed_to", mbox->renamed_to);
	}
#undef ADD
	array_append_zero(&fields);
	dms_session_send(suser, array_front(&fields));
	e_debug(e->event(), "dms_session: mailbox %s: %s", mbox->vname,
		dms_access_names[mbox->access]);
	memset(mbox->counters, 0, sizeof(mbox->counters));
	mbox->renamed_to = NULL;
	mbox->dirty = FALSE;
}

static void dms_session_flush(struct dms_session_user *suser)
{
	struct hash_iterate_context *iter;
	const char *vname;
	struct dms_session_mailbox *mbox;

	iter = hash_table_iterate_init(suser->mailboxes);
	while (hash_table_iterate(iter, suser->mailboxes, &vname, &mbox)) {
		if (mbox->dirty) T_BEGIN {
			dms_session_send_mailbox(suser, mbox);
		} T_END;
	}
	hash_table_iterate_deinit(&iter);
	if (suser->output != NULL)
		(void)o_stream_flush(suser->output);
}

/* Messages level: the record of one message read or changed, as a
   line for the service, and the same as a Dovecot event. TO: the mailbox
   a copy went to. NAME_IT: with its Message-ID and INTERNALDATE (looked
   up here), else by UID alone. */
static const char *
dms_session_message_line(struct dms_session_user *suser, struct mail *mail,
			 const char *action, const char *to, bool name_it)
{
	const char *message_id = NULL, *date = NULL;
	string_t *line = t_str_new(256);
	struct tm *tm;
	time_t received;

	if (!name_it)
		goto format;
	/* these lookups are this plugin's own, not the client's reads */
	suser->not_a_read++;
	if (mail_get_first_header(mail, "Message-ID", &message_id) <= 0)
		message_id = NULL;
	else
		message_id = t_strcut(message_id, '\n');
	/* the INTERNALDATE, which the index keeps: the Date: header would
	   mean reading the message again */
	if (mail_get_received_date(mail, &received) == 0 && received > 0 &&
	    (tm = gmtime(&received)) != NULL) {
		date = t_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02dZ",
				       tm->tm_year + 1900, tm->tm_mon + 1,
				       tm->tm_mday, tm->tm_hour, tm->tm_min,
				       tm->tm_sec);
	}
	suser->not_a_read--;
format:
	str_append(line, "REC\tdms_master_session_message\tmailbox\t");
	str_append_tabescaped(line, mailbox_get_vname(mail->box));
	if (mail->uid != 0)
		str_printfa(line, "\tuid\t%u", mail->uid);
	str_printfa(line, "\taction\t%s", action);
	if (to != NULL) {
		str_append(line, "\tto_mailbox\t");
		str_append_tabescaped(line, to);
	}
	if (message_id != NULL) {
		str_append(line, "\tmessage_id\t");
		str_append_tabescaped(line, message_id);
	}
	if (date != NULL)
		str_printfa(line, "\tdate\t%s", date);
	str_append_c(line, '\n');

	e_debug(event_create_passthrough(suser->user->event)->
		set_name("dms_master_session_message")->
		add_str("master", suser->master)->
		add_str("mailbox", mailbox_get_vname(mail->box))->
		add_int("uid", mail->uid)->add_str("action", action)->
		add_str("to_mailbox", to)->
		add_str("message_id", message_id)->add_str("date", date)->
		event(), "dms_session: %s uid %u", action, mail->uid);
	return str_c(line);
}

/* -- reads ---------------------------------------------------------------- */

/* Before a read is handed out: at the messages level, the record of
   MAIL's first read of this kind (header or body). The first record of a
   message in the session names it by Message-ID and INTERNALDATE, looked
   up now, while the mail is not in the middle of parsing its header
   (afterwards Dovecot's header parser may still be running on it), from
   what the read is about to load anyway; a later one (its body after its
   header) by UID alone, which joins it to the first. NULL: nothing to
   record. */
static const char *dms_session_read_begin(struct mail *mail, bool body)
{
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(mail->box, &suser);

	if (mbox == NULL || suser->not_a_read > 0 || mail->uid == 0 ||
	    !suser->messages_level || suser->output == NULL ||
	    seq_range_exists(body ? &mbox->body_uids : &mbox->header_uids,
			     mail->uid))
		return NULL;
	/* named once: a message already read in the session by UID */
	return dms_session_message_line(suser, mail, body ? "read_body" :
					"read_header", NULL,
					!seq_range_exists(&mbox->read_uids,
							  mail->uid));
}

/* A read handed out: counted once per message and session; LINE from
   dms_session_read_begin() sent. */
static void dms_session_read(struct mail *mail, bool body, uoff_t bytes,
			     const char *line)
{
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(mail->box, &suser);

	if (mbox == NULL || suser->not_a_read > 0 || mail->uid == 0)
		return;
	if (bytes > 0)
		dms_session_count(suser, mbox, DMS_BYTES, bytes);
	if (!seq_range_array_add(&mbox->read_uids, mail->uid))
		dms_session_count(suser, mbox, DMS_READ, 1);
	if (!seq_range_array_add(body ? &mbox->body_uids :
				 &mbox->header_uids, mail->uid) &&
	    line != NULL && suser->output != NULL)
		o_stream_nsend_str(suser->output, line);
}

/* The wrappers below hand a message's data to the caller. Dovecot's own
   lookups call them again inside (a header parsed from the whole stream,
   a size counted by reading it): only the outermost call is the caller's
   read, so each raises not_a_read around the call beneath it. */
static struct dms_session_user *dms_session_mail_user(struct mail *mail)
{
	return dms_suser(mail->box->storage->user);
}

static int
dms_session_get_stream(struct mail *_mail, bool get_body,
		       struct message_size *hdr_size,
		       struct message_size *body_size,
		       struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *smail = DMS_SESSION_MAIL_CONTEXT(mail);
	struct dms_session_user *suser = dms_session_mail_user(_mail);
	const char *line = dms_session_read_begin(_mail, get_body);
	uoff_t bytes = 0;
	int ret;

	suser->not_a_read++;
	/* the caller's size pointers as they are: asking for sizes it did
	   not ask for would make Dovecot count the whole message */
	ret = smail->super.get_stream(_mail, get_body, hdr_size, body_size,
				      stream_r);
	if (ret == 0 && get_body &&
	    i_stream_get_size(*stream_r, TRUE, &bytes) <= 0) {
		/* the bytes handed out: the message's size as its stream
		   knows it, without reading it (else none counted) */
		bytes = 0;
	}
	suser->not_a_read--;
	if (ret < 0)
		return -1;
	dms_session_read(_mail, get_body, bytes, line);
	return 0;
}

static int
dms_session_get_header_stream(struct mail *_mail,
			      struct mailbox_header_lookup_ctx *headers,
			      struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *smail = DMS_SESSION_MAIL_CONTEXT(mail);
	struct dms_session_user *suser = dms_session_mail_user(_mail);
	const char *line = dms_session_read_begin(_mail, FALSE);
	int ret;

	suser->not_a_read++;
	ret = smail->super.get_header_stream(_mail, headers, stream_r);
	suser->not_a_read--;
	if (ret < 0)
		return -1;
	dms_session_read(_mail, FALSE, 0, line);
	return 0;
}

static int
dms_session_get_special(struct mail *_mail, enum mail_fetch_field field,
			const char **value_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	union mail_module_context *smail = DMS_SESSION_MAIL_CONTEXT(mail);
	struct dms_session_user *suser = dms_session_mail_user(_mail);
	/* the envelope is the header's From, To, Subject, ...; the body's
	   structure, the GUID and the like are not content */
	bool envelope = field == MAIL_FETCH_IMAP_ENVELOPE;
	const char *line = envelope ?
		dms_session_read_begin(_mail, FALSE) : NULL;
	int ret;

	suser->not_a_read++;
	ret = smail->super.get_special(_mail, field, value_r);
	suser->not_a_read--;
	if (ret < 0)
		return -1;
	if (envelope)
		dms_session_read(_mail, FALSE, 0, line);
	return 0;
}

/* Lookups whose answer is not the message's content (sizes, dates, the
   MIME structure, single header values Dovecot or a plugin wants): what
   they read to answer is not a read. */
#define DMS_SESSION_NOT_A_READ(name, params, args) \
static int dms_session_##name params \
{ \
	struct mail_private *mail = (struct mail_private *)_mail; \
	union mail_module_context *smail = DMS_SESSION_MAIL_CONTEXT(mail); \
	struct dms_session_user *suser = dms_session_mail_user(_mail); \
	int ret; \
\
	suser->not_a_read++; \
	ret = smail->super.name args; \
	suser->not_a_read--; \
	return ret; \
}
DMS_SESSION_NOT_A_READ(get_parts,
		       (struct mail *_mail, struct message_part **parts_r),
		       (_mail, parts_r))
DMS_SESSION_NOT_A_READ(get_date,
		       (struct mail *_mail, time_t *date_r, int *tz_r),
		       (_mail, date_r, tz_r))
DMS_SESSION_NOT_A_READ(get_virtual_size,
		       (struct mail *_mail, uoff_t *size_r), (_mail, size_r))
DMS_SESSION_NOT_A_READ(get_physical_size,
		       (struct mail *_mail, uoff_t *size_r), (_mail, size_r))
DMS_SESSION_NOT_A_READ(get_first_header,
		       (struct mail *_mail, const char *field, bool decode,
			const char **value_r),
		       (_mail, field, decode, value_r))
DMS_SESSION_NOT_A_READ(get_headers,
		       (struct mail *_mail, const char *field, bool decode,
			const char *const **value_r),
		       (_mail, field, decode, value_r))

static void dms_session_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	union mail_module_context *smail;

	if (dms_suser(_mail->box->storage->user) == NULL)
		return;
	smail = p_new(mail->pool, union mail_module_context, 1);
	smail->super = *v;
	mail->vlast = &smail->super;
	v->get_stream = dms_session_get_stream;
	v->get_header_stream = dms_session_get_header_stream;
	v->get_special = dms_session_get_special;
	v->get_parts = dms_session_get_parts;
	v->get_date = dms_session_get_date;
	v->get_virtual_size = dms_session_get_virtual_size;
	v->get_physical_size = dms_session_get_physical_size;
	v->get_first_header = dms_session_get_first_header;
	v->get_headers = dms_session_get_headers;
	MODULE_CONTEXT_SET_SELF(mail, dms_session_mail_module, smail);
}

/* -- mailboxes ------------------------------------------------------------ */

static struct mailbox_sync_context *
dms_session_sync_init(struct mailbox *box, enum mailbox_sync_flags flags)
{
	union mailbox_module_context *sbox = DMS_SESSION_CONTEXT(box);
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(box, &suser);

	/* a full read is how IMAP SELECT/EXAMINE and POP3 open a mailbox
	   for the client; STATUS and COPY's destination do not */
	if (mbox != NULL && (flags & MAILBOX_SYNC_FLAG_FULL_READ) != 0) {
		dms_session_access(mbox,
			(box->flags & MAILBOX_FLAG_READONLY) != 0 ?
			DMS_ACCESS_EXAMINE : DMS_ACCESS_SELECT);
	}
	return sbox->super.sync_init(box, flags);
}

static int
dms_session_get_status(struct mailbox *box, enum mailbox_status_items items,
		       struct mailbox_status *status_r)
{
	union mailbox_module_context *sbox = DMS_SESSION_CONTEXT(box);
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(box, &suser);

	if (mbox != NULL)
		dms_session_access(mbox, DMS_ACCESS_STATUS);
	return sbox->super.get_status(box, items, status_r);
}

/* A search the client asked for: a key beyond message sets and ALL
   (FETCH, STORE and COPY search their message sets; POP3 ALL). */
static bool dms_session_search_is_query(const struct mail_search_arg *arg)
{
	for (; arg != NULL; arg = arg->next) {
		if (arg->type != SEARCH_SEQSET && arg->type != SEARCH_UIDSET &&
		    arg->type != SEARCH_ALL)
			return TRUE;
	}
	return FALSE;
}

static struct mail_search_context *
dms_session_search_init(struct mailbox_transaction_context *t,
			struct mail_search_args *args,
			const enum mail_sort_type *sort_program,
			enum mail_fetch_field wanted_fields,
			struct mailbox_header_lookup_ctx *wanted_headers)
{
	union mailbox_module_context *sbox = DMS_SESSION_CONTEXT(t->box);
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(t->box, &suser);

	if (mbox != NULL && dms_session_search_is_query(args->args))
		dms_session_count(suser, mbox, DMS_SEARCHES, 1);
	return sbox->super.search_init(t, args, sort_program, wanted_fields,
				       wanted_headers);
}

static bool
dms_session_search_next_nonblock(struct mail_search_context *ctx,
				 struct mail **mail_r, bool *tryagain_r)
{
	struct mailbox *box = ctx->transaction->box;
	union mailbox_module_context *sbox = DMS_SESSION_CONTEXT(box);
	struct dms_session_user *suser = dms_suser(box->storage->user);
	bool ret;

	/* what the search looks at to match is not handed out */
	suser->not_a_read++;
	ret = sbox->super.search_next_nonblock(ctx, mail_r, tryagain_r);
	suser->not_a_read--;
	return ret;
}

static int
dms_session_attribute_set(struct mailbox_transaction_context *t,
			  enum mail_attribute_type type, const char *key,
			  const struct mail_attribute_value *value)
{
	union mailbox_module_context *sbox = DMS_SESSION_CONTEXT(t->box);
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(t->box, &suser);

	if (sbox->super.attribute_set(t, type, key, value) < 0)
		return -1;
	if (mbox != NULL)
		dms_session_count(suser, mbox, DMS_METADATA_CHANGED, 1);
	return 0;
}

static void dms_session_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	union mailbox_module_context *sbox;

	if (dms_suser(box->storage->user) == NULL)
		return;
	sbox = p_new(box->pool, union mailbox_module_context, 1);
	sbox->super = *v;
	box->vlast = &sbox->super;
	v->sync_init = dms_session_sync_init;
	v->get_status = dms_session_get_status;
	v->search_init = dms_session_search_init;
	v->search_next_nonblock = dms_session_search_next_nonblock;
	v->attribute_set = dms_session_attribute_set;
	MODULE_CONTEXT_SET_SELF(box, dms_session_storage_module, sbox);
}

static const struct mailbox_info *
dms_session_list_iter_next(struct mailbox_list_iterate_context *ctx)
{
	union mailbox_list_module_context *slist =
		DMS_SESSION_LIST_CONTEXT(ctx->list);
	struct dms_session_user *suser = dms_suser(ctx->list->ns->user);
	const struct mailbox_info *info;

	info = slist->super.iter_next(ctx);
	if (info != NULL && suser != NULL && !suser->ending &&
	    (ctx->flags & MAILBOX_LIST_ITER_RAW_LIST) == 0) {
		dms_session_access(dms_session_mailbox_get(suser,
							   info->vname),
				   DMS_ACCESS_LIST);
	}
	return info;
}

static void dms_session_mailbox_list_created(struct mailbox_list *list)
{
	struct mailbox_list_vfuncs *v = list->vlast;
	union mailbox_list_module_context *slist;

	if (dms_suser(list->ns->user) == NULL)
		return;
	slist = p_new(list->pool, union mailbox_list_module_context, 1);
	slist->super = *v;
	list->vlast = &slist->super;
	v->iter_next = dms_session_list_iter_next;
	MODULE_CONTEXT_SET_SELF(list, dms_session_mailbox_list_module, slist);
}

/* -- changes (the notify plugin: counted once committed) ------------------ */

struct dms_session_txn {
	/* NULL until a message record is kept */
	pool_t pool;
	struct mailbox *box;
	uint64_t counters[DMS_COUNTER_COUNT];
	/* messages level: what to send at commit */
	ARRAY(const char *) messages;
};

static void dms_session_txn_free(struct dms_session_txn *txn)
{
	pool_t pool = txn->pool;

	/* the messages array lives in the pool */
	if (pool != NULL)
		pool_unref(&pool);
	i_free(txn);
}

static void *
dms_session_txn_begin(struct mailbox_transaction_context *t)
{
	struct dms_session_txn *txn;

	if (dms_suser(t->box->storage->user) == NULL)
		return NULL;
	/* every FETCH has a transaction: the pool only once a message
	   record is kept for the commit */
	txn = i_new(struct dms_session_txn, 1);
	txn->box = t->box;
	return txn;
}

/* A change in TXN: counted for the transaction's mailbox at commit; at
   the messages level with MAIL's details, read now (an expunged message
   is gone at commit). */
static void
dms_session_txn_add(void *_txn, struct mail *mail, enum dms_counter counter,
		    const char *action, const char *to)
{
	struct dms_session_txn *txn = _txn;
	struct dms_session_user *suser;

	if (txn == NULL ||
	    (suser = dms_suser(txn->box->storage->user)) == NULL)
		return;
	txn->counters[counter]++;
	if (!suser->messages_level)
		return;
	if (txn->pool == NULL) {
		txn->pool = pool_alloconly_create("dms_session txn", 512);
		p_array_init(&txn->messages, txn->pool, 8);
	}
	T_BEGIN {
		const char *line = p_strdup(txn->pool,
			dms_session_message_line(suser, mail, action, to,
						 TRUE));

		array_push_back(&txn->messages, &line);
	} T_END;
}

static void dms_session_mail_save(void *txn, struct mail *mail)
{
	dms_session_txn_add(txn, mail, DMS_APPENDED, "appended", NULL);
}

/* A copy (and a MOVE's first half) is counted in the mailbox it went to,
   and recorded as the source message with the mailbox it went to: the
   copy has its UID only at commit. */
static void
dms_session_mail_copy(void *txn, struct mail *src, struct mail *dst)
{
	dms_session_txn_add(txn, src, DMS_COPIED, "copied",
			    mailbox_get_vname(dst->box));
}

static void dms_session_mail_expunge(void *txn, struct mail *mail)
{
	dms_session_txn_add(txn, mail, DMS_EXPUNGED, "expunged", NULL);
}

static void
dms_session_mail_update_flags(void *txn, struct mail *mail,
			      enum mail_flags old_flags ATTR_UNUSED)
{
	dms_session_txn_add(txn, mail, DMS_FLAGS_CHANGED, "flags_changed",
			    NULL);
}

static void
dms_session_mail_update_keywords(void *txn, struct mail *mail,
				 const char *const *old_keywords ATTR_UNUSED)
{
	dms_session_txn_add(txn, mail, DMS_FLAGS_CHANGED, "flags_changed",
			    NULL);
}

static void
dms_session_txn_commit(void *_txn,
		       struct mail_transaction_commit_changes *changes
		       ATTR_UNUSED)
{
	struct dms_session_txn *txn = _txn;
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox;

	if (txn == NULL)
		return;
	mbox = dms_session_box(txn->box, &suser);
	if (mbox != NULL) {
		for (unsigned int i = 0; i < DMS_COUNTER_COUNT; i++) {
			if (txn->counters[i] > 0)
				dms_session_count(suser, mbox, i,
						  txn->counters[i]);
		}
		if (txn->pool != NULL && suser->output != NULL) {
			const char *line;

			array_foreach_elem(&txn->messages, line)
				o_stream_nsend_str(suser->output, line);
		}
	}
	dms_session_txn_free(txn);
}

static void dms_session_txn_rollback(void *_txn)
{
	struct dms_session_txn *txn = _txn;

	if (txn != NULL)
		dms_session_txn_free(txn);
}

static void
dms_session_mailbox_op(struct mailbox *box, enum dms_counter counter)
{
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(box, &suser);

	if (mbox != NULL)
		dms_session_count(suser, mbox, counter, 1);
}

static void dms_session_mailbox_create(struct mailbox *box)
{
	dms_session_mailbox_op(box, DMS_CREATED);
}

static void *dms_session_mailbox_delete_begin(struct mailbox *box)
{
	return box;
}

static void
dms_session_mailbox_delete_commit(void *txn ATTR_UNUSED, struct mailbox *box)
{
	dms_session_mailbox_op(box, DMS_DELETED);
}

static void dms_session_mailbox_delete_rollback(void *txn ATTR_UNUSED)
{
}

static void
dms_session_mailbox_rename(struct mailbox *src, struct mailbox *dest)
{
	struct dms_session_user *suser;
	struct dms_session_mailbox *mbox = dms_session_box(src, &suser);

	if (mbox == NULL)
		return;
	dms_session_count(suser, mbox, DMS_RENAMED, 1);
	mbox->renamed_to = p_strdup(suser->pool, mailbox_get_vname(dest));
}

static void
dms_session_mailbox_set_subscribed(struct mailbox *box, bool subscribed)
{
	dms_session_mailbox_op(box, subscribed ? DMS_SUBSCRIBED :
			       DMS_UNSUBSCRIBED);
}

static const struct notify_vfuncs dms_session_notify_vfuncs = {
	.mail_transaction_begin = dms_session_txn_begin,
	.mail_save = dms_session_mail_save,
	.mail_copy = dms_session_mail_copy,
	.mail_expunge = dms_session_mail_expunge,
	.mail_update_flags = dms_session_mail_update_flags,
	.mail_update_keywords = dms_session_mail_update_keywords,
	.mail_transaction_commit = dms_session_txn_commit,
	.mail_transaction_rollback = dms_session_txn_rollback,
	.mailbox_create = dms_session_mailbox_create,
	.mailbox_delete_begin = dms_session_mailbox_delete_begin,
	.mailbox_delete_commit = dms_session_mailbox_delete_commit,
	.mailbox_delete_rollback = dms_session_mailbox_delete_rollback,
	.mailbox_rename = dms_session_mailbox_rename,
	.mailbox_set_subscribed = dms_session_mailbox_set_subscribed,
};

static void
dms_session_info_handler(const struct failure_context *ctx,
			 const char *format, va_list args)
{
	if (strcmp(format, DMS_SESSION_DISCONNECTED_FORMAT) == 0) {
		va_list copy;

		va_copy(copy, args);
		i_free(dms_session_disconnect_reason);
		i_free(dms_session_disconnect_stats);
		dms_session_disconnect_reason =
			i_strdup(va_arg(copy, const char *));
		dms_session_disconnect_stats =
			i_strdup(va_arg(copy, const char *));
		va_end(copy);
	}
	dms_session_prev_info_handler(ctx, format, args);
}

static void dms_session_info_handler_install(void)
{
	failure_callback_t *fatal, *error, *info, *debug;

	if (dms_session_prev_info_handler != NULL)
		return;
	i_get_failure_handlers(&fatal, &error, &info, &debug);
	dms_session_prev_info_handler = info;
	i_set_info_handler(dms_session_info_handler);
}

/* The value of NAME= in Dovecot's logout statistics, or 0. */
static uoff_t dms_session_stat(const char *stats, const char *name,
			       bool after_slash)
{
	const char *p = stats;
	uoff_t value = 0;
	size_t len = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if (p == stats || p[-1] == ' ' || p[-1] == ',') {
			p += len;
			if (after_slash && (p = strchr(p, '/')) != NULL)
				p++;
			if (p != NULL && str_parse_uoff(p, &value, &p) < 0)
				value = 0;
			return value;
		}
		p += len;
	}
	return 0;
}

/* The bytes the session sent its client, as Dovecot's logout line says
   them with the default formats: imap's out=, pop3's RETR and TOP bytes
   (retr=N/BYTES, top=N/BYTES). 0: not in the line. */
static uoff_t dms_session_bytes_out(void)
{
	const char *stats = dms_session_disconnect_stats;

	if (stats == NULL)
		return 0;
	if (strstr(stats, "out=") != NULL)
		return dms_session_stat(stats, "out=", FALSE);
	return dms_session_stat(stats, "retr=", TRUE) +
		dms_session_stat(stats, "top=", TRUE);
}

/* "logout", "disconnect" (with Dovecot's reason), or "ended" when the
   process said nothing (a service without that line) */
static const char *dms_session_client_end(const char **reason_r)
{
	const char *reason = dms_session_disconnect_reason;

	*reason_r = NULL;
	if (reason == NULL)
		return "ended";
	if (strcmp(reason, "Logged out") == 0)
		return "logout";
	*reason_r = reason;
	return "disconnect";
}

/* -- the session: start, end, and the service's word ---------------------- */

/* The session's settings (userdb fields and the site's settings). */
struct dms_session_config {
	const char *master, *level, *store, *site;
	/* the grant that opened the mailbox and its reason; "": none */
	const char *grant, *grant_reason;
	/* yes, no, or "" for the service's default */
	const char *notify;
	unsigned int flush_interval;
	bool read_only;
};

/* End this process's session now: the service asked (kick, revocation) or
   can no longer be reached, so nothing more may happen unrecorded. */
static void dms_session_stop(struct dms_session_user *suser, const char *how,
			     const char *why)
{
	if (suser->ending)
		return;
	suser->ending = TRUE;
	suser->end_how = p_strdup(suser->user->pool, how);
	e_info(suser->user->event, "dms_session: ending the master session "
	       "of %s: %s", suser->master, why);
	io_remove(&suser->io);
	master_service_stop(master_service);
}

static void dms_session_input(struct dms_session_user *suser)
{
	const char *line, *const *args;

	switch (i_stream_read(suser->input)) {
	case -1:
		dms_session_stop(suser, "lost", "lost the dms-session "
				 "service (its records could not be written)");
		return;
	case -2:
		dms_session_stop(suser, "lost",
				 "dms-session service: line too long");
		return;
	}
	while ((line = i_stream_next_line(suser->input)) != NULL) {
		args = t_strsplit_tabescaped(line);
		if (args[0] != NULL && strcmp(args[0], "KICK") == 0 &&
		    args[1] != NULL) {
			dms_session_stop(suser, args[1], t_strdup_printf(
				"%s (%s)", args[1],
				args[2] == NULL ? "" : args[2]));
			return;
		}
	}
}

/* Read one line within the start's time limit (blocking, at start). */
static const char *
dms_session_read_line(struct dms_session_user *suser, int *timeout_msecs)
{
	const char *line;
	struct pollfd pfd;
	struct timeval start, now;

	while ((line = i_stream_next_line(suser->input)) == NULL) {
		pfd.fd = suser->fd;
		pfd.events = POLLIN;
		if (gettimeofday(&start, NULL) < 0)
			i_fatal("gettimeofday() failed: %m");
		if (poll(&pfd, 1, *timeout_msecs) <= 0)
			return NULL;
		if (gettimeofday(&now, NULL) < 0)
			i_fatal("gettimeofday() failed: %m");
		*timeout_msecs -= timeval_diff_msecs(&now, &start);
		if (*timeout_msecs < 0)
			*timeout_msecs = 0;
		if (i_stream_read(suser->input) < 0)
			return NULL;
	}
	return line;
}

static int
dms_session_connect(struct dms_session_user *suser,
		    const struct dms_session_config *conf, const char **error_r)
{
	struct mail_user *user = suser->user;
	const char *path = t_strconcat(user->set->base_dir, "/",
				       DMS_SESSION_SOCKET, NULL);
	const char *fields[16], *line;
	int timeout = DMS_SESSION_START_TIMEOUT_MSECS;

	suser->fd = net_connect_unix(path);
	if (suser->fd < 0) {
		*error_r = t_strdup_printf("net_connect_unix(%s) failed: %m "
			"(is service dms-session configured? see "
			"conf.d/auth-dms-userdb.conf.ext)", path);
		return -1;
	}
	/* blocking until the start is on record */
	fd_set_nonblock(suser->fd, FALSE);
	suser->input = i_stream_create_fd(suser->fd, 8192);
	suser->output = o_stream_create_fd(suser->fd, SIZE_MAX);
	o_stream_set_no_error_handling(suser->output, TRUE);

	fields[0] = "START";
	fields[1] = user->session_id == NULL ? "" : user->session_id;
	fields[2] = suser->master;
	fields[3] = user->username;
	fields[4] = user->service == NULL ? "" : user->service;
	fields[5] = user->conn.remote_ip == NULL ? "" :
		net_ip2addr(user->conn.remote_ip);
	fields[6] = suser->messages_level ? "messages" : "summary";
	fields[7] = conf->read_only ? "yes" : "no";
	/* for the service's checks while the session lasts */
	fields[8] = conf->store;
	fields[9] = conf->site;
	fields[10] = conf->notify;
	/* the listener, for the master's dms_ports */
	fields[11] = user->conn.local_ip == NULL ? "" :
		net_ip2addr(user->conn.local_ip);
	fields[12] = dec2str(user->conn.local_port);
	fields[13] = conf->grant;
	fields[14] = conf->grant_reason;
	fields[15] = NULL;
	o_stream_nsend_str(suser->output, DMS_SESSION_HANDSHAKE);
	dms_session_send(suser, fields);
	if (o_stream_flush(suser->output) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %s", path,
			o_stream_get_error(suser->output));
		return -1;
	}
	line = dms_session_read_line(suser, &timeout);
#define DMS_SESSION_VERSION_REPLY "VERSION\tdms-session\t1\t"
	if (line == NULL || strncmp(line, DMS_SESSION_VERSION_REPLY,
				    strlen(DMS_SESSION_VERSION_REPLY)) != 0) {
		*error_r = t_strdup_printf("%s: no handshake", path);
		return -1;
	}
	line = dms_session_read_line(suser, &timeout);
	if (line == NULL) {
		*error_r = t_strdup_printf("%s: no answer to START", path);
		return -1;
	}
	if (strcmp(line, "OK") != 0) {
		*error_r = t_strdup_printf("%s: %s", path,
					   t_strsplit_tabescaped(line)[1] != NULL ?
					   t_strsplit_tabescaped(line)[1] : line);
		return -1;
	}
	fd_set_nonblock(suser->fd, TRUE);
	suser->io = io_add(suser->fd, IO_READ, dms_session_input, suser);
	return 0;
}

static void dms_session_close(struct dms_session_user *suser)
{
	io_remove(&suser->io);
	timeout_remove(&suser->to_flush);
	if (suser->output != NULL) {
		/* the last records reach the service before the session is
		   gone */
		fd_set_nonblock(suser->fd, FALSE);
		(void)o_stream_flush(suser->output);
		o_stream_destroy(&suser->output);
	}
	i_stream_destroy(&suser->input);
	if (suser->fd >= 0)
		i_close_fd(&suser->fd);
}

static void dms_session_user_deinit(struct mail_user *user)
{
	struct dms_session_user *suser = dms_suser(user);

	const char *reason, *how = dms_session_client_end(&reason);

	dms_session_flush(suser);
	if (suser->end_how != NULL) {
		how = suser->end_how;
		reason = NULL;
	}
	if (suser->output != NULL || suser->end_how != NULL) {
		e_debug(event_create_passthrough(user->event)->
			set_name("dms_master_session_finished")->
			add_str("master", suser->master)->
			add_str("how", how)->add_str("reason", reason)->
			add_int("messages_read", suser->messages_read)->
			add_int("messages_changed", suser->messages_changed)->
			event(), "dms_session: session of %s finished",
			suser->master);
	}
	if (!suser->ending) {
		const char *fields[] = {
			"END", how, dec2str(dms_session_bytes_out()), reason,
			NULL
		};
		dms_session_send(suser, fields);
	}
	dms_session_close(suser);
	hash_table_destroy(&suser->mailboxes);
	pool_unref(&suser->pool);
	suser->module_ctx.super.deinit(user);
}


#ifdef DMS_DOVECOT_24
static int
dms_session_config(struct mail_user *user, struct dms_session_config *conf_r,
		   const char **error_r)
{
	const struct dms_session_settings *set;
	const struct dms_read_only_settings *ro_set;

	if (settings_get(user->event, &dms_session_setting_parser_info, 0,
			 &set, error_r) < 0)
		return -1;
	conf_r->master = p_strdup(user->pool, set->dms_session_master);
	conf_r->level = p_strdup(user->pool, set->dms_session_record);
	conf_r->flush_interval = set->dms_session_flush_interval;
	conf_r->store = p_strdup(user->pool, set->dms_session_store);
	conf_r->site =
		p_strdup(user->pool, set->dms_session_site);
	conf_r->grant = p_strdup(user->pool, set->dms_session_grant);
	conf_r->grant_reason =
		p_strdup(user->pool, set->dms_session_grant_reason);
	conf_r->notify = p_strdup(user->pool, set->dms_session_notify);
	settings_free(set);
	if (settings_get(user->event, &dms_read_only_setting_parser_info, 0,
			 &ro_set, error_r) < 0)
		return -1;
	conf_r->read_only = ro_set->dms_read_only;
	settings_free(ro_set);
	return 0;
}
#else
static int
dms_session_config(struct mail_user *user, struct dms_session_config *conf_r,
		   const char **error_r)
{
	const char *value;

	conf_r->master = mail_user_plugin_getenv(user, "dms_session_master");
	conf_r->level = mail_user_plugin_getenv(user, "dms_session_record");
	conf_r->store = mail_user_plugin_getenv(user, "dms_session_store");
	conf_r->site =
		mail_user_plugin_getenv(user, "dms_session_site");
	if (conf_r->master == NULL)
		conf_r->master = "";
	if (conf_r->store == NULL)
		conf_r->store = "";
	if (conf_r->site == NULL)
		conf_r->site = "";
	conf_r->grant = mail_user_plugin_getenv(user, "dms_session_grant");
	conf_r->grant_reason =
		mail_user_plugin_getenv(user, "dms_session_grant_reason");
	if (conf_r->grant == NULL)
		conf_r->grant = "";
	if (conf_r->grant_reason == NULL)
		conf_r->grant_reason = "";
	conf_r->notify = mail_user_plugin_getenv(user, "dms_session_notify");
	if (conf_r->notify == NULL)
		conf_r->notify = "";
	if (conf_r->level == NULL || conf_r->level[0] == '\0')
		conf_r->level = "summary";
	value = mail_user_plugin_getenv(user, "dms_session_flush_interval");
	conf_r->flush_interval = 60;
	if (value != NULL && value[0] != '\0' &&
	    settings_get_time(value, &conf_r->flush_interval, error_r) < 0) {
		*error_r = t_strdup_printf("dms_session_flush_interval: %s",
					   *error_r);
		return -1;
	}
	conf_r->read_only = mail_user_plugin_getenv_bool(user,
							 "dms_read_only");
	return 0;
}
#endif

static void dms_session_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct dms_session_user *suser;
	struct dms_session_config conf;
	const char *error;

	if (user->creator != NULL) {
		/* a shared mailbox's owner inside the session: recorded as
		   the session (dms_suser()) */
		return;
	}
	i_zero(&conf);
	if (dms_session_config(user, &conf, &error) < 0) {
		user->error = p_strdup_printf(user->pool,
			"dms_session: %s", error);
		return;
	}
	if (conf.master[0] == '\0') {
		/* loaded, but not a master session: nothing to record */
		return;
	}
	if (strcmp(conf.level, "summary") != 0 &&
	    strcmp(conf.level, "messages") != 0) {
		user->error = p_strdup_printf(user->pool, "dms_session: "
			"dms_session_record=%s: not summary or messages",
			conf.level);
		return;
	}
	if (conf.flush_interval == 0 ||
	    conf.flush_interval > DMS_SESSION_FLUSH_MAX) {
		user->error = p_strdup_printf(user->pool, "dms_session: "
			"dms_session_flush_interval=%u s: must be 1 to %u s",
			conf.flush_interval, DMS_SESSION_FLUSH_MAX);
		return;
	}

	suser = p_new(user->pool, struct dms_session_user, 1);
	suser->user = user;
	suser->fd = -1;
	suser->master = p_strdup(user->pool, conf.master);
	suser->messages_level = strcmp(conf.level, "messages") == 0;
	suser->flush_interval = conf.flush_interval;
	suser->pool = pool_alloconly_create("dms_session", 4096);
	hash_table_create(&suser->mailboxes, suser->pool, 0, str_hash,
			  strcmp);
	suser->module_ctx.super = *v;
	user->vlast = &suser->module_ctx.super;
	v->deinit = dms_session_user_deinit;
	MODULE_CONTEXT_SET(user, dms_session_user_module, suser);

	if (dms_session_connect(suser, &conf, &error) < 0) {
		/* no session that cannot be recorded */
		e_error(user->event, "dms_session: master session of %s "
			"refused: %s", suser->master, error);
		user->error = p_strdup(user->pool, "dms_session: the master "
			"session cannot be recorded");
		suser->ending = TRUE;
		dms_session_close(suser);
		return;
	}
	suser->to_flush = timeout_add(suser->flush_interval * 1000,
				      dms_session_flush, suser);
	/* a line of an earlier session of this process is not this one's */
	i_free(dms_session_disconnect_reason);
	i_free(dms_session_disconnect_stats);
	dms_session_info_handler_install();
	e_debug(event_create_passthrough(user->event)->
		set_name("dms_master_session_started")->
		add_str("master", suser->master)->
		add_str("level", conf.level)->
		add_str("read_only", conf.read_only ? "yes" : "no")->event(),
		"dms_session: session of %s started", suser->master);
	e_debug(user->event, "dms_session: recording the master session of "
		"%s (%s)", suser->master, conf.level);
}

static struct mail_storage_hooks dms_session_mail_storage_hooks = {
	.mail_user_created = dms_session_mail_user_created,
	.mailbox_list_created = dms_session_mailbox_list_created,
	.mailbox_allocated = dms_session_mailbox_allocated,
	.mail_allocated = dms_session_mail_allocated,
};

void dms_session_plugin_init(struct module *module)
{
	dms_session_notify_ctx = notify_register(&dms_session_notify_vfuncs);
	mail_storage_hooks_add(module, &dms_session_mail_storage_hooks);
}

void dms_session_plugin_deinit(void)
{
	if (dms_session_prev_info_handler != NULL)
		i_set_info_handler(dms_session_prev_info_handler);
	i_free(dms_session_disconnect_reason);
	i_free(dms_session_disconnect_stats);
	mail_storage_hooks_remove(&dms_session_mail_storage_hooks);
#ifdef DMS_DOVECOT_24
	notify_unregister(&dms_session_notify_ctx);
#else
	notify_unregister(dms_session_notify_ctx);
#endif
}
