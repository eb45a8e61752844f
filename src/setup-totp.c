/* setup dovecot-master totp NAME (setup-totp.h). */

#include "setup-totp.h"
#include "setup-ldap.h"
#include "setup-options.h"
#include "dms-password.h"
#include "dms-store.h"
#include "dms-store-write.h"
#include "dms-totp.h"

#include <grp.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER "auth-master-dms"

/* The QR code for a terminal with a dark background: light modules (and
   the quiet zone) as blocks, two rows a line. */
static void qr_print(FILE *out, const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	const int quiet = 2;

	if (qr == NULL) {
		fprintf(out, "(no QR code: the URI is too long)\n");
		return;
	}
	int size = qr->width + 2 * quiet;
	for (int y = 0; y < size; y += 2) {
		for (int x = 0; x < size; x++) {
			int mx = x - quiet, my = y - quiet;
			bool top = mx >= 0 && my >= 0 && mx < qr->width &&
				my < qr->width &&
				(qr->data[my * qr->width + mx] & 1) != 0;
			bool bottom = mx >= 0 && my + 1 >= 0 &&
				mx < qr->width && my + 1 < qr->width &&
				(qr->data[(my + 1) * qr->width + mx] & 1) != 0;

			/* the row below the last is quiet zone too */
			if (y + 1 >= size)
				bottom = false;
			fputs(!top && !bottom ? "\u2588" : !top ? "\u2580" :
			      !bottom ? "\u2584" : " ", out);
		}
		fputc('\n', out);
	}
	QRcode_free(qr);
}

static char *set_totp(void *context, const char *old, size_t old_len,
		      const char **error_r)
{
	return setup_options_apply(context, old, old_len, error_r);
}

static void print_enrolment(const char *name, const char *secret)
{
	char *uri = dms_totp_uri(ISSUER, name, secret);

	if (uri == NULL)
		return;
	printf("%s\n", uri);
	qr_print(stdout, uri);
	printf("Master %s now logs in with its password followed by the "
	       "6-digit code of an authenticator app that scanned this "
	       "(secret %s).\n", name, secret);
	dms_wipe(uri, strlen(uri));
	free(uri);
}

int setup_totp_enrol_ldap(const char *prog, const char *ldap_path,
			  const char *name)
{
	struct setup_ldap *ldap = setup_ldap_open(prog, ldap_path);
	char *secret = dms_totp_secret_new();
	int status = EXIT_FAILURE;

	if (ldap != NULL && secret != NULL &&
	    (status = setup_ldap_totp(ldap, name, secret)) == EXIT_SUCCESS) {
		print_enrolment(name, secret);
		status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	} else if (secret == NULL) {
		fprintf(stderr, "%s: cannot make a secret\n", prog);
	}
	if (secret != NULL) {
		dms_wipe(secret, strlen(secret));
		free(secret);
	}
	setup_ldap_close(&ldap);
	return status;
}

int setup_totp_enrol(const char *prog, const char *store_path,
		     const char *name)
{
	struct group *gr = getgrnam("dovecot");
	struct dms_store_write_settings set = {
		.format = DMS_STORE_FORMAT_PIPE,
		.new_mode = 0640,
		.new_gid = gr == NULL ? (gid_t)-1 : gr->gr_gid,
	};
	struct setup_options opts = { .totp = SETUP_FLAG_SET, .any = true };
	struct dms_store_change change = {
		.edit_options = set_totp, .context = &opts,
	};
	const struct dms_store_entry *entry;
	struct dms_store *store;
	enum dms_store_write_result ret;
	const char *error;
	char *secret, *secrets_path;
	int status = EXIT_FAILURE;

	store = dms_store_new(store_path, DMS_DEFAULT_SCHEME);
	if (store == NULL || dms_store_refresh(store, NULL, NULL,
					       &error) < 0) {
		fprintf(stderr, "%s: %s\n", prog,
			store == NULL ? "out of memory" : error);
		dms_store_free(&store);
		return EXIT_FAILURE;
	}
	if (dms_store_lookup(store, name, &entry) == 0) {
		fprintf(stderr, "%s: master account '%s' does not exist in "
			"%s\n", prog, name, store_path);
		dms_store_free(&store);
		return EXIT_FAILURE;
	}
	dms_store_free(&store);
	secret = dms_totp_secret_new();
	secrets_path = malloc(strlen(store_path) + sizeof(".totp"));
	if (secret == NULL || secrets_path == NULL) {
		fprintf(stderr, "%s: cannot make a secret\n", prog);
		goto out;
	}
	sprintf(secrets_path, "%s.totp", store_path);
	/* the secret first: a master with dms_totp=yes and no secret is
	   refused, never let in without a code */
	ret = dms_store_write(secrets_path, DMS_STORE_ADD, name, secret, &set,
			      &error);
	if (ret == DMS_STORE_WRITE_EXISTS) {
		/* enrolled again: the old authenticator stops working */
		ret = dms_store_write(secrets_path, DMS_STORE_UPDATE, name,
				      secret, &set, &error);
	}
	if (ret != DMS_STORE_WRITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, secrets_path, error);
		goto out;
	}
	ret = dms_store_write_change(store_path, DMS_STORE_UPDATE, name,
				     &change, &set, &error);
	if (ret != DMS_STORE_WRITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, store_path, error);
		goto out;
	}
	print_enrolment(name, secret);
	status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	if (secret != NULL) {
		dms_wipe(secret, strlen(secret));
		free(secret);
	}
	free(secrets_path);
	return status;
}
