#ifndef TEST_DMS_H
#define TEST_DMS_H

#include <check.h>

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

#endif
