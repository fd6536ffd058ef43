#ifndef MINIVMM_TEST_UNIT_H
#define MINIVMM_TEST_UNIT_H
#include <check.h>
TCase *tcase_cli(void);
TCase *tcase_gmem(void);
TCase *tcase_kvm_open(void);
TCase *tcase_console(void);
TCase *tcase_console_detached(void);
TCase *tcase_exit(void);
TCase *tcase_cpuid(void);
TCase *tcase_exit_stats(void);
TCase *tcase_uuid(void);
TCase *tcase_net_user_opts(void);
/* Asserts that the last logged error contains 'needle'. */
#define ck_assert_last_error(needle) \
	ck_assert_msg(strstr(log_last_error(), (needle)) != NULL, \
		      "expected error containing '%s', got '%s'", (needle), log_last_error())
#endif
