/* lib30_dms_read_only_plugin.so: the mail-process side of read-only master
   sessions (userdb field dms_read_only=yes, set by the dms_master userdb).

   The ACL plugin does the work (conf.d/dms-master-read-only.acl takes
   every right but lookup and read from the session); this plugin closes
   what ACLs do not cover and fails closed where they would not hold:
   - SUBSCRIBE/UNSUBSCRIBE are refused: the ACL plugin lets anyone who
     may see a mailbox change the subscription list;
   - CREATE, DELETE, RENAME, mailbox updates and mailbox attribute
     changes are refused whatever the ACLs say, and the URLAUTH key is
     neither read nor made (GENURLAUTH, RESETKEY);
   - a read-only session without an active ACL plugin is refused;
   - a mailbox that a read-only session could change (a write, insert,
     expunge, create, delete or admin right left by the site's ACLs, e.g.
     a global ACL file without the dms-master-read-only rule) is not
     opened. */

#include "lib.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mailbox-list-private.h"
#include "mailbox-attribute.h"
#include "acl-plugin.h"
#include "acl-storage.h"
#ifdef DMS_DOVECOT_24
#  include "settings.h"
#  include "acl-settings.h"
#  include "mail-dms-read-only-settings.h"
#endif

#define DMS_RO_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_ro_storage_module)
#define DMS_RO_LIST_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_ro_mailbox_list_module)
#define DMS_RO_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, dms_ro_user_module)

#define DMS_RO_REFUSED "Read-only master session: nothing may be changed"

struct dms_ro_user {
	union mail_user_module_context module_ctx;
};

const char *dms_read_only_plugin_version = DOVECOT_ABI_VERSION;
const char *dms_read_only_plugin_dependencies[] = { "acl", NULL };

void dms_read_only_plugin_init(struct module *module);
void dms_read_only_plugin_deinit(void);

static MODULE_CONTEXT_DEFINE_INIT(dms_ro_user_module,
				  &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(dms_ro_storage_module,
				  &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(dms_ro_mailbox_list_module,
				  &mailbox_list_module_register);

/* The rights a read-only session must not have where it opens a mailbox:
   all but lookup and read. */
static const enum acl_storage_rights dms_ro_denied_rights[] = {
	ACL_STORAGE_RIGHT_WRITE, ACL_STORAGE_RIGHT_WRITE_SEEN,
	ACL_STORAGE_RIGHT_WRITE_DELETED, ACL_STORAGE_RIGHT_INSERT,
	ACL_STORAGE_RIGHT_POST, ACL_STORAGE_RIGHT_EXPUNGE,
	ACL_STORAGE_RIGHT_CREATE, ACL_STORAGE_RIGHT_DELETE,
	ACL_STORAGE_RIGHT_ADMIN,
};

static const char *const dms_ro_right_names[] = {
	[ACL_STORAGE_RIGHT_WRITE] = "write",
	[ACL_STORAGE_RIGHT_WRITE_SEEN] = "write-seen",
	[ACL_STORAGE_RIGHT_WRITE_DELETED] = "write-deleted",
	[ACL_STORAGE_RIGHT_INSERT] = "insert",
	[ACL_STORAGE_RIGHT_POST] = "post",
	[ACL_STORAGE_RIGHT_EXPUNGE] = "expunge",
	[ACL_STORAGE_RIGHT_CREATE] = "create",
	[ACL_STORAGE_RIGHT_DELETE] = "delete",
	[ACL_STORAGE_RIGHT_ADMIN] = "admin",
};

static bool dms_ro_user(struct mail_user *user)
{
	return DMS_RO_USER_CONTEXT(user) != NULL;
}

static int
dms_ro_set_subscribed(struct mailbox_list *list,
		      const char *name ATTR_UNUSED, bool set ATTR_UNUSED)
{
	mailbox_list_set_error(list, MAIL_ERROR_PERM, DMS_RO_REFUSED);
	return -1;
}

static int dms_ro_mailbox_open(struct mailbox *box)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(box);

	if (mbox->super.open(box) < 0)
		return -1;
	/* Dovecot's own internal opens, not the client's */
	if ((box->flags & MAILBOX_FLAG_IGNORE_ACLS) != 0)
		return 0;
	if (ACL_CONTEXT(box) == NULL || ACL_LIST_CONTEXT(box->list) == NULL) {
		e_error(box->event, "dms_read_only: ACLs are off for this "
			"mailbox: not opened for a read-only master session");
		mailbox_close(box);
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       DMS_RO_REFUSED);
		return -1;
	}
	for (unsigned int i = 0; i < N_ELEMENTS(dms_ro_denied_rights); i++) {
		enum acl_storage_rights right = dms_ro_denied_rights[i];
		int ret = acl_mailbox_right_lookup(box, right);

		if (ret == 0)
			continue;
		if (ret > 0) {
			e_error(box->event, "dms_read_only: a read-only "
				"master session has the %s right here: not "
				"opened (does the global ACL file have "
				"dms-master-read-only.acl's rule?)",
				dms_ro_right_names[right]);
		}
		mailbox_close(box);
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       DMS_RO_REFUSED);
		return -1;
	}
	/* acl_mailbox_right_lookup() leaves a "no permission" error for
	   each right the session lacks, as it should */
	mail_storage_clear_error(box->storage);
	return 0;
}

/* Creating, changing, deleting and renaming mailboxes is refused whatever
   the ACLs say: Dovecot 2.4's global ACL settings do not cover a new
   top-level mailbox, so CREATE went through there. Dovecot's own
   internal operations (MAILBOX_FLAG_IGNORE_ACLS) are left alone. */
static bool dms_ro_refuse(struct mailbox *box)
{
	if ((box->flags & MAILBOX_FLAG_IGNORE_ACLS) != 0)
		return FALSE;
	mail_storage_set_error(box->storage, MAIL_ERROR_PERM, DMS_RO_REFUSED);
	return TRUE;
}

static int
dms_ro_create_box(struct mailbox *box, const struct mailbox_update *update,
		  bool directory)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(box);

	/* the target's own INBOX, when it has none yet: Dovecot creates it
	   empty at open (2.3 does so in the storage, 2.4 through here) */
	if (!box->inbox_user && dms_ro_refuse(box))
		return -1;
	return mbox->super.create_box(box, update, directory);
}

static int
dms_ro_update_box(struct mailbox *box, const struct mailbox_update *update)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(box);

	if (dms_ro_refuse(box))
		return -1;
	return mbox->super.update_box(box, update);
}

static int dms_ro_delete_box(struct mailbox *box)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(box);

	if (dms_ro_refuse(box))
		return -1;
	return mbox->super.delete_box(box);
}

static int dms_ro_rename_box(struct mailbox *src, struct mailbox *dest)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(src);

	if (dms_ro_refuse(src))
		return -1;
	return mbox->super.rename_box(src, dest);
}

/* Mailbox attributes, private ones included: IMAP METADATA is off for
   the session (imap_metadata=no), but GENURLAUTH and RESETKEY set and
   unset a private attribute (the URLAUTH key) with no ACL right beyond
   lookup, as other plugins' attributes may. Unset is a set without a
   value. */
static int
dms_ro_attribute_set(struct mailbox_transaction_context *t,
		     enum mail_attribute_type type, const char *key,
		     const struct mail_attribute_value *value)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(t->box);

	if (dms_ro_refuse(t->box))
		return -1;
	return mbox->super.attribute_set(t, type, key, value);
}

/* The URLAUTH key is not read either: with a key the owner made earlier,
   GENURLAUTH would hand out URLs to the owner's messages (URLAUTH itself
   cannot be switched off per session: an empty imap_urlauth_host in a
   userdb reply reads as "yes"). */
#define DMS_RO_URLAUTH_KEY MAILBOX_ATTRIBUTE_PREFIX_DOVECOT "imap-urlauth"

static int
dms_ro_attribute_get(struct mailbox *box, enum mail_attribute_type type,
		     const char *key, struct mail_attribute_value *value_r)
{
	union mailbox_module_context *mbox = DMS_RO_CONTEXT(box);

	if (strcmp(key, DMS_RO_URLAUTH_KEY) == 0 && dms_ro_refuse(box))
		return -1;
	return mbox->super.attribute_get(box, type, key, value_r);
}

static void dms_ro_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	union mailbox_module_context *mbox;

	if (!dms_ro_user(box->storage->user))
		return;
	mbox = p_new(box->pool, union mailbox_module_context, 1);
	mbox->super = *v;
	box->vlast = &mbox->super;
	v->open = dms_ro_mailbox_open;
	v->create_box = dms_ro_create_box;
	v->update_box = dms_ro_update_box;
	v->delete_box = dms_ro_delete_box;
	v->rename_box = dms_ro_rename_box;
	v->attribute_set = dms_ro_attribute_set;
	v->attribute_get = dms_ro_attribute_get;
	MODULE_CONTEXT_SET_SELF(box, dms_ro_storage_module, mbox);
}

static void dms_ro_mailbox_list_created(struct mailbox_list *list)
{
	struct mailbox_list_vfuncs *v = list->vlast;
	union mailbox_list_module_context *llist;

	if (!dms_ro_user(list->ns->user))
		return;
	llist = p_new(list->pool, union mailbox_list_module_context, 1);
	llist->super = *v;
	list->vlast = &llist->super;
	v->set_subscribed = dms_ro_set_subscribed;
	MODULE_CONTEXT_SET_SELF(list, dms_ro_mailbox_list_module, llist);
}

#ifdef DMS_DOVECOT_24
/* 2.4: userdb fields are settings; a lookup that fails counts as read-only
   (fail closed: the session is refused below). */
static bool dms_ro_wanted(struct mail_user *user)
{
	const struct dms_read_only_settings *set;
	const char *error;
	bool ret;

	if (settings_get(user->event, &dms_read_only_setting_parser_info, 0,
			 &set, &error) < 0) {
		e_error(user->event, "dms_read_only: %s", error);
		return TRUE;
	}
	ret = set->dms_read_only;
	settings_free(set);
	return ret;
}

/* 2.4: the ACL plugin's user context exists whenever it is loaded; it
   enforces only with an acl_driver. */
static bool dms_ro_acl_active(struct mail_user *user)
{
	const struct acl_settings *set;
	const char *error;
	bool ret;

	if (ACL_USER_CONTEXT(user) == NULL)
		return FALSE;
	if (settings_get(user->event, &acl_setting_parser_info, 0,
			 &set, &error) < 0) {
		e_error(user->event, "dms_read_only: %s", error);
		return FALSE;
	}
	ret = set->acl_driver[0] != '\0';
	settings_free(set);
	return ret;
}
#  define DMS_RO_NO_ACL "no acl_driver setting"
#else
static bool dms_ro_wanted(struct mail_user *user)
{
	return mail_user_plugin_getenv_bool(user, "dms_read_only");
}

/* the ACL plugin's hook ran first (lib01 before lib30): without an acl
   setting it leaves no context and enforces nothing */
static bool dms_ro_acl_active(struct mail_user *user)
{
	return ACL_USER_CONTEXT(user) != NULL;
}
#  define DMS_RO_NO_ACL "no acl setting"
#endif

static void dms_ro_mail_user_created(struct mail_user *user)
{
	struct dms_ro_user *ruser;

	if (!dms_ro_wanted(user))
		return;
	if (!dms_ro_acl_active(user)) {
		user->error = p_strdup(user->pool,
			"dms_read_only: read-only master session refused: "
			"the ACL plugin is not active ("DMS_RO_NO_ACL"; see "
			"conf.d/dms-master-read-only.conf.ext)");
		return;
	}
	ruser = p_new(user->pool, struct dms_ro_user, 1);
	MODULE_CONTEXT_SET(user, dms_ro_user_module, ruser);
	e_debug(user->event, "dms_read_only: read-only master session");
}

static struct mail_storage_hooks dms_ro_mail_storage_hooks = {
	.mail_user_created = dms_ro_mail_user_created,
	.mailbox_list_created = dms_ro_mailbox_list_created,
	.mailbox_allocated = dms_ro_mailbox_allocated,
};

void dms_read_only_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &dms_ro_mail_storage_hooks);
}

void dms_read_only_plugin_deinit(void)
{
	mail_storage_hooks_remove(&dms_ro_mail_storage_hooks);
}
