/* Unit tests of devices/virtio: virtqueue, disk backends, virtio-blk. */
#include "tests/virtio/vtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/minivmm-virtio-XXXXXX";

const char *test_tmpdir(void) { return tmpdir; }

static void remove_tmpdir(void)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
	Suite *s = suite_create("virtio");
	SRunner *sr;
	int failed;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	suite_add_tcase(s, tcase_virtq_setup());
	suite_add_tcase(s, tcase_virtq_chain());
	suite_add_tcase(s, tcase_virtq_hostile());
	suite_add_tcase(s, tcase_virtq_indirect());
	suite_add_tcase(s, tcase_virtq_notify());
	suite_add_tcase(s, tcase_disk());
	suite_add_tcase(s, tcase_blk());
	suite_add_tcase(s, tcase_blk_hostile());
	suite_add_tcase(s, tcase_blk_thread());
	suite_add_tcase(s, tcase_blk_sync_thread());
	suite_add_tcase(s, tcase_blk_readonly());
	suite_add_tcase(s, tcase_blk_probed());
	suite_add_tcase(s, tcase_blk_direct());
	suite_add_tcase(s, tcase_blk_blocking_kick());
	suite_add_tcase(s, tcase_blk_scribble());
	suite_add_tcase(s, tcase_blk_no_flush());
	suite_add_tcase(s, tcase_blk_polling());
	suite_add_tcase(s, tcase_blk_poll_window());
	suite_add_tcase(s, tcase_blk_nopoll());
	suite_add_tcase(s, tcase_blk_mq());
	suite_add_tcase(s, tcase_blk_in_memory());
	suite_add_tcase(s, tcase_net_rx());
	suite_add_tcase(s, tcase_net_tx());
	suite_add_tcase(s, tcase_net_ctrl());
	suite_add_tcase(s, tcase_net_dev());
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_tmpdir();
	return failed ? 1 : 0;
}
