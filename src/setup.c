/* setup: manage master accounts and regular accounts, the way
   docker-mailserver's `setup` does, over the files Dovecot reads. */

#include "auth-master-dms-config.h"

#include "dms-args.h"
#include "dms-ldap-config.h"
#include "dms-password.h"
#include "dms-pattern.h"
#include "dms-store.h"
#include "dms-store-write.h"
#include "setup-grants.h"
#include "setup-kick.h"
#include "setup-totp.h"
#include "setup-ldap.h"
#include "setup-names.h"
#include "setup-options.h"
#include "setup-password.h"
#include "setup-report.h"

#include <getopt.h>
#include <stdarg.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <errno.h>
#include <time.h>

#define EXIT_USAGE 2

struct setup {
	const char *prog;
	const char *masters_path;
	const char *users_path;
	const char *scheme;
	/* masters in LDAP: the settings file the module reads too */
	const char *ldap_path;
	/* Dovecot's base_dir, where the dms-session service listens */
	const char *base_dir;
	bool password_stdin;
};

/* The two kinds of accounts: one file and format each. */
struct account_kind {
	const char *group;
	const char *what;
	enum dms_store_format format;
	bool need_at;
};

static const struct account_kind kind_master = {
	"dovecot-master", "master account", DMS_STORE_FORMAT_PIPE, false,
};
static const struct account_kind kind_email = {
	"email", "e-mail account", DMS_STORE_FORMAT_PASSWD, true,
};

static const char *kind_path(const struct setup *s,
			     const struct account_kind *kind)
{
	return kind == &kind_master ? s->masters_path : s->users_path;
}

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
"Usage: %s [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Manage Dovecot master accounts (for the dms_master passdb) and regular\n"
"e-mail accounts.\n"
"\n"
"Commands:\n"
"  dovecot-master add NAME [PASSWORD] [POLICY]\n"
"                                         add a master account\n"
"  dovecot-master update NAME [PASSWORD] [POLICY]\n"
"                                         change its password and/or policy\n"
"                                         (POLICY alone keeps the password)\n"
"  dovecot-master del NAME [NAME...]      delete master accounts\n"
"  dovecot-master list                    list them, one \"* NAME\" a line,\n"
"                                         with their policy if any\n"
"  dovecot-master grant NAME TARGET (--for DURATION | --until TIME)\n"
"                       --reason TEXT     let NAME open TARGET (an address\n"
"                                         or pattern) for a while; prints\n"
"                                         the grant's ID\n"
"  dovecot-master grants [NAME] [--prune] list the grants (--prune: drop\n"
"                                         the ended ones)\n"
"  dovecot-master revoke ID               end a grant and its sessions\n"
"  dovecot-master approve ID --by OTHER   another master approves a grant\n"
"                                         (asks OTHER's password)\n"
"  dovecot-master totp NAME               enrol NAME for a second factor:\n"
"                                         prints the otpauth:// URI and\n"
"                                         its QR code\n"
"  dovecot-master kick NAME               end NAME's open sessions now\n"
"                                         (Dovecot's dms-session service)\n"
"  dovecot-master report [--since DATE] [--json] [--unused-days N]\n"
"                        [--audit-file FILE]\n"
"                                         access review from the audit\n"
"                                         file (and its rotated copies);\n"
"                                         exit 4: masters to review\n"
"  email add ADDRESS [PASSWORD]           add an e-mail account\n"
"  email update ADDRESS [PASSWORD]        change its password\n"
"  email del ADDRESS [ADDRESS...]         delete e-mail accounts\n"
"  email list                             list them\n"
"  help [dovecot-master|email]            this text\n"
"\n"
"A master logs in as any user with the user's name, '*' and its own name\n"
"(user@example.com*admin) and its own password. A missing PASSWORD is\n"
"asked for twice without echo, or read from standard input.\n"
"\n"
"Policy of a master (only what is given changes; stored with the account as\n"
"dms_ options; see setup(8)):\n"
"  --allow PATTERNS     targets it may open, comma-separated, repeatable:\n"
"                       exact names or '*' / '?' wildcards, e.g.\n"
"                       '*@example.com,support-*@example.org'\n"
"  --no-allow           any target (the default)\n"
"  --services LIST      Dovecot services it may use, e.g. imap or\n"
"                       imap,pop3,submission, or '*' for all\n"
"  --no-services        the passdb's default_services (imap,pop3)\n"
"  --read-only          sessions read but change nothing, over IMAP and\n"
"                       POP3 only (needs\n"
"                       conf.d/dms-master-read-only.conf.ext)\n"
"  --no-read-only       full access (the default)\n"
"  --expires TIME       refused from TIME on, UTC: YYYY-MM-DD (midnight)\n"
"                       or YYYY-MM-DDTHH:MM:SSZ\n"
"  --no-expires         never expires (the default)\n"
"  --disable, --enable  refuse it / allow it again\n"
"  --record LEVEL       what its sessions' records hold: summary (one\n"
"                       record per mailbox) or messages (also one per\n"
"                       message read or changed)\n"
"  --no-record          the site's level (dms_session_record)\n"
"  --notify-owner       the mailbox owner gets a notice of each session\n"
"                       that read or changed something\n"
"  --no-notify-owner    no notice, whatever the site's default\n"
"  --default-notify-owner  the site's default (dms-session -n)\n"
"  --deny PATTERNS      targets it may never open, whatever --allow says,\n"
"                       comma-separated, repeatable (the site's\n"
"                       protected= list applies to every master)\n"
"  --no-deny            none denied (the default)\n"
"  --ports LIST         the listeners master logins are accepted on:\n"
"                       PORT, ADDRESS or ADDRESS:PORT ([ADDRESS]:PORT\n"
"                       for IPv6), e.g. 10143,127.0.0.1:993\n"
"  --no-ports           the site's ports= (default: any listener)\n"
"  --require-grant      no standing access: it opens a mailbox only while\n"
"                       a grant covers it (setup dovecot-master grant)\n"
"  --no-require-grant   standing access (the default)\n"
"  --grant-approval     its grants take effect once another master\n"
"                       approves them (setup dovecot-master approve)\n"
"  --no-grant-approval  its grants take effect at once (the default)\n"
"  --totp               its password is followed by a 6-digit TOTP code\n"
"                       (enrol with 'dovecot-master totp NAME')\n"
"  --no-totp            the password alone (the default)\n"
"A PASSWORD starting with \"--\" goes after \"--\"; one of the form\n"
"dms_KEY=VALUE is refused as a policy option given where the password\n"
"goes (use --password-stdin for such a password).\n"
"\n"
"Options (before or after the command):\n"
"  --masters-file FILE  master store (env DMS_MASTERS_FILE; default\n"
"                       %s)\n"
"  --users-file FILE    e-mail accounts, a Dovecot passwd-file (env\n"
"                       DMS_USERS_FILE; default %s)\n"
"  --scheme SCHEME      SHA512-CRYPT (default), SHA256-CRYPT, BLF-CRYPT\n"
"                       or YESCRYPT (env DMS_SCHEME)\n"
"  --ldap FILE          master accounts in LDAP instead of the masters file:\n"
"                       the dms_master passdb's LDAP settings file (env\n"
"                       DMS_MASTERS_LDAP; e.g. %s)\n"
"  --audit-file FILE    the audit file, for report (env DMS_AUDIT_FILE;\n"
"                       default %s)\n"
"  --base-dir DIR       Dovecot's base_dir, for kick (env\n"
"                       DMS_DOVECOT_BASE_DIR; default %s)\n"
"  --password-stdin     read the password from standard input\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"\n"
"Names are lower-cased (with a warning); names with white space, control\n"
"characters, ':', '|' or '*' are refused; e-mail accounts need an '@'.\n"
"Files are changed atomically under a lock and keep mode 0640, group\n"
"dovecot; a running Dovecot sees the change at the next login.\n"
"Exit status: 0 done, 1 refused or failed, 2 usage error, 4 (report)\n"
"masters to review.\n",
		prog, DMS_MASTER_STORE_DEFAULT, DMS_USER_STORE_DEFAULT,
		DMS_LDAP_CONFIG_DEFAULT, SETUP_AUDIT_FILE_DEFAULT,
		SETUP_BASE_DIR_DEFAULT);
}

static const char *kick_usage(const char *prog,
				const struct account_kind *kind)
{
	static char buf[1024];
	const char *g = kind->group;

	snprintf(buf, sizeof(buf), "       %s %s kick NAME\n"
		 "       %s %s report [--since DATE] [--json] "
		 "[--unused-days N] [--audit-file FILE]\n"
		 "       %s %s grant NAME TARGET (--for DURATION | "
		 "--until TIME) --reason TEXT\n"
		 "       %s %s grants [NAME] [--prune]\n"
		 "       %s %s revoke ID\n"
		 "       %s %s approve ID --by OTHER\n"
		 "       %s %s totp NAME\n",
		 prog, g, prog, g, prog, g, prog, g, prog, g, prog, g,
		 prog, g);
	return buf;
}

static void kind_usage(FILE *out, const char *prog,
		       const struct account_kind *kind)
{
	const char *arg = kind->need_at ? "ADDRESS" : "NAME";
	const char *policy = kind->need_at ? "" :
		" [--allow PATTERNS] [--services LIST]\n"
		"           [--read-only] [--expires TIME] [--disable|--enable]\n"
		"           [--record LEVEL] [--[no-]notify-owner]\n"
		"           [--deny PATTERNS] [--ports LIST] "
		"[--[no-]require-grant] [--[no-]grant-approval]\n"
		"           [--[no-]totp]";

	fprintf(out,
"Usage: %s %s add %s [PASSWORD]%s\n"
"       %s %s update %s [PASSWORD]%s\n"
"       %s %s del %s [%s...]\n"
"       %s %s list\n"
"%s"
"Run '%s help' for the options.\n",
		prog, kind->group, arg, policy, prog, kind->group, arg,
		policy, prog, kind->group, arg, arg, prog, kind->group,
		kind->need_at ? "" : kick_usage(prog, kind), prog);
}

static void error_msg(struct setup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void error_msg(struct setup *s, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "%s: ", s->prog);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

static bool get_name(struct setup *s, const struct account_kind *kind,
		     const char *arg, char *name, size_t size)
{
	const char *error;
	bool lowered;

	if (!setup_name_normalize(arg, DMS_ARGS_DEFAULT_SEPARATOR,
				  kind->need_at, name, size, &lowered,
				  &error)) {
		error_msg(s, "%s '%s': %s", kind->what, arg, error);
		return false;
	}
	if (lowered) {
		fprintf(stderr, "%s: Warning: '%s' lower-cased to '%s'\n",
			s->prog, arg, name);
	}
	return true;
}

/* New files: mode 0640, group dovecot (Dovecot 2.3's auth process runs
   as the dovecot user and reads the store through the group). */
static struct dms_store_write_settings
write_settings(const struct account_kind *kind)
{
	struct group *gr = getgrnam("dovecot");
	struct dms_store_write_settings set = {
		.format = kind->format,
		.new_mode = 0640,
		.new_gid = gr == NULL ? (gid_t)-1 : gr->gr_gid,
	};

	return set;
}

static char *edit_options(void *context, const char *old, size_t old_len,
			  const char **error_r)
{
	return setup_options_apply(context, old, old_len, error_r);
}

static int cmd_set(struct setup *s, const struct account_kind *kind,
		   enum dms_store_op op, int argc, char **argv)
{
	struct dms_store_write_settings set = write_settings(kind);
	struct setup_options opts;
	struct dms_store_change change = { .password = NULL };
	char name[SETUP_NAME_MAX + 1], hash[DMS_PASSWORD_HASH_MAX];
	const char *path = kind_path(s, kind), *error;
	char *password = NULL;
	bool password_stdin = s->password_stdin;
	enum dms_store_write_result ret;
	int status = EXIT_FAILURE;

	if (setup_options_parse(argc, argv, &opts, &argc, &error) < 0) {
		error_msg(s, "%s", error);
		kind_usage(stderr, s->prog, kind);
		setup_options_free(&opts);
		return EXIT_USAGE;
	}
	/* after the command as well as before it */
	password_stdin = password_stdin || opts.password_stdin;
	if (opts.any && kind != &kind_master) {
		error_msg(s, "policy options are for master accounts only");
		setup_options_free(&opts);
		return EXIT_USAGE;
	}
	if (argc < 1 || argc > 2) {
		kind_usage(stderr, s->prog, kind);
		setup_options_free(&opts);
		return EXIT_USAGE;
	}
	if (argc == 2 && setup_arg_is_policy_option(argv[1])) {
		error_msg(s, "'%s' is a policy option, not a password: give "
			  "the policy as --allow, --services, --read-only, "
			  "--expires or --disable (see '%s help'); a password "
			  "of this form goes through --password-stdin",
			  argv[1], s->prog);
		status = EXIT_USAGE;
		goto out;
	}
	if (!get_name(s, kind, argv[0], name, sizeof(name)))
		goto out;
	if (argc == 2 && password_stdin) {
		error_msg(s, "a PASSWORD argument and --password-stdin "
			  "exclude each other");
		status = EXIT_USAGE;
		goto out;
	}
	/* update with options alone keeps the password */
	if (op == DMS_STORE_ADD || argc == 2 || password_stdin || !opts.any) {
		password = argc == 2 ? strdup(argv[1]) :
			setup_password_read(password_stdin, &error);
		if (password == NULL) {
			error_msg(s, "%s", argc == 2 ? "out of memory" : error);
			goto out;
		}
		if (!setup_password_valid(password, &error) ||
		    dms_password_hash(password, s->scheme, hash, sizeof(hash),
				      &error) < 0) {
			setup_password_free(password);
			error_msg(s, "%s '%s': %s", kind->what, name, error);
			goto out;
		}
		setup_password_free(password);
		change.password = hash;
	}
	if (opts.any) {
		change.edit_options = edit_options;
		change.context = &opts;
	}

	if (kind == &kind_master && s->ldap_path != NULL) {
		struct setup_ldap *ldap = setup_ldap_open(s->prog, s->ldap_path);

		status = ldap == NULL ? EXIT_FAILURE :
			setup_ldap_set(ldap, op == DMS_STORE_ADD, name,
				       change.password, &opts);
		setup_ldap_close(&ldap);
		dms_wipe(hash, sizeof(hash));
		goto out;
	}
	ret = dms_store_write_change(path, op, name, &change, &set, &error);
	dms_wipe(hash, sizeof(hash));
	switch (ret) {
	case DMS_STORE_WRITE_OK:
		status = EXIT_SUCCESS;
		break;
	case DMS_STORE_WRITE_EXISTS:
		error_msg(s, "%s '%s' already exists in %s", kind->what,
			  name, path);
		break;
	case DMS_STORE_WRITE_NOT_FOUND:
		error_msg(s, "%s '%s' does not exist in %s", kind->what,
			  name, path);
		break;
	case DMS_STORE_WRITE_INVALID:
		error_msg(s, "%s '%s': %s", kind->what, name, error);
		break;
	case DMS_STORE_WRITE_ERROR:
		error_msg(s, "%s", error);
		break;
	}
out:
	setup_options_free(&opts);
	return status;
}

static int cmd_del(struct setup *s, const struct account_kind *kind,
		   int argc, char **argv)
{
	struct dms_store_write_settings set = write_settings(kind);
	char name[SETUP_NAME_MAX + 1];
	const char *path = kind_path(s, kind), *error;
	int status = EXIT_SUCCESS;

	struct setup_ldap *ldap = NULL;

	if (argc < 1) {
		kind_usage(stderr, s->prog, kind);
		return EXIT_USAGE;
	}
	if (kind == &kind_master && s->ldap_path != NULL &&
	    (ldap = setup_ldap_open(s->prog, s->ldap_path)) == NULL)
		return EXIT_FAILURE;
	/* each name on its own: one missing name does not stop the rest */
	for (int i = 0; i < argc; i++) {
		if (!get_name(s, kind, argv[i], name, sizeof(name))) {
			status = EXIT_FAILURE;
			continue;
		}
		if (ldap != NULL) {
			if (setup_ldap_del(ldap, name) != EXIT_SUCCESS)
				status = EXIT_FAILURE;
			continue;
		}
		switch (dms_store_write(path, DMS_STORE_DELETE, name, NULL,
					&set, &error)) {
		case DMS_STORE_WRITE_OK:
			break;
		case DMS_STORE_WRITE_NOT_FOUND:
			error_msg(s, "%s '%s' does not exist in %s",
				  kind->what, name, path);
			status = EXIT_FAILURE;
			break;
		default:
			error_msg(s, "%s", error);
			status = EXIT_FAILURE;
			break;
		}
	}
	setup_ldap_close(&ldap);
	return status;
}

static int cmd_list(struct setup *s, const struct account_kind *kind,
		    int argc)
{
	const char *path = kind_path(s, kind), *error;
	const struct dms_store_entry *entries;
	struct dms_store *store;
	struct stat st;
	size_t count;

	if (argc != 0) {
		kind_usage(stderr, s->prog, kind);
		return EXIT_USAGE;
	}
	if (kind == &kind_master && s->ldap_path != NULL) {
		struct setup_ldap *ldap = setup_ldap_open(s->prog, s->ldap_path);
		int ret = ldap == NULL ? EXIT_FAILURE : setup_ldap_list(ldap);

		setup_ldap_close(&ldap);
		return ret;
	}
	if (stat(path, &st) < 0) {
		/* nothing added yet */
		fprintf(stderr, "%s: no %ss yet (%s does not exist)\n",
			s->prog, kind->what, path);
		return EXIT_SUCCESS;
	}
	store = dms_store_new(path, DMS_DEFAULT_SCHEME);
	if (store == NULL || dms_store_refresh(store, NULL, NULL,
					       &error) < 0) {
		error_msg(s, "%s", store == NULL ? "out of memory" : error);
		dms_store_free(&store);
		return EXIT_FAILURE;
	}
	entries = dms_store_entries(store, &count);
	for (size_t i = 0; i < count; i++) {
		char options[DMS_POLICY_LIST_MAX * (DMS_PATTERN_MAX + 1) +
			     1024];

		/* "* NAME" as docker-mailserver prints it, then a master's
		   options as they are stored */
		if (kind != &kind_master ||
		    dms_policy_format(entries[i].policy, options,
				      sizeof(options)) == 0) {
			printf("* %s\n", entries[i].name);
			continue;
		}
		printf("* %s %s%s\n", entries[i].name, options,
		       entries[i].policy->has_expires &&
		       entries[i].policy->expires <= (int64_t)time(NULL) ?
		       " (expired)" : "");
	}
	if (count == 0)
		fprintf(stderr, "%s: no %ss in %s\n", s->prog, kind->what,
			path);
	dms_store_free(&store);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *value = getenv(name);

	return value != NULL && value[0] != '\0' ? value : fallback;
}

struct report_masters {
	struct setup_report_master *masters;
	size_t count;
	bool failed;
};

static void report_master_add(void *context, const char *name,
			      const struct dms_policy *policy)
{
	struct report_masters *rm = context;
	struct setup_report_master *m;

	m = realloc(rm->masters, (rm->count + 1) * sizeof(*m));
	if (m == NULL || (m[rm->count].name = strdup(name)) == NULL) {
		rm->failed = true;
		if (m != NULL)
			rm->masters = m;
		return;
	}
	rm->masters = m;
	m[rm->count].has_expires = policy->has_expires;
	m[rm->count].expires = policy->expires;
	rm->count++;
}

/* The store's masters, for the report's unused and never-expiring ones. */
static int report_masters_read(struct setup *s, struct report_masters *rm)
{
	const struct dms_store_entry *entries;
	struct dms_store *store;
	const char *error;
	struct stat st;
	size_t count;

	if (s->ldap_path != NULL) {
		struct setup_ldap *ldap = setup_ldap_open(s->prog, s->ldap_path);
		int ret = ldap == NULL ? -1 :
			setup_ldap_masters(ldap, report_master_add, rm);

		setup_ldap_close(&ldap);
		return ret < 0 ? -1 : 0;
	}
	if (stat(s->masters_path, &st) < 0 && errno == ENOENT)
		return 0;
	store = dms_store_new(s->masters_path, DMS_DEFAULT_SCHEME);
	if (store == NULL || dms_store_refresh(store, NULL, NULL,
					       &error) < 0) {
		error_msg(s, "%s", store == NULL ? "out of memory" : error);
		dms_store_free(&store);
		return -1;
	}
	entries = dms_store_entries(store, &count);
	for (size_t i = 0; i < count; i++)
		report_master_add(rm, entries[i].name, entries[i].policy);
	dms_store_free(&store);
	return 0;
}

static int cmd_report(struct setup *s, const struct account_kind *kind,
		      int argc, char **argv)
{
	struct setup_report_settings set = {
		.audit_file = env_or("DMS_AUDIT_FILE", SETUP_AUDIT_FILE_DEFAULT),
		.unused_days = 90,
		.now = (int64_t)time(NULL),
	};
	struct report_masters rm = { NULL, 0, false };
	int ret;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (strcmp(arg, "--json") == 0) {
			set.json = true;
			continue;
		}
		if (value == NULL || (strcmp(arg, "--since") != 0 &&
				      strcmp(arg, "--unused-days") != 0 &&
				      strcmp(arg, "--audit-file") != 0)) {
			error_msg(s, "report: unknown or incomplete option "
				  "'%s'", arg);
			kind_usage(stderr, s->prog, kind);
			return EXIT_USAGE;
		}
		i++;
		if (strcmp(arg, "--since") == 0) {
			if (dms_time_parse(value, &set.since) < 0) {
				error_msg(s, "report: --since %s: not "
					  "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
					  value);
				return EXIT_USAGE;
			}
		} else if (strcmp(arg, "--unused-days") == 0) {
			unsigned long days = strtoul(value, &end, 10);

			if (*value < '0' || *value > '9' || *end != '\0' ||
			    days == 0 || days > 36500) {
				error_msg(s, "report: --unused-days %s: not a "
					  "number of days (1-36500)", value);
				return EXIT_USAGE;
			}
			set.unused_days = (unsigned int)days;
		} else {
			set.audit_file = value;
		}
	}
	if (report_masters_read(s, &rm) < 0 || rm.failed) {
		if (rm.failed)
			error_msg(s, "out of memory");
		ret = -1;
	} else {
		set.masters = rm.masters;
		set.masters_count = rm.count;
		ret = setup_report(stdout, s->prog, &set);
	}
	for (size_t i = 0; i < rm.count; i++)
		free((char *)rm.masters[i].name);
	free(rm.masters);
	if (ret < 0)
		return EXIT_FAILURE;
	if (fflush(stdout) != 0)
		return EXIT_FAILURE;
	return ret;
}

/* End the master's sessions: they are Dovecot's, so the running Dovecot's
   dms-session service does it. */
static int cmd_kick(struct setup *s, const struct account_kind *kind,
		    int argc, char **argv)
{
	char name[SETUP_NAME_MAX + 1];
	const char *error;
	int count;

	if (kind->need_at || argc != 1) {
		kind_usage(stderr, s->prog, kind);
		return EXIT_USAGE;
	}
	if (!get_name(s, kind, argv[0], name, sizeof(name)))
		return EXIT_FAILURE;
	if ((count = setup_kick(s->base_dir, name, &error)) < 0) {
		error_msg(s, "kick %s: %s", name, error);
		return EXIT_FAILURE;
	}
	printf("%d session%s of %s ended\n", count, count == 1 ? "" : "s",
	       name);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int run_kind(struct setup *s, const struct account_kind *kind,
		    int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "help";

	if (strcmp(sub, "add") == 0)
		return cmd_set(s, kind, DMS_STORE_ADD, argc - 1, argv + 1);
	if (strcmp(sub, "update") == 0)
		return cmd_set(s, kind, DMS_STORE_UPDATE, argc - 1, argv + 1);
	if (strcmp(sub, "del") == 0 || strcmp(sub, "delete") == 0)
		return cmd_del(s, kind, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return cmd_list(s, kind, argc - 1);
	if (strcmp(sub, "kick") == 0 && !kind->need_at)
		return cmd_kick(s, kind, argc - 1, argv + 1);
	if (strcmp(sub, "report") == 0 && !kind->need_at)
		return cmd_report(s, kind, argc - 1, argv + 1);
	if (!kind->need_at) {
		struct setup_grants_settings set = {
			.prog = s->prog,
			.store_path = s->masters_path,
			.audit_file = env_or("DMS_AUDIT_FILE",
					     SETUP_AUDIT_FILE_DEFAULT),
			.password_stdin = s->password_stdin,
			.ldap_path = s->ldap_path,
		};
		int ret;

		if (strcmp(sub, "totp") == 0) {
			char name[SETUP_NAME_MAX + 1];

			if (argc != 2) {
				kind_usage(stderr, s->prog, kind);
				return EXIT_USAGE;
			}
			if (!get_name(s, kind, argv[1], name, sizeof(name)))
				return EXIT_FAILURE;
			if (s->ldap_path != NULL)
				return setup_totp_enrol_ldap(s->prog,
							     s->ldap_path,
							     name);
			return setup_totp_enrol(s->prog, s->masters_path,
						name);
		}
		if ((ret = setup_grants_run(&set, sub, argc - 1,
					    argv + 1)) >= 0)
			return ret;
	}
	if (strcmp(sub, "help") == 0) {
		kind_usage(stdout, s->prog, kind);
		return EXIT_SUCCESS;
	}
	error_msg(s, "unknown %s command '%s'", kind->group, sub);
	kind_usage(stderr, s->prog, kind);
	return EXIT_USAGE;
}


int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "masters-file", required_argument, NULL, 'm' },
		{ "users-file", required_argument, NULL, 'u' },
		{ "scheme", required_argument, NULL, 's' },
		{ "ldap", required_argument, NULL, 'l' },
		{ "base-dir", required_argument, NULL, 'b' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct setup s = {
		.prog = "setup",
		.masters_path = env_or("DMS_MASTERS_FILE",
				       DMS_MASTER_STORE_DEFAULT),
		.users_path = env_or("DMS_USERS_FILE", DMS_USER_STORE_DEFAULT),
		.scheme = env_or("DMS_SCHEME", "SHA512-CRYPT"),
		.ldap_path = env_or("DMS_MASTERS_LDAP", NULL),
		.base_dir = env_or("DMS_DOVECOT_BASE_DIR",
				   SETUP_BASE_DIR_DEFAULT),
	};
	const char *slash = strrchr(argv[0], '/');
	struct setup_globals globals = { NULL, NULL, NULL, NULL, NULL };
	const char *const *m, *error;
	int c;

	s.prog = slash != NULL ? slash + 1 : argv[0];
	/* "+": getopt stops at the command; the options after it are
	   taken below, up to "--" (so a password may start with '-') */
	while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
		switch (c) {
		case 'm':
			s.masters_path = optarg;
			break;
		case 'u':
			s.users_path = optarg;
			break;
		case 's':
			s.scheme = optarg;
			break;
		case 'l':
			s.ldap_path = optarg;
			break;
		case 'b':
			s.base_dir = optarg;
			break;
		case 'p':
			s.password_stdin = true;
			break;
		case 'h':
			usage(stdout, s.prog);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s %s\n", s.prog, PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr, s.prog);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	/* after the command too, as the policy options are */
	if (setup_globals_take(argc, argv, &globals, &argc, &error) < 0) {
		error_msg(&s, "%s", error);
		usage(stderr, s.prog);
		return EXIT_USAGE;
	}
	if (globals.masters_file != NULL)
		s.masters_path = globals.masters_file;
	if (globals.users_file != NULL)
		s.users_path = globals.users_file;
	if (globals.scheme != NULL)
		s.scheme = globals.scheme;
	if (globals.ldap != NULL)
		s.ldap_path = globals.ldap;
	if (globals.base_dir != NULL)
		s.base_dir = globals.base_dir;
	for (m = dms_password_hash_methods; *m != NULL; m++) {
		if (strcasecmp(*m, s.scheme) == 0)
			break;
	}
	if (*m == NULL) {
		error_msg(&s, "unknown scheme '%s' (SHA512-CRYPT, "
			  "SHA256-CRYPT, BLF-CRYPT or YESCRYPT)", s.scheme);
		return EXIT_USAGE;
	}
	if (argc == 0 || strcmp(argv[0], "help") == 0) {
		if (argc > 1 && strcmp(argv[1], kind_master.group) == 0)
			kind_usage(stdout, s.prog, &kind_master);
		else if (argc > 1 && strcmp(argv[1], kind_email.group) == 0)
			kind_usage(stdout, s.prog, &kind_email);
		else
			usage(argc == 0 ? stderr : stdout, s.prog);
		return argc == 0 ? EXIT_USAGE : EXIT_SUCCESS;
	}
	if (strcmp(argv[0], kind_master.group) == 0)
		return run_kind(&s, &kind_master, argc - 1, argv + 1);
	if (strcmp(argv[0], kind_email.group) == 0)
		return run_kind(&s, &kind_email, argc - 1, argv + 1);
	error_msg(&s, "unknown command '%s'", argv[0]);
	usage(stderr, s.prog);
	return EXIT_USAGE;
}
