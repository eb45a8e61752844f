#ifndef TEST_DMS_H
#define TEST_DMS_H

#include <check.h>
#include <stddef.h>

/* A new directory from mkdtemp(TEMPLATE) in DIR (DIR_SIZE bytes),
   asserted; and its removal with everything in it: 0 when it is gone. */
void test_tmpdir_make(char *dir, size_t dir_size, const char *template_);
int test_tmpdir_remove(const char *dir);

Suite *login_suite(void);
Suite *password_suite(void);
Suite *store_suite(void);
Suite *args_suite(void);
Suite *store_write_suite(void);
Suite *names_suite(void);
Suite *policy_suite(void);
Suite *audit_suite(void);
Suite *options_suite(void);
Suite *path_suite(void);
Suite *ldap_suite(void);
Suite *session_suite(void);
Suite *grants_suite(void);
Suite *totp_suite(void);

#endif
