#ifndef MINIVMM_TEST_VIRTIO_H
#define MINIVMM_TEST_VIRTIO_H
#include <check.h>
#include <string.h>

#include "vmm/log.h"

TCase *tcase_virtq_setup(void);
TCase *tcase_virtq_chain(void);
TCase *tcase_virtq_hostile(void);
TCase *tcase_virtq_indirect(void);
TCase *tcase_virtq_notify(void);
TCase *tcase_disk(void);
TCase *tcase_blk(void);
TCase *tcase_blk_hostile(void);
TCase *tcase_blk_thread(void);
TCase *tcase_blk_sync_thread(void);
TCase *tcase_blk_readonly(void);
TCase *tcase_blk_probed(void);
TCase *tcase_blk_direct(void);
TCase *tcase_blk_blocking_kick(void);
TCase *tcase_blk_scribble(void);
TCase *tcase_blk_no_flush(void);
TCase *tcase_blk_polling(void);
TCase *tcase_blk_poll_window(void);
TCase *tcase_blk_nopoll(void);
TCase *tcase_blk_mq(void);
TCase *tcase_blk_in_memory(void);
TCase *tcase_net_rx(void);
TCase *tcase_net_tx(void);
TCase *tcase_net_ctrl(void);
TCase *tcase_net_dev(void);

#define ck_assert_last_error(needle) \
	ck_assert_msg(strstr(log_last_error(), (needle)) != NULL, \
		      "expected error containing '%s', got '%s'", (needle), log_last_error())

/* A scratch directory for image files, removed with its files at exit. */
const char *test_tmpdir(void);
#endif
